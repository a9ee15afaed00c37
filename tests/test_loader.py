"""Loading packs: YAML positions, schema errors, references, and DSL errors at file:line:column."""

from __future__ import annotations

import pytest
from packbuilder import MINI_PACK, write_pack

from mtbrules import PackError
from mtbrules._yaml import load_yaml
from mtbrules.loader import load_pack_folder


def _errors(tmp_path, changes):
    root = write_pack(tmp_path / "p", changes)
    with pytest.raises(PackError) as info:
        load_pack_folder(root)
    return info.value.diagnostics


def _rules(body: str) -> dict:
    return {"rules/a.yaml": "rules:\n" + body}


class TestYaml:
    def test_locations_of_values(self, tmp_path):
        """Every value keeps the line and column where it starts."""
        path = tmp_path / "x.yaml"
        path.write_text("a:\n  - b: 1\n    c: 'x'\n", encoding="utf-8")
        doc = load_yaml(str(path))
        assert doc.value == {"a": [{"b": 1, "c": "x"}]}
        assert (doc.location(("a", 0, "c")).line, doc.location(("a", 0, "c")).col) == (3, 8)

    def test_keys_are_text(self, tmp_path):
        """A key written `no` stays the text 'no' (YAML 1.1 would read False)."""
        path = tmp_path / "x.yaml"
        path.write_text("no: 3\nyes: 4\n", encoding="utf-8")
        assert load_yaml(str(path)).value == {"no": 3, "yes": 4}

    def test_duplicate_key(self, tmp_path):
        """A duplicate key is an error at the second key, never a silent overwrite."""
        path = tmp_path / "x.yaml"
        path.write_text("a: 1\nb: 2\na: 3\n", encoding="utf-8")
        with pytest.raises(PackError) as info:
            load_yaml(str(path))
        d = info.value.diagnostics[0]
        assert (d.code, d.location.line, d.location.col) == ("MTB103", 3, 1)

    def test_syntax_error_position(self, tmp_path):
        """Broken YAML is MTB102 at the line the parser stopped."""
        path = tmp_path / "x.yaml"
        path.write_text("a: [1, 2\nb: 3\n", encoding="utf-8")
        with pytest.raises(PackError) as info:
            load_yaml(str(path))
        assert info.value.diagnostics[0].code == "MTB102"

    def test_billion_laughs(self, tmp_path):
        """Alias expansion beyond the limit is refused (MTB104)."""
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in range(1, 9):
            lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
        path = tmp_path / "x.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with pytest.raises(PackError) as info:
            load_yaml(str(path))
        assert info.value.diagnostics[0].code == "MTB104"


class TestPackErrors:
    def test_mini_pack_loads(self, mini_pack):
        """The fixture pack loads with its catalogues and rules."""
        assert mini_pack.id == "mini"
        assert [r.id for r in mini_pack.rules] == ["general", "instant"]
        assert mini_pack.suppresses["instant"] == frozenset({"general"})

    def test_unknown_key(self, tmp_path):
        """A misspelt key in a rule is a schema error at the rule, naming the allowed keys."""
        diags = _errors(
            tmp_path,
            _rules(
                "  - id: r\n    title: t\n    source: {doc: s1, clause: 一}\n    outcom: review\n"
            ),
        )
        assert diags[0].code == "MTB110"
        assert "outcom" in diags[0].message and "allowed" in diags[0].message
        assert diags[0].location.file.endswith("a.yaml") and diags[0].location.line == 2

    def test_missing_citation(self, tmp_path):
        """A rule without `source` is an error: every rule cites its clause."""
        diags = _errors(tmp_path, _rules("  - id: r\n    title: t\n    outcome: review\n"))
        assert diags[0].code == "MTB110" and "'source' is required" in diags[0].message

    def test_unknown_document(self, tmp_path):
        """A required document missing from the catalogue is MTB402 with a suggestion."""
        diags = _errors(
            tmp_path,
            _rules(
                "  - id: r\n    title: t\n    source: {doc: s1, clause: 一}\n    require: [reprot]\n"
            ),
        )
        d = diags[0]
        assert d.code == "MTB402" and "reprot" in d.message and d.hint == "did you mean 'report'?"
        assert (d.location.line, d.location.col) == (5, 15)

    def test_unknown_source(self, tmp_path):
        """A citation must name a source of pack.yaml."""
        diags = _errors(
            tmp_path, _rules("  - id: r\n    title: t\n    source: {doc: s9, clause: 一}\n")
        )
        assert diags[0].code == "MTB403"

    def test_duplicate_rule_id(self, tmp_path):
        """Two rules with one id are MTB401 at the second."""
        body = "  - {id: r, title: t, source: {doc: s1, clause: 一}}\n  - {id: r, title: t, source: {doc: s1, clause: 一}}\n"
        diags = _errors(tmp_path, _rules(body))
        assert diags[0].code == "MTB401" and diags[0].location.line == 3

    def test_override_cycle(self, tmp_path):
        """Rules that override each other in a cycle are refused."""
        body = (
            "  - {id: a, title: t, source: {doc: s1, clause: 一}, overrides: [b]}\n"
            "  - {id: b, title: t, source: {doc: s1, clause: 一}, overrides: [a]}\n"
        )
        assert any(d.code == "MTB409" for d in _errors(tmp_path, _rules(body)))

    def test_errors_are_collected(self, tmp_path):
        """Several problems are reported together, sorted by position."""
        body = (
            "  - {id: a, title: t, source: {doc: s1, clause: 一}, require: [nope1]}\n"
            "  - {id: b, title: t, source: {doc: s1, clause: 一}, require: [nope2]}\n"
        )
        diags = _errors(tmp_path, _rules(body))
        assert [d.location.line for d in diags] == [2, 3]


