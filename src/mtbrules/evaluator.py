"""Decide one case with a pack: its generated decision function, or the interpreted assembly.

The generated function of the case's service (mtbrules.decisioncode) decides
the usual case; the interpreted assembly (mtbrules.assembly) decides the rest
— a trace asked for, provisional calendar days read, diseases or materials the
pack does not know, conflicts and errors — and is the generated code's oracle.
Pure: the date comes from the case (never the clock), so one Pack serves many
threads.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from .assembly import Evaluation, Prepared, Trace
from .case import Case
from .decision import Decision
from .decisionparts import (
    RULE_DISEASES,
    RULE_SERVICES,
    RULE_UNDECIDED,
    RULE_VERSIONS,
    check_vocabulary,
    provided_ids,
    unknown_diseases,
)
from .errors import CalendarError
from .messages import DEFAULT_LANG, LANGS, check_lang
from .workdays import track

__all__ = [
    "RULE_DISEASES",
    "RULE_SERVICES",
    "RULE_UNDECIDED",
    "RULE_VERSIONS",
    "Prepared",
    "Trace",
    "evaluate",
    "generated_decision",
    "interpreted",
]


def evaluate(
    pack: Prepared, data: Any, trace: Trace | None = None, lang: str = DEFAULT_LANG
) -> Decision:
    """Decide one case with `pack` (CONTRACT §3).

    `trace`, when given, is filled with what the evaluation saw (for
    `mtbrules explain`); it never changes the decision. `lang` (zh or en) is
    the language of the engine's own messages (messages.py); pack text and
    the `name` fields are the same in both.
    """
    if lang not in LANGS:
        check_lang(lang)  # raises, naming the languages
    prep = pack.prepared
    case = data if isinstance(data, Case) else prep.case_reader.read(data)
    if trace is None:
        decision = generated_decision(pack, case, lang)
        if decision is not None:
            return decision
    return Evaluation(pack, case, trace, lang).run()


def interpreted(
    pack: Prepared, data: Any, trace: Trace | None = None, lang: str = DEFAULT_LANG
) -> Decision:
    """The same decision by the interpreted assembly alone (the generated code's oracle)."""
    check_lang(lang)
    case = data if isinstance(data, Case) else pack.prepared.case_reader.read(data)
    return Evaluation(pack, case, trace, lang).run()


_NONE: frozenset[str] = frozenset()


def generated_decision(pack: Prepared, case: Case, lang: str) -> Decision | None:
    """The generated function's decision; None where the interpreted assembly must decide."""
    prep = pack.prepared
    values = case.values
    check_vocabulary(pack, prep, values)
    service = case.service
    if service not in pack.services or (case.pack and case.pack not in (pack.id, pack.folder)):
        return None
    decide = prep.deciders[service]
    if decide is None:
        return None
    day = case.submitted_on
    version = pack.version_on(day)
    if version is None:
        return None
    lookup, catalogue = prep.disease_index.lookup, pack.diseases
    found: dict[str, Any] = {}
    unknown = []
    for name in case.diseases:
        ident = lookup(name)
        if ident is None:
            unknown.append(name)
        elif ident not in found:
            found[ident] = catalogue[ident]
    matches = prep.disease_matches
    if unknown:
        if not catalogue or pack.unknown_members is not None:
            return None  # no catalogue, or one declared incomplete: the interpreter decides
        path, reasons = unknown_diseases(prep, unknown, lang)
        return Decision(
            pack.id,
            version.id,
            service,
            day.isoformat(),
            "ineligible",
            False,
            tuple([matches[i] for i in found]),
            path=path,
            reasons=reasons,
        )
    provided: dict[str, list] = {}
    if case.materials:
        lookup = prep.document_index.lookup
        for m in case.materials:
            ident = lookup(m.name)
            if ident is None:  # warned of by the interpreted assembly
                return None
            provided.setdefault(ident, []).append(m.issued_on)
    try:
        decision, read = track(
            partial(
                decide,
                case,
                values,
                tuple(found.values()),
                tuple([matches[i] for i in found]),
                provided_ids(prep, provided) if provided else _NONE,
                provided,
                version.id,
                day.isoformat(),
                lang,
                [],
            )
        )
    except (CalendarError, OverflowError, ValueError):
        return None  # the interpreted assembly says which rule failed, and why
    if read is not None:
        return None  # provisional days read: the interpreted assembly says where
    return decision
