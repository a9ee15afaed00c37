"""atheris: bytes → JSON (as `mtbrules eval` reads it) → case validation → evaluation → JSON."""

from __future__ import annotations

import json
import sys

import atheris

with atheris.instrument_imports():
    import _common  # noqa: F401

    import mtbrules
    from mtbrules.errors import MtbError

PACKS = [mtbrules.load_pack(p) for p in mtbrules.builtin_packs()]
SEED = {
    "service": "certificate",
    "submitted_on": "2025-09-29",
    "diseases": ["恶性肿瘤"],
    "materials": ["身份证"],
}


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    pack = PACKS[fdp.ConsumeIntInRange(0, len(PACKS) - 1)]
    raw = fdp.ConsumeBytes(fdp.remaining_bytes())
    try:
        case = json.loads(raw.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        case = dict(SEED, district=raw.decode("latin-1")[:50])
    if isinstance(case, dict) and len(case) < 3:
        case = {**SEED, **case}
    try:
        decision = pack.evaluate(case)
    except MtbError:
        return
    json.dumps(decision.to_dict(), ensure_ascii=False, allow_nan=False).encode("utf-8")


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
