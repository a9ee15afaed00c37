"""atheris: text → DSL parser → type checker/compiler against Qingdao's scope → run on a case."""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    import _common  # noqa: F401

    import mtbrules
    from mtbrules.compiler import compile_expression
    from mtbrules.diagnostics import Location
    from mtbrules.errors import MtbError
    from mtbrules.parser import parse_expression

PACK = mtbrules.load_pack("qingdao")
ENVS = [
    {
        "submitted_on": __import__("datetime").date(2025, 9, 29),
        "age": 70,
        "diseases": tuple(PACK.diseases.values())[:2],
        "materials": frozenset(PACK.documents),
        "agent": False,
    },
    {"diseases": (), "materials": frozenset(), "agent": True},
]


def _locate(line, col):
    return Location("<fuzz>", line, col)


def TestOneInput(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(4100)
    try:
        node = parse_expression(text, _locate)
        compiled = compile_expression(node, PACK.scope, _locate)
    except MtbError:
        return
    for env in ENVS:
        try:
            compiled.fn(dict(env))
        except MtbError:
            pass
        except (ValueError, OverflowError):
            pass  # the evaluator turns these into CaseError (see test_fuzz_dsl)


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
