"""JSON text: the one parser of JSON documents (with the messages every edge gives) and the one compact encoder.

`mtbrules eval` (a file or standard input) and the service (a request body)
read a case through `loads`, so the same bad input gets the same words:
`NAME:LINE:COL: invalid JSON: ...`, `NAME: not UTF-8 text (byte N)`,
`NAME: JSON nested too deeply`. NaN and Infinity are refused (they are not JSON).

>>> loads(b'{"age": 60}', "case.json")
{'age': 60}
>>> loads(b'{"age": }', "case.json")
Traceback (most recent call last):
...
mtbrules.errors.InputError: case.json:1:9: invalid JSON: Expecting value
"""

from __future__ import annotations

import json
from typing import Any

from .diagnostics import Location
from .errors import InputError

_orjson: Any
try:  # a fast parser when installed (the serve extra); the standard library says what is wrong
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the installation
    _orjson = None

__all__ = ["dumps_bytes", "loads", "reject_constant"]

_BOM = b"\xef\xbb\xbf"
#: 19 digits in a row may be an integer past 64 bits, which orjson reads as a float: such a
#: document (or one with a long number anywhere, even in a string) is read the standard way.
#: Found by mapping every digit to 0 and looking for 19 zeros: a fifth of a regex search.
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0000000000")
_LONG_RUN = b"0" * 19


def _long_number(raw: bytes) -> bool:
    return _LONG_RUN in raw.translate(_DIGITS_AS_ZERO)


def loads(raw: bytes | str, name: str) -> Any:
    """The JSON value in `raw` (UTF-8, a BOM allowed); InputError naming `name` and line:column."""
    if _orjson is not None and isinstance(raw, bytes) and not _long_number(raw):
        # orjson gives what json.loads gives for these; what it refuses (invalid documents,
        # which need json's message) goes the standard way.
        try:
            return _orjson.loads(raw[3:] if raw[:3] == _BOM else raw)
        except (_orjson.JSONDecodeError, TypeError):
            pass
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    else:
        text = raw
    try:
        return json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{Location(name, exc.lineno, exc.colno)}: invalid JSON: {exc.msg}"
        ) from None
    except RecursionError:
        raise InputError(f"{name}: JSON nested too deeply") from None
    except ValueError as exc:
        raise InputError(f"{name}: invalid JSON: {exc}") from None


def reject_constant(name: str) -> Any:
    """json.loads hook: NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not valid JSON")


def dumps_bytes(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON: the encoder of every decision file and service answer.

    orjson: compact (no spaces after `,` and `:`), keys in insertion order, the
    same bytes on every run and in every process. What orjson refuses (an
    integer beyond 64 bits echoed from a case, a non-text key) is written by
    the standard library, to the same text.

    >>> dumps_bytes({"age": 60, "name": "张三"}).decode("utf-8")
    '{"age":60,"name":"张三"}'
    >>> dumps_bytes({"n": 2**70})
    b'{"n":1180591620717411303424}'
    """
    if _orjson is not None:
        try:
            return _orjson.dumps(value)
        except TypeError:  # orjson.JSONEncodeError
            pass
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
