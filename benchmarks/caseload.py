"""Synthetic caseloads for the full-pack and batch sections.

`pack_cases(pack, n, seed)` uses `mtbrules.synth.synth_cases` (values drawn
from the pack's own catalogues and the literals its rules compare with).
When that module is missing it falls back to `_fallback_cases`, a plain
draw from the catalogues (services, versions' dates, diseases, documents,
categories), and says so in the result (`source`).

`write_jsonl(pack, path, n, seed)` writes n cases for the batch section: a
pool of distinct synthetic cases, cycled, each line with a fresh seeded
`submitted_on` drawn from the dates the pool itself uses (so the calendar
and the pack's versions still cover it), so that consecutive lines of a
million-case file are not byte-identical.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import random

POOL = 20_000  # distinct cases behind a batch file


def synth_source() -> str:
    try:
        import mtbrules.synth  # noqa: F401
    except ImportError:
        return "benchmarks/caseload.py fallback (mtbrules.synth not available)"
    return "mtbrules.synth.synth_cases"


def pack_cases(pack, n: int, seed: int) -> list[dict]:
    try:
        from mtbrules.synth import synth_cases
    except ImportError:
        return _fallback_cases(pack, n, seed)
    return list(synth_cases(pack, n, seed=seed))


def _fallback_cases(pack, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    services = [s.id for s in getattr(pack, "services", {}).values()] or ["certificate"]
    diseases = [d.name for d in pack.diseases.values()] + ["感冒"]
    documents = [d.name for d in pack.documents.values()]
    categories = [c.id for c in getattr(pack, "categories", {}).values()]
    first = _dt.date(2024, 1, 1).toordinal()
    cases = []
    for _ in range(n):
        case = {
            "service": rng.choice(services),
            "submitted_on": _dt.date.fromordinal(first + rng.randrange(1000)).isoformat(),
            "agent": rng.random() < 0.3,
            "first_application": rng.random() < 0.5,
            "hospitalized": rng.random() < 0.5,
        }
        if diseases:
            case["diseases"] = [rng.choice(diseases)]
        if categories:
            case["category"] = rng.choice(categories)
        if documents and rng.random() < 0.5:
            case["materials"] = rng.sample(documents, k=min(3, len(documents)))
        cases.append(case)
    return cases


def write_jsonl(pack, path: str, n: int, seed: int) -> None:
    pool = pack_cases(pack, min(n, POOL), seed)
    dates = sorted({c["submitted_on"] for c in pool if isinstance(c.get("submitted_on"), str)})
    rng = random.Random(seed + 1)
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as f:
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        lines = []
        for i in range(n):
            case = pool[i % len(pool)]
            if dates and "submitted_on" in case:
                case = {**case, "submitted_on": rng.choice(dates)}
            lines.append(dumps(case))
            if len(lines) == 10_000:
                f.write("\n".join(lines) + "\n")
                lines.clear()
        if lines:
            f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
