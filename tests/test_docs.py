"""Generated documentation stays in step with the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_walkthrough_is_current():
    """docs/walkthrough-qingdao.md is what docs/tools/walkthrough.py generates today."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "tools" / "walkthrough.py"), "--check"], timeout=120
    )
    assert proc.returncode == 0, "regenerate with: python docs/tools/walkthrough.py"


def test_readme_examples_exist():
    """Every example the README names exists."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("examples/qingdao_tumour.json",):
        assert name in readme and (ROOT / name).is_file()
