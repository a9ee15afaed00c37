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


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"not a pickle at all",  # garbage
        lambda data: data[: len(data) // 2],  # cut short (a crash while writing)
        lambda data: b"",  # empty
        lambda data: __import__("pickle").dumps(("old", "format")),  # another shape
        lambda data: __import__("pickle").dumps((2, "other fields", data)),  # older format
    ],
)
def test_damaged_or_old_entry_is_rebuilt(tmp_path, cache_dir, damage):
    """An entry that cannot be read, or another format's, is a miss: the pack is parsed
    again, decides the same, and the entry is written anew."""
    root = write_pack(tmp_path / "p")
    expected = load_pack_folder(root).evaluate(CASE).to_json()
    entry = next(cache_dir.glob("*.pickle"))
    entry.write_bytes(damage(entry.read_bytes()))
    assert cache.get(entry.stem) is None
    assert load_pack_folder(root).evaluate(CASE).to_json() == expected
    assert cache.get(entry.stem) is not None  # rewritten by the second load


def test_positions_from_the_cache_are_the_parsed_ones(tmp_path, cache_dir):
    """A file's positions come back from the cache equal to the parsed file's, made on first use."""
    from mtbrules._yaml import load_yaml

    root = write_pack(tmp_path / "p")
    load_pack_folder(root)
    (entry,) = cache_dir.glob("*.pickle")
    docs, rule_docs, _trees = cache.get(entry.stem)
    for doc in [*(d for d in docs.values() if d is not None), *rule_docs]:
        fresh = load_yaml(doc.file)
        assert doc.value == fresh.value
        assert dict(doc.locations) == fresh.locations
        assert dict(doc.scalars) == fresh.scalars
        assert (doc.spans, doc.keys, doc.lines) == (fresh.spans, fresh.keys, fresh.lines)
        path = next(iter(fresh.scalars))
        assert doc.expression_location(path, 1, 2) == fresh.expression_location(path, 1, 2)
        assert doc.location(path + ("no such key",)) == fresh.location(path)


def test_hit_keeps_rule_positions(tmp_path, cache_dir):
    """Rules loaded from the cache point at the same file positions as freshly parsed ones."""
    root = write_pack(tmp_path / "p")
    first = load_pack_folder(root)
    second = load_pack_folder(root)
    assert [r.location for r in second.rules] == [r.location for r in first.rules]
    assert [d.location for r in second.rules for d in r.deadlines] == [
        d.location for r in first.rules for d in r.deadlines
    ]


def test_hit_reads_what_only_tools_ask_for_when_asked(tmp_path, cache_dir):
    """A clean load from the cache leaves a file's scalars, spans and lines unread; a tool
    asking for them (the checker, through the pack's locator) gets the parsed file's."""
    from mtbrules._yaml import load_yaml

    root = write_pack(tmp_path / "p")
    load_pack_folder(root)
    pack = load_pack_folder(root)  # a hit
    doc = pack.locator.rule_files[0]
    assert isinstance(doc.lines, cache.LaterList) and doc.lines._items is None
    fresh = load_yaml(doc.file)
    assert list(doc.lines) == fresh.lines and doc.lines == fresh.lines
    assert dict(doc.spans) == fresh.spans and dict(doc.keys) == fresh.keys
    path = ("rules", 0, "when")
    assert doc.span(path) == fresh.span(path)
    assert pack.locator.rule("instant", ("when",)) is not None
