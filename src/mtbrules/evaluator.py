"""Decide one case with a pack: its generated decision function, or the interpreted assembly.

The generated function of the case's service (mtbrules.decisioncode) decides
the usual case, traced ones too (explain, coverage: the trace hook fills the
trace from the generated condition runner); the interpreted assembly
(mtbrules.assembly) decides the rest — diseases or materials the pack does
not know, conflicts and errors that must name their rule — and is the
generated code's oracle. Pure: the date comes
from the case (never the clock), so one Pack serves many threads.
"""

from __future__ import annotations

from typing import Any

from .assembly import Evaluation, Prepared, Trace, record_results
from .case import Case
from .decision import Decision
from .decisionparts import (
    RULE_DISEASES,
    RULE_SERVICES,
    RULE_UNDECIDED,
    RULE_VERSIONS,
    check_vocabulary,
    match_materials,
    no_service,
    no_version,
    provided_ids,
    unknown_diseases,
)
from .decisionruntime import environment
from .errors import CalendarError
from .messages import DEFAULT_LANG, LANGS, check_lang, text

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
    decision = generated_decision(pack, case, lang, trace)
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


def generated_decision(
    pack: Prepared, case: Case, lang: str, trace: Trace | None = None
) -> Decision | None:
    """The generated function's decision; None where the interpreted assembly must decide.

    `trace`, when given, is filled as the interpreted assembly fills it
    (assembly.record_results): the hook costs a test when off.
    """
    prep = pack.prepared
    values = case.values
    service = values["service"]
    services = pack.services
    if service not in services or "category" in values:
        values = check_vocabulary(pack, prep, values)  # raises for a value no vocabulary has
    warnings: list[str] = []  # the engine's own, ahead of the rules' (as the interpreter's)
    if case.pack and case.pack not in (pack.id, pack.folder):
        warnings.append(text("case.other_pack", lang, named=case.pack, pack=pack.id))
    version, as_of = prep.on_day(values["submitted_on"])
    if version is None or service not in services:  # decided before any rule: not_covered
        if version is None:
            path, reasons = no_version(pack, as_of, lang)
        else:
            path, reasons = no_service(pack, service, lang)
        return Decision(
            pack.id,
            None if version is None else version.id,
            service,
            as_of,
            "not_covered",
            False,
            path=path,
            reasons=reasons,
            warnings=tuple(warnings),
        )
    decide = prep.deciders[service]
    if decide is None:
        return None
    diseases, matches, unknown = prep.named_diseases(case.diseases)
    if unknown:
        if pack.unknown_members is not None:
            return None  # a catalogue declared incomplete: undetermined, by the interpreter
        if pack.diseases:
            path, reasons = unknown_diseases(prep, unknown, lang)
            return Decision(
                pack.id,
                version.id,
                service,
                as_of,
                "ineligible",
                False,
                matches,
                path=path,
                reasons=reasons,
                warnings=tuple(warnings),
            )
        # A pack with no disease catalogue does not decide by disease (e.g. off-site filing).
        warnings.append(text("diseases.not_used", lang, pack=pack.id))
    provided = match_materials(prep, case.materials, warnings, lang)
    materials = provided_ids(prep, provided) if provided else _NONE
    try:
        decision = decide(
            case,
            values,
            diseases,
            matches,
            materials,
            provided,
            version.id,
            as_of,
            lang,
            warnings,
        )
    except (CalendarError, OverflowError, ValueError):
        return None  # the interpreted assembly says which rule failed, and why
    if decision is None:
        return None  # a conflict: the interpreted assembly names the rules
    if trace is not None:
        env = environment(values, diseases, materials)
        record_results(trace, prep, service, env, version)
    return decision
