"""A real editor client nobody here wrote: headless Neovim, configured with exactly the
Lua block of docs/lsp.md, opens a pack file with an error and reads back the
diagnostics the server published (Debian's `neovim`; .ci/run installs it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NVIM = shutil.which("nvim")

pytestmark = pytest.mark.skipif(
    NVIM is None,
    reason="neovim is not installed (apt-get install -y neovim; .ci/run does it): "
    "the real-editor test cannot run here",
)

PROBE = """
local out = os.getenv("MTBRULES_PROBE_OUT")
local ok = vim.wait(60000, function()
  return #vim.diagnostic.get(0) > 0
end, 100)
local found = {}
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(found, {
    lnum = d.lnum, col = d.col, end_lnum = d.end_lnum, end_col = d.end_col,
    code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code),
    message = d.message, severity = d.severity, source = d.source,
  })
end
local clients = {}
for _, c in pairs(vim.lsp.get_active_clients()) do
  table.insert(clients, c.name)
end
local fh = io.open(out, "w")
fh:write(vim.fn.json_encode({ ok = ok, diagnostics = found, clients = clients }))
fh:close()
vim.cmd("qa!")
"""


def documented_config() -> str:
    text = (ROOT / "docs" / "lsp.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- neovim-config -->\s*```lua\n(.*?)```", text, re.DOTALL)
    assert block, "docs/lsp.md lost its Neovim configuration block"
    return block.group(1)


def test_neovim_shows_the_checkers_diagnostic_at_its_range(tmp_path):
    pack = tmp_path / "qingdao"
    shutil.copytree(ROOT / "policies" / "qingdao", pack)
    rules = pack / "rules" / "s2_3_time_limits.yaml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace("date: submitted_on", "date: submited_on", 1), encoding="utf-8")
    lines = rules.read_text(encoding="utf-8").splitlines()
    line = next(i for i, x in enumerate(lines) if "submited_on" in x)
    col = lines[line].index("submited_on")

    (tmp_path / "init.lua").write_text(documented_config(), encoding="utf-8")
    (tmp_path / "probe.lua").write_text(PROBE, encoding="utf-8")
    out = tmp_path / "diagnostics.json"
    env = {
        **os.environ,
        # `mtbrules` as the documented config names it: the one installed with these tests.
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "MTBRULES_PROBE_OUT": str(out),
        "MTBRULES_CACHE": "0",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    proc = subprocess.run(
        [
            NVIM,
            "--headless",
            "-n",
            "-i",
            "NONE",
            "-u",
            str(tmp_path / "init.lua"),
            "-c",
            f"luafile {tmp_path / 'probe.lua'}",
            str(rules),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.is_file(), f"neovim wrote nothing: {proc.stdout}\n{proc.stderr}"
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["clients"] == ["mtbrules"], result
    assert result["ok"], f"no diagnostics within the wait: {result}\n{proc.stderr}"
    [diag] = result["diagnostics"]
    assert diag["code"] == "MTB301"
    assert "unknown name 'submited_on'" in diag["message"]
    assert diag["source"] == "mtbrules"
    assert diag["severity"] == 1  # vim.diagnostic.severity.ERROR
    assert (diag["lnum"], diag["col"]) == (line, col)
    assert (diag["end_lnum"], diag["end_col"]) == (line, col + len("submited_on"))
