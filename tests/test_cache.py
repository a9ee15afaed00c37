"""The compiled-pack cache: same packs from the cache, misses on any change, never trusted blindly."""

from __future__ import annotations

import os

import pytest
from packbuilder import MINI_PACK, write_pack

from mtbrules import PackError, cache
from mtbrules.loader import load_pack_folder

CASE = {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["支气管哮喘"]}


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("MTBRULES_CACHE_DIR", str(folder))
    monkeypatch.setenv("MTBRULES_CACHE", "1")
    return folder


def test_hit_gives_the_same_decisions(tmp_path, cache_dir):
    """A pack loaded from the cache decides exactly as the freshly parsed one."""
    root = write_pack(tmp_path / "p")
    first = load_pack_folder(root)
    assert len(list(cache_dir.glob("*.pickle"))) == 1
    second = load_pack_folder(root)
    assert second.evaluate(CASE).to_json() == first.evaluate(CASE).to_json()


def test_any_change_misses(tmp_path, cache_dir):
    """Editing a file gives a new cache entry and the edited behaviour."""
    root = write_pack(tmp_path / "p")
    load_pack_folder(root)
    write_pack(
        root,
        {"rules/a.yaml": MINI_PACK["rules/a.yaml"].replace("7 working_days", "5 working_days")},
    )
    pack = load_pack_folder(root)
    assert pack.evaluate(CASE).deadline("decision_due").date == "2025-10-13"
    assert len(list(cache_dir.glob("*.pickle"))) == 2


def test_broken_pack_is_not_cached(tmp_path, cache_dir):
    """A pack with errors reports them on every load and leaves no cache entry."""
    root = write_pack(
        tmp_path / "p",
        {
            "rules/a.yaml": "rules:\n  - {id: r, title: t, source: {doc: s1, clause: 一}, when: agee > 1}\n"
        },
    )
    for _ in range(2):
        with pytest.raises(PackError):
            load_pack_folder(root)
    assert not list(cache_dir.glob("*.pickle"))


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_group_writable_folder_is_not_read(tmp_path, cache_dir):
    """Entries in a folder others can write to are ignored (unpickling runs code)."""
    root = write_pack(tmp_path / "p")
    load_pack_folder(root)
    os.chmod(cache_dir, 0o777)
    digest = next(cache_dir.glob("*.pickle")).stem
    assert cache.get(digest) is None
    os.chmod(cache_dir, 0o700)
    assert cache.get(digest) is not None


def test_can_be_turned_off(tmp_path, cache_dir, monkeypatch):
    """MTBRULES_CACHE=0 writes nothing."""
    monkeypatch.setenv("MTBRULES_CACHE", "0")
    load_pack_folder(write_pack(tmp_path / "p"))
    assert not cache_dir.exists()