class TestExpressionPositions:
    """A DSL error points at the expression's file, line and the column inside it, in every scalar style."""

    @pytest.mark.parametrize(
        ("when", "line", "col"),
        [
            ("    when: age >= 60 and retird\n", 5, 25),
            ("    when: 'age >= 60 and retird'\n", 5, 26),
            ('    when: "age >= 60 and retird"\n', 5, 26),
            ("    when: |\n      age >= 60 and\n      retird\n", 7, 7),
            ("    when: >-\n      age >= 60 and retird\n", 6, 21),
        ],
    )
    def test_unknown_name_position(self, tmp_path, when, line, col):
        """An unknown field is MTB301 at its exact position, with a suggestion."""
        body = "  - id: r\n    title: t\n    source: {doc: s1, clause: 一}\n" + when
        d = _errors(tmp_path, _rules(body))[0]
        assert d.code == "MTB301" and "retird" in d.message and d.hint == "did you mean 'retired'?"
        assert (d.location.line, d.location.col) == (line, col)

    def test_syntax_error_position(self, tmp_path):
        """A syntax error inside a deadline's date points inside the expression."""
        body = (
            "  - id: r\n    title: t\n    source: {doc: s1, clause: 一}\n"
            "    deadlines:\n      - kind: decision_due\n        date: submitted_on + + 7 days\n"
        )
        d = _errors(tmp_path, _rules(body))[0]
        assert d.code == "MTB203" and (d.location.line, d.location.col) == (7, 30)

    def test_type_error(self, tmp_path):
        """A date added to a bool is a type error at the operator."""
        body = "  - id: r\n    title: t\n    source: {doc: s1, clause: 一}\n    when: retired + 1 day == submitted_on\n"
        d = _errors(tmp_path, _rules(body))[0]
        assert d.code == "MTB302" and "bool" in d.message

    def test_unknown_group_literal(self, tmp_path):
        """A string compared with disease groups must be a group of the pack."""
        body = "  - id: r\n    title: t\n    source: {doc: s1, clause: 一}\n    when: 'any d in diseases: \"fsat\" in d.groups'\n"
        d = _errors(tmp_path, _rules(body))[0]
        assert d.code == "MTB303" and d.hint == "did you mean 'fast'?"

    def test_when_must_be_bool(self, tmp_path):
        """A condition must be a bool expression."""
        body = "  - id: r\n    title: t\n    source: {doc: s1, clause: 一}\n    when: age + 1\n"
        d = _errors(tmp_path, _rules(body))[0]
        assert d.code == "MTB302" and "expected a bool" in d.message


def test_mini_pack_text_is_dedented():
    """The fixture text is valid YAML once dedented (guards the fixture itself)."""
    assert "rules/a.yaml" in MINI_PACK
