"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from packbuilder import write_pack


@pytest.fixture
def mini_pack_dir(tmp_path) -> Path:
    return write_pack(tmp_path / "mini")


@pytest.fixture
def mini_pack(mini_pack_dir):
    from mtbrules.loader import load_pack_folder

    return load_pack_folder(mini_pack_dir)
