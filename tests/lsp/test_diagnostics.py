"""Diagnostics as an editor gets them: on open and change, for every file of the pack,
at the exact range of what is wrong (inside DSL strings of every YAML style), with
the related rule of a conflict, for unsaved buffers, and on the files that depend
on the one changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lspeditor import Editor
from lsprotocol import types
from pygls.uris import to_fs_path
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

RULES = "rules/s2_3_time_limits.yaml"


async def test_open_publishes_every_file_of_a_clean_pack(client: LanguageClient, pack):
    editor = Editor(client)
    await editor.open(pack / RULES)
    published = {uri.rsplit("/", 2)[-1] for uri in client.diagnostics}
    expected = {p.name for p in pack.glob("*.yaml")} | {p.name for p in pack.glob("*/*.yaml")}
    assert expected <= published
    assert all(not found for found in client.diagnostics.values())


STYLES = """rules:
  - id: style_plain
    title: t
    source: {doc: seed-000, clause: 二(三)1, quote: 一般病种为7个工作日}
    when: first_application and
      nmae_plain
  - id: style_single
    title: t
    source: {doc: seed-000, clause: 二(三)1, quote: 一般病种为7个工作日}
    when: '"it''s" == district or nmae_single'
  - id: style_double
    title: t
    source: {doc: seed-000, clause: 二(三)1, quote: 一般病种为7个工作日}
    when: "\\"市南区\\" == district and
      nmae_double"
  - id: style_literal
    title: t
    source: {doc: seed-000, clause: 二(三)1, quote: 一般病种为7个工作日}
    when: |
      first_application and
        (age > 1 or nmae_literal)
  - id: style_character
    title: t
    source: {doc: seed-000, clause: 二(三)1, quote: 一般病种为7个工作日}
    when: "age > 1 ~ 2"
  - id: style_folded
    title: t
    source: {doc: seed-000, clause: 二(三)1, quote: 一般病种为7个工作日}
    when: >
      "id_card" in materials or
      nmae_folded
"""


async def test_dsl_errors_have_exact_ranges_in_every_scalar_style(client: LanguageClient, pack):
    editor = Editor(client)
    path = pack / "rules" / "zz_styles.yaml"  # exists only in the editor
    await editor.open(path, STYLES)
    found = {d.code: [] for d in editor.diagnostics(path)}
    for d in editor.diagnostics(path):
        found[d.code].append(editor.text_of(path, d.range))
    names = sorted(found.get("MTB301", []))
    styles = ["double", "folded", "literal", "plain", "single"]
    assert names == [f"nmae_{style}" for style in styles], found
    assert found["MTB202"] == ["~"]  # a character no token starts with: that character
    assert not path.exists()
    await editor.close(path)
    assert editor.diagnostics(path) == []


async def test_a_typo_in_a_date_and_its_quick_fix(client: LanguageClient, pack):
    editor = Editor(client)
    path = pack / RULES
    text = path.read_text(encoding="utf-8")
    bad = text.replace("date: submitted_on", "date: submited_on", 1)
    await editor.open(path, bad)
    [diag] = editor.diagnostics(path)
    assert diag.code == "MTB301"
    assert diag.severity == types.DiagnosticSeverity.Error
    assert editor.text_of(path, diag.range) == "submited_on"
    assert "did you mean 'submitted_on'?" in diag.message
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=editor.uri(path)),
            range=diag.range,
            context=types.CodeActionContext(diagnostics=[diag]),
        )
    )
    [action] = actions
    [edit] = action.edit.changes[editor.uri(path)]
    assert edit.new_text == "submitted_on"
    lines = bad.splitlines(True)
    row = lines[edit.range.start.line]
    lines[edit.range.start.line] = (
        row[: edit.range.start.character] + edit.new_text + row[edit.range.end.character :]
    )
    await editor.change(path, "".join(lines))
    assert editor.diagnostics(path) == []
    assert path.read_text(encoding="utf-8") == text  # only the buffer changed


async def test_renaming_a_document_flags_its_users_in_other_files(client: LanguageClient, pack):
    editor = Editor(client)
    documents = pack / "documents.yaml"
    text = documents.read_text(encoding="utf-8")
    assert "- id: discharge_record" in text
    await editor.open(documents, text.replace("- id: discharge_record", "- id: discharge_summary"))
    users = editor.diagnostics(pack / "rules" / "s2_2_materials.yaml")
    assert users, "the rules that require the renamed document are flagged"
    for d in users:
        assert d.code == "MTB402"
        assert editor.text_of(pack / "rules" / "s2_2_materials.yaml", d.range) == "discharge_record"
        assert "did you mean 'discharge_summary'?" in d.message
    await editor.change(documents, text)
    assert editor.diagnostics(pack / "rules" / "s2_2_materials.yaml") == []


CONFLICT = """rules:
  - id: always_review
    title: t
    source: {doc: seed-000, clause: 二(三)1, quote: 一般病种为7个工作日}
    services: [certificate]
    outcome: review
"""


async def test_a_conflict_names_the_other_rule_as_related(client: LanguageClient, pack):
    editor = Editor(client)
    path = pack / "rules" / "zz_conflict.yaml"
    await editor.open(path, CONFLICT)
    conflicts = [
        d
        for uri, found in client.diagnostics.items()
        for d in found
        if d.code == "MTB430" and "always_review" in d.message
    ]
    assert conflicts
    for d in conflicts:
        first, second = re.findall(r"rules '([^']+)' and '([^']+)'", d.message)[0]
        [related] = d.related_information
        assert related.message == f"rule '{first}'"
        where = Path(to_fs_path(related.location.uri))
        assert editor.text_of(where, related.location.range) == first
        assert second in editor.text_of(Path(to_fs_path(uri_of(client, d))), d.range)
    await editor.close(path)
    assert not any(d.code == "MTB430" for found in client.diagnostics.values() for d in found)


async def test_a_yaml_error_is_placed_and_then_cleared(client: LanguageClient, pack):
    editor = Editor(client)
    path = pack / RULES
    text = path.read_text(encoding="utf-8")
    await editor.open(path, text.replace("    outcome: review", "    outcome: [review", 1))
    [diag] = editor.diagnostics(path)
    assert diag.code == "MTB102"
    await editor.change(path, text)
    assert editor.diagnostics(path) == []


def uri_of(client: LanguageClient, diag: types.Diagnostic) -> str:
    return next(uri for uri, found in client.diagnostics.items() if diag in found)
