"""What the generated decision functions share at run time: their arguments, memos, warning texts, slow paths.

Both generators (mtbrules.decisioncode, mtbrules.decisionindex) write
functions of the same arguments (`PARAMS`) that keep what they compute in
`Memo`s, name a case's absent fields through `Texts`, and hand the rare
paths — days counted on a provisional calendar — to the functions here.
`Shapes` dispatches a service's cases to the function specialised to their
pattern of present fields (mtbrules.presence), generated on demand.
"""

from __future__ import annotations

import datetime as _dt
import linecache
import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from . import analysis, codegen
from .decision import Deadline, Decision
from .decisionparts import provisional_deadline
from .env import Env
from .messages import join
from .messages import text as _text
from .provisional import track

Decider = Callable[..., Decision | None]

# Arguments of a generated decider (in this order).
PARAMS = "case, values, diseases, matches, materials, provided, version, as_of, lang, warnings"


def iso_or(value: Any, source: str) -> str:
    """A basis names a date by its value, anything else by its source (as deadline_basis)."""
    return value.isoformat() if isinstance(value, _dt.date) else source


def environment(values: Mapping[str, Any], diseases: tuple, materials: frozenset) -> Env:
    env = Env(values)
    env["diseases"] = diseases
    env["materials"] = materials
    return env


def late_deadline(
    spec: Any,
    values: Mapping[str, Any],
    diseases: tuple,
    materials: frozenset,
    deadline: Deadline,
    warnings: list,
    lang: str,
) -> Deadline:
    """A deadline whose count read provisional days: counted again under track(), marked, said."""
    _, provisional = track(partial(spec.date.fn, environment(values, diseases, materials)))
    if provisional is None:
        return deadline
    return provisional_deadline(deadline, provisional, warnings, lang)


def late_conditions(
    firing: Any,
    values: Mapping[str, Any],
    diseases: tuple,
    materials: frozenset,
    version: str,
    warnings: list,
    lang: str,
) -> None:
    """Conditions that read provisional days: the warning of the interpreted assembly, in place."""
    env = environment(values, diseases, materials)
    _, read = track(partial(firing, env, version))
    if read is not None:
        warnings.append(read.describe_reading(_text("calendar.what.conditions", lang), lang))


class Memo(dict[Any, Any]):
    """A memo of a generated decision function: what it keeps, by exactly what that depends on.

    The generated code adds an entry only while it holds fewer than the
    function's bound (PreparedPack.decision_memo); then it computes again.
    """


class Texts(dict[tuple, str]):
    """A warning naming the fields a case lacks, by (lang, absent?, absent?, …): each made once.

    Its words depend only on which of `needs` are absent, so each text is
    made on first use and kept (at most 2**len(needs) per language). An empty
    text: none is absent.
    """

    def __init__(self, message: str, needs: frozenset[str], **kw: Any):
        super().__init__()
        self.message = message
        # The engine always sets diseases and materials; other fields are absent when not given.
        self.needs = tuple(sorted(analysis.present_test(needs)))
        self.kw = kw

    def __missing__(self, key: tuple) -> str:
        lang, absent = key[0], key[1:]
        missing = [f for f, gone in zip(self.needs, absent) if gone]
        if not missing and self.message == "rules.undecided":
            text = ""  # the interpreter warns of an undecided rule only when a field is missing
        else:
            text = _text(self.message, lang, fields=join(missing, lang), **self.kw)
        if len(self) < _TEXTS_KEPT:
            self[key] = text
        return text


_TEXTS_KEPT = 1024  # bound per warning: beyond it, texts are made again each time


class Shapes:
    """The specialised functions of one decider, by the pattern of present fields (a key of bools).

    Built on the `after`-th case of a pattern, at most `most` of them; until
    then, and for every other pattern, the general function decides.
    """

    def __init__(
        self,
        fields: tuple[str, ...],
        general: Decider,
        specialise: Callable[[frozenset[str]], Decider],
        after: int,
        most: int,
    ):
        self.fields = fields
        self.general = general
        self.specialise = specialise
        self.after = after
        self.most = most
        self.by_pattern: dict[tuple[bool, ...], Decider] = {}
        self.made = 0  # functions specialised so far (at most `most`)
        self._seen: dict[tuple[bool, ...], int] = {}
        self._lock = threading.Lock()

    def dispatcher(self, name: str) -> Decider:
        """`decide(...)`: the key of present fields, then that pattern's function."""
        consts = {f"_k{i}": key for i, key in enumerate(self.fields)}
        key = "(" + "".join(f"{k} in values, " for k in consts) + ")"
        source = (
            f"def decide({PARAMS}):\n"
            f"    key = {key}\n"
            "    fn = _get(key)\n"
            "    if fn is None:\n"
            "        fn = _miss(key)\n"
            f"    return fn({PARAMS})\n"
        )
        namespace = {**consts, "_get": self.by_pattern.get, "_miss": self.miss}
        filename = f"<mtbrules decision shapes {name}>"
        code = compile(source, filename, "exec")
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(code, namespace)  # noqa: S102 - only names this module makes; the keys are data
        fn: Any = namespace["decide"]
        fn.source = getattr(self.general, "source", None)
        fn.general = self.general
        fn.shapes = self
        return fn

    def miss(self, key: tuple[bool, ...]) -> Decider:
        with self._lock:
            fn = self.by_pattern.get(key)
            if fn is not None:
                return fn
            if self.made >= self.most:  # no more functions: this pattern runs the general one
                if len(self.by_pattern) < _SEEN_KEPT:
                    self.by_pattern[key] = self.general
                return self.general
            seen = self._seen.get(key, 0) + 1
            if seen < self.after:
                if len(self._seen) >= _SEEN_KEPT:
                    self._seen.clear()  # bounded: counting starts again
                self._seen[key] = seen
                return self.general
            self._seen.pop(key, None)
            absent = frozenset(f for f, here in zip(self.fields, key) if not here)
            try:
                fn = self.specialise(absent)
            except codegen.UNCOMPILABLE:
                fn = self.general
            self.made += 1
            self.by_pattern[key] = fn
            return fn


_SEEN_KEPT = 4096  # patterns counted at once
