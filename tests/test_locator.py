"""The positions a loaded pack keeps (mtbrules.locator.PackLocator): entries and parts of
rules found where the files have them, from a fresh load and from the compiled-pack cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from packbuilder import write_pack

from mtbrules.diagnostics import Location
from mtbrules.loader import load_pack_folder


def _find(path: Path, needle: str) -> tuple[int, int]:
    """1-based line and column of the first `needle` in the file."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n, line.index(needle) + 1
    raise AssertionError(needle)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MTBRULES_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MTBRULES_CACHE", "1")


@pytest.mark.parametrize("cached", [False, True])
def test_entries_and_rule_parts_are_where_the_files_have_them(tmp_path, cache_dir, cached):
    root = write_pack(tmp_path / "p")
    if cached:
        load_pack_folder(root)  # fills the cache: the second load is a hit
    locator = load_pack_folder(root).locator
    assert locator is not None
    rules = root / "rules" / "a.yaml"
    when = _find(rules, "any d in")
    assert locator.rule("instant", ("when",)) == Location(str(rules), *when)
    assert locator.rule("general", ("deadlines", 0, "date")) == Location(
        str(rules), *_find(rules, "submitted_on + 7")
    )
    assert locator.rule("general", ("source", "quote")) == Location(
        str(rules), *_find(rules, "一般病种为7个工作日")
    )
    assert locator.rule("no_such_rule", ("when",)) is None
    documents = root / "documents.yaml"
    assert locator.entry("documents.yaml", "documents", "report") == Location(
        str(documents), *_find(documents, "report, name")
    )
    pack_yaml = root / "pack.yaml"
    # A mapping keyed by id: the key itself.
    assert locator.entry("pack.yaml", "sources", "s1", ()) == Location(
        str(pack_yaml), *_find(pack_yaml, "s1:")
    )
    # No such file: the file's name, without a line.
    assert locator.entry("categories.yaml", "categories", "A") == Location(
        str(root / "categories.yaml")
    )
    assert locator.at("categories.yaml", ("categories",)) is None


def test_a_cache_entry_made_under_another_spelling_of_the_folder_is_not_used(
    tmp_path, cache_dir, monkeypatch
):
    """The cache key is the folder's real place; positions name it as it is spelled."""
    root = write_pack(tmp_path / "p")
    monkeypatch.chdir(tmp_path)
    relative = load_pack_folder(Path("p"))
    absolute = load_pack_folder(root)
    assert relative.rules_by_id["instant"].location.file == os.path.join("p", "rules", "a.yaml")
    assert absolute.rules_by_id["instant"].location.file == str(root / "rules" / "a.yaml")
    assert absolute.locator is not None
    assert absolute.locator.rule("instant", ("when",)).file == str(root / "rules" / "a.yaml")
