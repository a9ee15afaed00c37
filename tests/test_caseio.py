"""mtbrules.caseio: the fast JSON line reader and writer mean exactly what the standard library means."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mtbrules import caseio

# Numbers at the edges orjson treats differently (64-bit integers, doubles), text with
# surrogates and escapes, nesting.
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 3, max_value=2**64 + 3),
    st.integers(min_value=-(2**63) - 3, max_value=-(2**63) + 3),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text())
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)
    ),
    max_leaves=12,
)


def _outcome(loads, raw):
    try:
        return "ok", repr(loads(raw))
    except (ValueError, RecursionError) as exc:
        return "error", type(exc).__name__, str(exc)


@settings(max_examples=400, deadline=None)
@given(values, st.booleans(), st.sampled_from([b"", b"\xef\xbb\xbf", b" ", b"\r"]))
def test_loads_is_json_loads_on_json(value, ascii_only, around):
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    raw = around + raw if around == b"\xef\xbb\xbf" else raw + around
    assert _outcome(caseio.loads, raw) == _outcome(json.loads, raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    assert _outcome(caseio.loads, text) == _outcome(json.loads, text)  # a line given as text


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=40) | st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_loads_is_json_loads_on_anything(raw):
    """Bad lines give json's own message (the errors file's text does not change)."""
    assert _outcome(caseio.loads, raw) == _outcome(json.loads, raw)


finite = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)
    ),
    max_leaves=12,
)


# Finite numbers only: what mtbrules writes never holds NaN or infinity (the case parser refuses
# them, MTB error "number out of range"), and JSON has no spelling for them.
@settings(max_examples=300, deadline=None)
@given(finite)
def test_dumps_reads_back_as_the_value(value):
    try:
        raw = caseio.dumps_bytes(value)
    except UnicodeEncodeError:  # a lone surrogate cannot be UTF-8, whichever encoder
        return
    assert json.loads(raw) == value
    assert caseio.dumps_bytes(value) == raw  # the same bytes every time


def test_dumps_is_compact_utf8_in_key_order():
    assert caseio.dumps_bytes({"b": 1, "a": ["恶性肿瘤", None, True]}) == (
        '{"b":1,"a":["恶性肿瘤",null,true]}'.encode()
    )
    assert caseio.dumps_bytes({"n": 2**70}) == b'{"n":1180591620717411303424}'


# ---------------------------------------------------------------- byte ranges of a JSONL file

lines = st.lists(
    st.sampled_from([b"", b"  ", b'{"a": 1}', b'{"b": "\xe6\x81\xb6"}\r', b"x" * 40, b"\r"]),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(
    lines,
    st.sampled_from([b"", b"\n", b"tail", b"\r\n"]),
    st.integers(1, 6),
    st.sampled_from([1, 5, 64, 1 << 22]),
)
def test_ranges_hold_the_lines_the_stream_reader_gives(tmp_path_factory, body, end, rows, block):
    """A chunk read by its byte range is the chunk read from the stream: same rows, same bytes
    (CRLF as LF, a final newline added), however the file falls across the splitter's blocks;
    and a run resumed at a chunk's offset goes on with the next chunks."""
    import io

    data = b"\n".join(body) + end
    path = tmp_path_factory.mktemp("ranges") / "in.jsonl"
    path.write_bytes(data)
    streamed = [
        (start, payload) for _, start, payload in caseio.jsonl_chunks(io.BytesIO(data), rows)
    ]
    old_block, caseio.RANGE_BLOCK = caseio.RANGE_BLOCK, block
    try:
        position: list = [None, None]
        ranges = list(caseio.jsonl_ranges(str(path), rows, position))
        assert position == [len(data) if ranges else None, len(data)]
        assert [(start, caseio.read_range(*r)) for _, start, r in ranges] == streamed
        assert [caseio.chunk_rows(c) for c in ranges] == [p.count(b"\n") for _, p in streamed]
        if len(ranges) > 1:
            _, start, (_, offset, _, _) = ranges[1]
            again = caseio.jsonl_ranges(str(path), rows, start=start, offset=offset)
            assert list(again) == ranges[1:]
    finally:
        caseio.RANGE_BLOCK = old_block


def test_a_range_chunk_gives_the_cases_of_its_lines(tmp_path):
    import mtbrules

    pack = mtbrules.load_pack("qingdao")
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\n{not json\n[1]')
    chunk = next(caseio.jsonl_ranges(str(path), 10))
    got = [(row, case, message) for row, case, _, message in caseio.chunk_cases(chunk, pack)]
    assert got == [
        (1, {"a": 1}, None),
        (
            3,
            None,
            "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (4, [1], None),
    ]
