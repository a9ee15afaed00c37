"""Hover, completion, go to definition, references, document symbols and formatting,
asked of the running server the way an editor asks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lspeditor import Editor, position_of
from lsprotocol import types
from pygls.uris import to_fs_path
from pytest_lsp import LanguageClient

from mtbrules.case import CASE_OBJECTS
from mtbrules.compiler import FUNCTION_NAMES
from mtbrules.formatter import format_text

pytestmark = pytest.mark.asyncio(loop_scope="module")

TIME_LIMITS = "rules/s2_3_time_limits.yaml"
MATERIALS = "rules/s2_2_materials.yaml"


def doc_id(editor: Editor, path: Path) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=editor.uri(path))


async def hover(client, editor, path, needle, nth=0, offset=1) -> str:
    text = editor.texts[editor.uri(path)]
    result = await client.text_document_hover_async(
        types.HoverParams(
            text_document=doc_id(editor, path), position=position_of(text, needle, nth, offset)
        )
    )
    assert result is not None, needle
    return result.contents.value


async def complete(
    client, editor, path, text, needle, offset=None
) -> dict[str, types.CompletionItem]:
    """Put `text` in the buffer and complete just after `needle` (or `offset` chars into it)."""
    await editor.change(path, text)
    at = position_of(text, needle, 0, len(needle) if offset is None else offset)
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=doc_id(editor, path), position=at)
    )
    items = result.items if isinstance(result, types.CompletionList) else result
    return {item.label: item for item in items or []}


async def test_hover_on_a_rule_shows_clause_quote_and_sentence(client: LanguageClient, pack):
    editor = Editor(client)
    path = pack / TIME_LIMITS
    await editor.open(path)
    text = await hover(client, editor, path, "id: general_time_limit", offset=5)
    assert "general_time_limit" in text and "一般病种7个工作日" in text
    assert "seed-000 二(三)1" in text
    assert "> 一般病种为7个工作日" in text
    # the sentence of source.txt the quote stands in, found there by the server
    source = (pack / "source.txt").read_text(encoding="utf-8")
    assert "1.一般病种为7个工作日。" in source
    assert "1.一般病种为7个工作日。" in text
    line = source[: source.index("1.一般病种为7个工作日。")].count("\n") + 1
    assert f"line {line}" in text
    # the same from a use of the rule's id elsewhere
    assert "一般病种为7个工作日" in await hover(client, editor, path, "general_time_limit", nth=1)


async def test_hover_on_case_fields_durations_and_ids(client: LanguageClient, pack):
    editor = Editor(client)
    path = pack / TIME_LIMITS
    await editor.open(path)
    field = await hover(client, editor, path, "submitted_on + 7")
    assert (
        "submitted_on" in field and "date" in field and "the day the application is made" in field
    )
    duration = await hover(client, editor, path, "7 working_days")
    assert "working days" in duration and "official calendar" in duration
    assert "The calendar knows" in duration
    diseases = await hover(client, editor, path, "len(diseases)", offset=5)
    assert "list[disease]" in diseases
    function = await hover(client, editor, path, "len(diseases)")
    assert "len(list) -> int" in function
    group = await hover(client, editor, path, '"instant_hospital"', offset=2)
    assert "group `instant_hospital`" in group
    materials = pack / MATERIALS
    await editor.open(materials)
    document = await hover(client, editor, materials, "require: [discharge_record]", offset=11)
    assert "document `discharge_record`" in document and "出院记录" in document


async def test_hover_on_a_pack_case_field(client: LanguageClient, pack):
    editor = Editor(client)
    path = pack / MATERIALS
    await editor.open(path)
    text = editor.texts[editor.uri(path)]
    assert "dialysis_count_3_months" in text
    shown = await hover(client, editor, path, "dialysis_count_3_months")
    assert "(this pack's): `int`" in shown and "三个月内透析治疗次数" in shown


async def test_completion_in_conditions(client: LanguageClient, pack):
    editor = Editor(client)
    path = pack / TIME_LIMITS
    original = path.read_text(encoding="utf-8")
    await editor.open(path)
    typed = original.replace("    outcome: review\n", "    when: first_application and \n", 1)
    items = await complete(client, editor, path, typed, "when: first_application and ")
    assert {"submitted_on", "diseases", "dialysis_count_3_months", "offsite"} <= set(items)
    assert set(FUNCTION_NAMES) <= set(items)
    assert items["nth_working_day"].kind == types.CompletionItemKind.Function
    typed = original.replace("    outcome: review\n", "    when: offsite.\n", 1)
    items = await complete(client, editor, path, typed, "when: offsite.")
    assert set(items) == set(CASE_OBJECTS["offsite"])
    typed = original.replace('"instant_hospital" in d.groups', '"" in d.groups', 1)
    items = await complete(client, editor, path, typed, '(all d in diseases: "', offset=None)
    assert "instant_hospital" in items
    assert "discharge_record" not in items  # a group is expected, not a document
    await editor.change(path, original)


async def test_completion_of_ids_and_clauses(client: LanguageClient, pack):
    editor = Editor(client)
    path = pack / MATERIALS
    original = path.read_text(encoding="utf-8")
    await editor.open(path)
    typed = original.replace("require: [discharge_record]", "require: [discharge_record, ]", 1)
    items = await complete(client, editor, path, typed, "require: [discharge_record, ")
    assert {"id_card", "ss_card", "discharge_record"} <= set(items)
    assert "general_time_limit" not in items
    typed = original.replace(
        'source: {doc: seed-000, clause: 二(二)2(1), quote: "(1)相关病种出院记录"}',
        'source: {doc: seed-000, clause: , quote: "(1)相关病种出院记录"}',
        1,
    )
    items = await complete(client, editor, path, typed, "clause: ")
    source = (pack / "source.txt").read_text(encoding="utf-8")
    assert {"二(三)1", "二(二)2(1)", "二"} <= set(items)
    for label, item in items.items():
        assert item.documentation and item.documentation.split(" ")[0][:10] in source, label
    await editor.change(path, original)


async def test_go_to_definition_of_ids_and_clauses(client: LanguageClient, pack):
    editor = Editor(client)
    path = pack / TIME_LIMITS
    await editor.open(path)
    text = editor.texts[editor.uri(path)]
    where = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=doc_id(editor, path),
            position=position_of(text, "general_time_limit", nth=1, offset=3),
        )
    )
    assert to_fs_path(where.uri) == str(path)
    assert editor.text_of(path, where.range) == "general_time_limit"
    assert where.range.start.line == position_of(text, "general_time_limit").line
    where = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=doc_id(editor, path), position=position_of(text, "二(三)1", offset=2)
        )
    )
    source = pack / "source.txt"
    assert to_fs_path(where.uri) == str(source)
    line = source.read_text(encoding="utf-8").splitlines()[where.range.start.line]
    assert line.strip().startswith("1.一般病种为7个工作日")
    materials = pack / MATERIALS
    await editor.open(materials)
    text = editor.texts[editor.uri(materials)]
    where = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=doc_id(editor, materials),
            position=position_of(text, "require: [discharge_record]", offset=12),
        )
    )
    assert to_fs_path(where.uri) == str(pack / "documents.yaml")
    assert editor.text_of(pack / "documents.yaml", where.range) == "discharge_record"


async def test_references_of_a_document(client: LanguageClient, pack):
    editor = Editor(client)
    path = pack / "documents.yaml"
    await editor.open(path)
    text = editor.texts[editor.uri(path)]
    found = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc_id(editor, path),
            position=position_of(text, "id: discharge_record", offset=6),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    files = [to_fs_path(loc.uri) for loc in found]
    assert files[0] == str(path)  # the declaration first
    # every place the id stands as a value (not inside another id like group_b_discharge_record)
    expected = sum(
        len(re.findall(r"\bdischarge_record\b", p.read_text(encoding="utf-8")))
        for p in sorted(pack.glob("*.yaml")) + sorted(pack.glob("*/*.yaml"))
    )
    assert len(found) == expected
    for loc in found:
        assert editor.text_of(Path(to_fs_path(loc.uri)), loc.range) == "discharge_record"


async def test_document_symbols_are_rules_by_clause(client: LanguageClient, pack):
    editor = Editor(client)
    path = pack / TIME_LIMITS
    await editor.open(path)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=doc_id(editor, path))
    )
    by_clause = {s.name: [c.name for c in s.children or ()] for s in symbols}
    assert by_clause["seed-000 二(三)1"][:2] == ["general_time_limit", "review_result_notice"]
    assert "instant_time_limit" in by_clause["seed-000 二(三)2"]
    assert all(s.kind == types.SymbolKind.Namespace for s in symbols)


async def test_formatting_is_fmt(client: LanguageClient, pack):
    editor = Editor(client)
    path = pack / "channels.yaml"
    original = path.read_text(encoding="utf-8")
    messy = original.replace("kind: window", "kind:    window")
    assert messy != original
    await editor.open(path, messy)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=doc_id(editor, path),
            options=types.FormattingOptions(tab_size=2, insert_spaces=True),
        )
    )
    [edit] = edits
    assert edit.new_text == format_text(messy, path)
    assert edit.range.start == types.Position(line=0, character=0)
    await editor.change(path, edit.new_text)
    again = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=doc_id(editor, path),
            options=types.FormattingOptions(tab_size=2, insert_spaces=True),
        )
    )
    assert again is not None and len(again) == 0
    await editor.change(path, original)
