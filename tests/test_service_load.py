"""The bounded loopback load test (benchmarks/service_load.py), short, in CI: zero errors.

The full run (3 interleaved rounds of 3 s, writes docs/service.md) is
`python benchmarks/service_load.py`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "service_load.py"


def test_two_workers_on_loopback_answer_every_request():
    # Both servers, driven in turn: no error, and a figure for each round.
    spec = importlib.util.spec_from_file_location("service_load", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = module.parse_args(
        [
            "--rounds",
            "2",
            "--seconds",
            "1.5",
            "--warmup",
            "0.5",
            "--connections",
            "4",
            "--in-process-seconds",
            "0.5",
            "--no-write",
        ]
    )
    result = module.run(args)
    assert result["errors"] == 0, result["error_samples"]
    assert result["requests"] > 50
    assert result["p99_ms"] is not None and result["requests_per_s"] > 0
    assert result["access_log_lines"] >= result["requests"]
    # The ceiling of issue 13 ran in the same run, on the same requests, with no errors either.
    assert result["ceiling"]["errors"] == 0 and result["ceiling"]["requests"] > 50
    assert result["ratio_to_ceiling"] > 0 and len(result["ratio_by_round"]) == 2
    assert result["rounds"] == 2 and result["ceiling"]["rounds"] == 2
    text = module.markdown(result)
    assert "requests/s" in text and "the ceiling" in text
