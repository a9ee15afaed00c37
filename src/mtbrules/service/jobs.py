"""The work behind each endpoint, on a PackSet: bytes of JSON out, or the input error.

Each job is `job(packs, *args, notes)`: it runs on the event loop (a small
case) or in a decision process (offload.DecisionPool), returns the answer's
bytes, and writes into `notes` what the access line may carry of it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .. import jsontext
from ..case import kind_of
from ..compare import compare
from ..errors import CaseError, InputError, MtbError, error_message
from ..explain import explain
from ..registry import pack_for_case
from .answers import HttpError, count_outcomes, encode, error_of, within
from .limits import short
from .packs import PackSet


def evaluate_job(
    packs: PackSet, raw: bytes, url_pack: str | None, max_response: int, lang: str, notes: dict
) -> bytes:
    """One case's decision, as the library's own bytes (`Decision.to_json_bytes`)."""
    case = parse_json(raw, "request body")
    pack, case = pick_pack(packs, case, url_pack)
    notes["pack"] = pack.id
    decision = pack.evaluate(case, lang=lang)
    notes["outcome"] = decision.outcome
    return within(decision.to_json_bytes(), max_response)


def batch_job(
    packs: PackSet,
    raw: bytes,
    url_pack: str | None,
    max_batch: int,
    max_response: int,
    lang: str,
    notes: dict,
) -> bytes:
    """`{"results", "summary"}` for a batch: each case decided on its own, in order."""
    body = parse_json(raw, "request body")
    if not isinstance(body, dict):
        raise HttpError(422, f"batch: expected a JSON object with `cases`, got {kind_of(body)}")
    unknown = sorted(set(body) - {"cases", "pack"})
    if unknown:
        raise HttpError(
            422,
            f"unknown batch field '{short(unknown[0])}' (expected: cases, pack)",
            field=unknown[0],
        )
    cases = body.get("cases")
    if not isinstance(cases, list):
        raise HttpError(
            422,
            f"batch field 'cases': expected a list of cases, got {kind_of(cases)}",
            field="cases",
        )
    if len(cases) > max_batch:
        raise HttpError(413, f"batch field 'cases': more than {max_batch} cases", field="cases")
    default = body.get("pack")
    if default is not None:
        if not isinstance(default, str):
            raise HttpError(
                422, f"batch field 'pack': expected text, got {kind_of(default)}", field="pack"
            )
        if url_pack is not None and default != url_pack:
            raise HttpError(
                422,
                f"batch field 'pack': '{short(default)}' is not the pack in the URL '{url_pack}'",
                field="pack",
            )
        packs.get(default)
    results = decide_all(packs, cases, url_pack, default, lang)
    default = url_pack or default
    outcomes = Counter(r["decision"]["outcome"] for r in results if "decision" in r)
    errors = sum(1 for r in results if "error" in r)
    notes.update(
        pack=default if default in packs.packs else None,
        cases=len(cases),
        errors=errors,
        outcomes=dict(outcomes),
    )
    summary = {
        "cases": len(cases),
        "decided": len(cases) - errors,
        "errors": errors,
        "outcomes": count_outcomes(outcomes.elements()),
    }
    return encode({"results": results, "summary": summary}, max_response)


def explain_job(
    packs: PackSet,
    raw: bytes,
    url_pack: str,
    depth: int,
    only: list[str] | None,
    max_response: int,
    lang: str,
    notes: dict,
) -> bytes:
    """What `mtbrules explain --format json` prints for the case."""
    case = parse_json(raw, "request body")
    pack, case = pick_pack(packs, case, url_pack)
    result = explain(pack, case, depth=depth, rules=only, lang=lang)
    notes["outcome"] = result.decision.outcome
    return encode(result.to_dict(), max_response)


def compare_job(
    packs: PackSet, ids: tuple[str, ...], raw: bytes, max_response: int, lang: str, notes: dict
) -> bytes:
    """What `mtbrules compare --format json` prints for the case under the packs `ids`."""
    chosen = [packs.get(i).pack for i in ids]
    case = parse_json(raw, "request body")
    if not isinstance(case, dict):
        raise CaseError(f"case: a case must be a JSON object, got {kind_of(case)}")
    rows = compare(case, chosen, lang=lang)
    notes.update(cases=1, outcomes=dict(Counter(r.outcome for r in rows)))
    return encode([r.to_dict() for r in rows], max_response)


def decide_all(
    packs: PackSet, cases: list, url_pack: str | None, default: str | None, lang: str = "en"
) -> list[dict[str, Any]]:
    """Each case's result in order. The URL's pack binds every case; the body's `pack` is a default."""
    results = []
    for i, case in enumerate(cases):
        try:
            if (
                url_pack is None
                and default is not None
                and isinstance(case, dict)
                and case.get("pack") is None
            ):
                case = {**case, "pack": default}
            pack, case = pick_pack(packs, case, url_pack)
            decision = pack.evaluate(case, lang=lang)
            results.append({"index": i, "status": 200, "decision": decision.to_dict()})
        except HttpError as exc:
            results.append({"index": i, "status": exc.status, "error": exc.to_dict()})
        except MtbError as exc:
            status, err = error_of(exc)
            results.append({"index": i, "status": status, "error": err})
    return results


def pick_pack(packs: PackSet, case: Any, url_pack: str | None):
    """The served pack for `case` and the case to evaluate: registry.pack_for_case's rule
    (the URL's pack decides, with a warning for a case naming another), served packs only."""
    if url_pack is not None and type(case) is dict and case.get("pack") is None:
        # The usual request, a case without `pack` under a pack's URL: what pack_for_case gives
        # for it (the URL's pack, the case as it is), without its checks for the other cases.
        return packs.get(url_pack).pack, case
    choice = pack_for_case(
        case,
        url_pack,
        load=lambda ref: packs.get(ref).pack,
        required="here (or use the /v1/packs/{pack}/... form)",
    )
    return choice.pack, choice.case


def parse_json(raw: bytes, name: str) -> Any:
    """JSON from bytes, with the errors `mtbrules eval` gives for a file (line:column): HttpError 400."""
    if not raw or raw.isspace():  # what strip() would leave empty, without the copy
        raise HttpError(400, f"{name}: empty; expected a JSON object")
    try:
        return jsontext.loads(raw, name)
    except InputError as exc:
        raise HttpError(400, error_message(exc)) from None
