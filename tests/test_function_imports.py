""".ci/function_imports.py: a function-level import says why it is deferred (issue 13)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "function_imports.py"
SRC = ROOT / "src" / "mtbrules"

_spec = importlib.util.spec_from_file_location("function_imports", SCRIPT)
assert _spec and _spec.loader
function_imports = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(function_imports)


def run(tmp_path: Path, source: str) -> subprocess.CompletedProcess:
    path = tmp_path / "module.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, cwd=tmp_path
    )


@pytest.mark.parametrize(
    "source",
    [
        """
        def f():
            import pyarrow  # deferred: pyarrow is optional (the parquet extra)
        """,
        """
        def f():
            # deferred: pyarrow is optional (the parquet extra)
            import pyarrow.csv
            import pyarrow.parquet

            from .registry import load_pack
        """,
        """
        class C:
            async def f(self):
                if True:
                    from .registry import (  # deferred: the registry loads lazily
                        load_pack,
                    )
        """,
        """
        import json

        if json:
            import csv

        class C:
            import io
        """,
    ],
    ids=["end-of-line", "shared-by-a-group", "nested", "not-in-a-function"],
)
def test_accepts_a_deferred_import_that_says_why(tmp_path, source):
    proc = run(tmp_path, source)
    assert (proc.returncode, proc.stdout) == (0, "")


def test_rejects_a_bare_import_with_its_file_and_line(tmp_path):
    proc = run(
        tmp_path,
        """\
        def f():
            # deferred: the first group's reason
            import pyarrow

            x = 1
            import datetime
        """,
    )
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        (
            "module.py:6: `import datetime` inside a function, with no comment saying why it is "
            "deferred (start-up time, an optional extra, an import cycle): say so, or import it "
            "at the top of the module"
        )
    ]


@pytest.mark.parametrize(
    "source",
    [
        "def f():\n    import pyarrow  # noqa: F401\n",
        "def f():\n    import pyarrow  # type: ignore[import-untyped]\n",
        "def f():\n    x = 1  # a comment about x\n    import pyarrow\n",
        "def f():\n    import pyarrow  # deferred: optional\n    import csv\n",
    ],
    ids=["noqa", "type-ignore", "end-of-line-comment-of-the-line-above", "not-shared-from-eol"],
)
def test_a_pragma_or_another_lines_comment_is_no_reason(tmp_path, source):
    proc = run(tmp_path, source)
    assert proc.returncode == 1, proc.stdout
    assert proc.stdout.count("module.py:") == 1


def test_a_pragma_next_to_a_reason_is_fine():
    source = "def f():\n    import py4j  # type: ignore[import-untyped]  # deferred: optional\n"
    assert function_imports.check_source(source, "m.py") == []


def test_the_package_passes():
    """Every function-level import in src/mtbrules says why."""
    assert function_imports.check_paths([SRC]) == []
