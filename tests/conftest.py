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


# Broken packs under fixtures/ are data for the checker's tests, not scenario files to run.
collect_ignore_glob = ["fixtures/*"]
