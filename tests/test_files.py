"""Checking a pack with unsaved texts in place of its files (mtbrules.files.PackFiles),
and the file positions of characters inside YAML string values of every style."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mtbrules._yaml import load_yaml
from mtbrules.case import CASE_FIELDS, CASE_OBJECTS
from mtbrules.checker import check_folder
from mtbrules.compiler import FUNCTION_NAMES
from mtbrules.files import PackFiles

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pack(tmp_path) -> Path:
    folder = tmp_path / "qingdao"
    shutil.copytree(ROOT / "policies" / "qingdao", folder)
    return folder


def test_an_unsaved_text_is_checked_and_the_disk_is_not(pack):
    path = pack / "rules" / "s2_3_time_limits.yaml"
    saved = path.read_text(encoding="utf-8")
    files = PackFiles({path: saved.replace("date: submitted_on", "date: submited_on", 1)})
    report = check_folder(pack, files=files)
    assert [d.code for d in report.diagnostics] == ["MTB301"]
    assert report.diagnostics[0].location.file == str(path)
    assert report.pack is None
    assert path.read_text(encoding="utf-8") == saved
    assert check_folder(pack).diagnostics == ()  # the saved pack is clean
    files.discard(path)
    clean = check_folder(pack, files=files)
    assert clean.diagnostics == () and clean.pack is not None


def test_a_file_only_in_the_editor_is_part_of_the_pack(pack):
    new = pack / "rules" / "zz_new.yaml"
    files = PackFiles({new: "rules:\n  - id: general_time_limit\n    title: t\n"})
    codes = {d.code for d in check_folder(pack, files=files).diagnostics}
    assert "MTB110" in codes  # no source: the new file is read, and validated
    assert not new.exists()


def test_renaming_a_document_flags_its_users(pack):
    documents = pack / "documents.yaml"
    text = documents.read_text(encoding="utf-8")
    files = PackFiles({documents: text.replace("- id: discharge_record", "- id: discharge_x")})
    found = check_folder(pack, files=files).diagnostics
    users = [d for d in found if d.code == "MTB402"]
    assert users and all(d.location.file.endswith("s2_2_materials.yaml") for d in users)


STYLES = {
    "plain": "a: first and\n  nmae\n",
    "single": "a: '\"it''s\" == x or nmae'\n",
    "double": 'a: "\\"\\u5e02\\" == x and\n  nmae"\n',
    "literal": "a: |\n  first and\n    (x or nmae)\n",
    "folded": "a: >\n  first or\n  nmae\n",
}


@pytest.mark.parametrize("style", sorted(STYLES))
def test_value_offsets_map_to_the_file_in_every_style(style):
    text = STYLES[style]
    doc = load_yaml("x.yaml", text)
    value = doc.scalars[("a",)].value
    at = doc.offset_location(("a",), value.index("nmae"))
    line = text.splitlines()[at.line - 1]
    assert line[at.col - 1 : at.col - 1 + 4] == "nmae"
    assert doc.value_offset(("a",), at.line, at.col) == value.index("nmae")


def test_the_language_servers_vocabulary_keeps_step_with_the_compiler():
    pytest.importorskip("lsprotocol")
    from mtbrules.lsp.vocabulary import FIELD_MEANINGS, FUNCTIONS

    assert set(FUNCTIONS) == set(FUNCTION_NAMES)
    objects = {f"{o}.{f}" for o, fields in CASE_OBJECTS.items() for f in fields}
    assert set(FIELD_MEANINGS) == set(CASE_FIELDS) | objects
