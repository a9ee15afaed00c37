"""Protocol-level tests: the installed `mtbrules lsp` entry point, driven by pytest-lsp's
client the way an editor drives it (open, change, ask), on a copy of a built-in pack."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytest_lsp", reason="the lsp tests need the test extra (pytest-lsp)")

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINT = str(Path(sys.executable).parent / "mtbrules")


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> Path:
    """A copy of the qingdao pack the tests may edit (in buffers; the disk stays as copied)."""
    folder = tmp_path_factory.mktemp("packs") / "qingdao"
    shutil.copytree(ROOT / "policies" / "qingdao", folder)
    return folder.resolve()


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(
        server_command=[ENTRY_POINT, "lsp"],
        server_env={**os.environ, "MTBRULES_CACHE": "0"},
    ),
)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            initialization_options={"debounce": 0.05},
        )
    )
    yield
    await lsp_client.shutdown_session()
