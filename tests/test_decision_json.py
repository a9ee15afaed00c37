"""A decision's JSON: the contract object of to_dict(), byte-identical across runs and processes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import mtbrules
from mtbrules.synth import Synth

PACKS = mtbrules.builtin_packs()


@pytest.mark.parametrize("pack_id", PACKS)
def test_json_is_the_contract_dict(pack_id):
    pack = mtbrules.load_pack(pack_id)
    for case in Synth(pack, seed=7).cases(150):
        try:
            decision = pack.evaluate(case)
        except mtbrules.MtbError:
            continue
        text = decision.to_json()
        assert json.loads(text) == decision.to_dict()
        assert decision.to_json_bytes() == text.encode("utf-8")
        assert json.loads(decision.to_json(indent=2)) == decision.to_dict()


_SCRIPT = """
import sys, mtbrules
from mtbrules.synth import Synth
pack = mtbrules.load_pack(sys.argv[1])
out = sys.stdout.buffer
for case in Synth(pack, seed=11).cases(60):
    try:
        out.write(pack.evaluate(case).to_json_bytes() + b"\\n")
    except mtbrules.MtbError as exc:
        out.write(str(exc).encode() + b"\\n")
"""


def test_json_bytes_are_identical_across_processes():
    """Hash seeds differ between processes; the bytes of the same decisions do not."""
    runs = [
        subprocess.run(
            [sys.executable, "-c", _SCRIPT, "qingdao"],
            capture_output=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "MTBRULES_CACHE": "0", "PATH": "/usr/bin:/bin"},
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1]
    assert runs[0].count(b"\n") == 60
