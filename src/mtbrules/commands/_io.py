"""Reading JSON input for commands, with errors that name the file, line and column."""

from __future__ import annotations

import json
import sys
from typing import Any

from .. import jsontext
from ..errors import InputError

MAX_INPUT_BYTES = 16 * 1024 * 1024


def read_json(path: str) -> Any:
    """Parse the JSON file at `path` (`-` for standard input); InputError with line:column."""
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_INPUT_BYTES:
        raise InputError(f"{name}: larger than {MAX_INPUT_BYTES} bytes")
    return jsontext.loads(raw, name)


def answer_lang(lang: str | None, fmt: str) -> str:
    """The language of an answer: `--lang` when given; else Chinese for a report a person
    reads and English for JSON (the engine's messages in JSON are English unless asked)."""
    if lang:
        return lang
    return "en" if fmt == "json" else "zh"


LANG_HELP = (
    "language of the engine's messages (reasons, warnings, deadline bases) and of the text "
    "report (default: zh for text, en for json); `name` fields do not change"
)


def write_json(obj: Any, stream=None, indent: int | None = 2) -> None:
    stream = stream or sys.stdout
    stream.write(json.dumps(obj, ensure_ascii=False, indent=indent, sort_keys=False))
    stream.write("\n")
