"""jsontext.loads, the JSON reader of `mtbrules eval` and the service: whichever parser reads a
document (orjson when installed, the standard library otherwise or when orjson refuses), the
value and the error are the standard library's."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtbrules import jsontext
from mtbrules.errors import InputError

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def standard(raw: bytes):
    """What json.loads says: ("ok", value) or ("error",)."""
    try:
        text = raw.decode("utf-8-sig")
        return ("ok", json.loads(text, parse_constant=jsontext.reject_constant))
    except (ValueError, RecursionError):
        return ("error",)


def ours(raw: bytes):
    try:
        return ("ok", jsontext.loads(raw, "body"))
    except InputError:
        return ("error",)


@settings(max_examples=300, deadline=None)
@given(values, st.booleans())
def test_every_json_document_reads_as_the_standard_library_reads_it(value, bom):
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    raw = (b"\xef\xbb\xbf" if bom else b"") + raw
    expected, got = standard(raw), ours(raw)
    assert got == expected
    if got[0] == "ok":  # the same types too: 1 stays an int, 1.0 a float
        assert json.dumps(got[1]) == json.dumps(expected[1])


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=40) | st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_any_bytes_are_refused_exactly_when_the_standard_library_refuses_them(raw):
    assert ours(raw)[0] == standard(raw)[0]


@pytest.mark.parametrize(
    "raw, message",
    [
        (b'{"age": }', "body:1:9: invalid JSON: Expecting value"),
        (b"NaN", "body: invalid JSON: NaN is not valid JSON"),
        (b"\xff", "body: not UTF-8 text (byte 0)"),
        (b"[" * 100000, "body: JSON nested too deeply"),
    ],
)
def test_errors_name_the_document_and_the_place(raw, message):
    with pytest.raises(InputError) as info:
        jsontext.loads(raw, "body")
    assert str(info.value) == message


def test_integers_past_64_bits_stay_integers():
    assert jsontext.loads(b"[123456789012345678901234567890]", "b") == [
        123456789012345678901234567890
    ]


def test_integers_past_64_bits_are_read_as_integers():
    """orjson would read them as floats: a long run of digits sends the document the standard way."""
    for text in (
        b'{"age": 123456789012345678901}',
        b'{"n": -98765432109876543210, "s": "x"}',
        b'{"id": "1234567890123456789"}',
        b'{"age": 1234567890123456789}',
        b'{"age": 123456789012345678}',
    ):
        assert jsontext.loads(text, "case") == json.loads(text)
        assert type(jsontext.loads(text, "case")) is dict
    assert type(jsontext.loads(b'{"a": 123456789012345678901}', "c")["a"]) is int
