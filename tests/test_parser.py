"""The DSL parser: text → nodes, canonical printing, and positioned syntax errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtbrules import DslSyntaxError
from mtbrules import nodes as n
from mtbrules.parser import MAX_EXPRESSION_LENGTH, parse_expression

FIXTURES = Path(__file__).parent / "fixtures" / "dsl" / "roundtrip.txt"


def _pairs():
    for lineno, line in enumerate(FIXTURES.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            text, canonical = (part.strip() for part in line.split(";;"))
            yield pytest.param(text, canonical, id=f"line{lineno}")


class TestFixtures:
    @pytest.mark.parametrize(("text", "canonical"), list(_pairs()))
    def test_canonical_form(self, text, canonical):
        """Each fixture expression prints in its canonical form, which parses back to the same tree."""
        tree = parse_expression(text)
        assert n.to_source(tree) == canonical
        assert parse_expression(canonical) == tree


class TestTrees:
    def test_precedence(self):
        """`and` binds tighter than `or`, comparisons tighter than `and`."""
        tree = parse_expression("a or b and c == 1")
        assert tree == n.BoolOp(
            "or",
            n.Name("a"),
            n.BoolOp("and", n.Name("b"), n.Compare("==", n.Name("c"), n.Literal(1))),
        )

    def test_literals(self):
        """Dates, durations, numbers and strings become typed literals."""
        assert parse_expression("2024-02-29") == n.Literal(dt.date(2024, 2, 29))
        assert parse_expression("7 working_days") == n.Duration(7, "working_days")
        assert parse_expression("1 month") == n.Duration(1, "months")
        assert parse_expression("0.65") == n.Literal(0.65)
        assert parse_expression("'市南区'") == n.Literal("市南区")

    def test_positions(self):
        """Nodes carry 1-based line and column inside the expression."""
        tree = parse_expression("age >= 60 and\n  retired")
        assert (tree.right.line, tree.right.col) == (2, 3)

    def test_quantifier(self):
        """A quantifier holds its variable, the list it ranges over, and its body."""
        tree = parse_expression('any d in diseases: d.id == "x"')
        assert isinstance(tree, n.Quantifier) and tree.kind == "any" and tree.var == "d"
        assert tree.seq == n.Name("diseases")


class TestErrors:
    @pytest.mark.parametrize(
        ("text", "code", "col"),
        [
            ("a and", "MTB203", 6),
            ("age >= ", "MTB203", 8),
            ("1 +* 2", "MTB203", 4),
            ("x $ y", "MTB202", 3),
            ('"open', "MTB202", 1),
            ("2021-13-01", "MTB204", 1),
            ("", "MTB201", 1),
            ("   ", "MTB201", 1),
        ],
    )
    def test_syntax_errors_are_positioned(self, text, code, col):
        """Each slip is a DslSyntaxError with a stable code at the right column."""
        with pytest.raises(DslSyntaxError) as info:
            parse_expression(text)
        diag = info.value.diagnostics[0]
        assert diag.code == code
        assert diag.location.col == col

    def test_expected_tokens_are_hinted(self):
        """An unexpected token says what could have come instead."""
        with pytest.raises(DslSyntaxError) as info:
            parse_expression("a ==")
        assert "expected" in info.value.diagnostics[0].hint

    def test_locate_maps_to_file(self):
        """The locate callback turns expression positions into file positions."""
        from mtbrules.diagnostics import Location

        with pytest.raises(DslSyntaxError) as info:
            parse_expression("a and", lambda line, col: Location("rules.yaml", 10 + line, 8 + col))
        assert str(info.value.diagnostics[0].location) == "rules.yaml:11:14"

    def test_too_long(self):
        """An expression over the length limit is refused before parsing."""
        with pytest.raises(DslSyntaxError) as info:
            parse_expression("a or " * (MAX_EXPRESSION_LENGTH // 5) + "b")
        assert info.value.diagnostics[0].code == "MTB205"

    @pytest.mark.parametrize(
        "text", ["(" * 200 + "1" + ")" * 200, "not " * 300 + "a", "- " * 300 + "1"]
    )
    def test_too_deep(self, text):
        """Deep nesting is a clear MTB205 error, never a RecursionError."""
        with pytest.raises(DslSyntaxError) as info:
            parse_expression(text)
        assert info.value.diagnostics[0].code == "MTB205"


# ------------------------------------------------------------- properties

_names = st.sampled_from(["age", "retired", "submitted_on", "x", "d", "offsite"])
_leaves = st.one_of(
    _names.map(n.Name),
    st.integers(0, 10**6).map(n.Literal),
    st.booleans().map(n.Literal),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8).map(n.Literal),
    st.dates(dt.date(1900, 1, 1), dt.date(2999, 12, 31)).map(n.Literal),
    st.builds(
        n.Duration,
        st.integers(0, 400),
        st.sampled_from(["working_days", "days", "weeks", "months", "years"]),
    ),
)


def _extend(children):
    return st.one_of(
        st.builds(n.BoolOp, st.sampled_from(["and", "or"]), children, children),
        st.builds(
            n.Compare,
            st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in"]),
            children,
            children,
        ),
        st.builds(n.Arith, st.sampled_from(["+", "-", "*"]), children, children),
        st.builds(n.Not, children),
        st.builds(n.Neg, children),
        st.builds(n.If, children, children, children),
        st.builds(n.Quantifier, st.sampled_from(["any", "all"]), _names, children, children),
        st.builds(n.Attr, children, _names),
        st.builds(
            n.Call,
            st.sampled_from(["end_of_year", "min", "len"]),
            st.lists(children, max_size=3).map(tuple),
        ),
        st.lists(children, max_size=3).map(lambda items: n.ListLit(tuple(items))),
    )


trees = st.recursive(_leaves, _extend, max_leaves=12)


class TestProperties:
    @settings(max_examples=300, deadline=None)
    @given(trees)
    def test_print_then_parse_round_trips(self, tree):
        """Printing any tree and parsing the text gives back an equal tree."""
        assert parse_expression(n.to_source(tree)) == tree

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=60))
    def test_arbitrary_text_raises_only_syntax_errors(self, text):
        """On any text the parser returns a tree or raises DslSyntaxError, nothing else."""
        try:
            parse_expression(text)
        except DslSyntaxError:
            pass

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(
            st.sampled_from(
                [
                    "a",
                    "and",
                    "or",
                    "not",
                    "(",
                    ")",
                    "1",
                    "+",
                    "-",
                    "==",
                    "in",
                    "[",
                    "]",
                    ",",
                    "if",
                    "then",
                    "else",
                    "any",
                    ":",
                    "x",
                    "7 days",
                    "2024-01-01",
                    '"s"',
                    ".",
                ]
            ),
            max_size=15,
        )
    )
    def test_token_soup_raises_only_syntax_errors(self, tokens):
        """Sequences of real tokens either parse or fail with DslSyntaxError."""
        try:
            parse_expression(" ".join(tokens))
        except DslSyntaxError:
            pass
