"""Text for a terminal: pack and case text shown, never executed.

Packs and cases come from others. A rule's reason, a disease name or a field
value may hold an ESC sequence (colours, cursor moves, a window title, an OSC 8
link), a carriage return that hides what came before, a bell, or a bidi override
that reorders what the reader sees. Every report and error message the command
line prints goes through `printable`, which shows such characters as escapes.

>>> printable("恶性肿瘤\\x1b[2J")
'恶性肿瘤\\\\x1b[2J'
>>> printable("line one\\nline two")
'line one\\nline two'
"""

from __future__ import annotations

import re

# C0 controls but newline, DEL, C1 controls, and the format characters that move or
# reorder text (bidi embeddings/overrides/isolates, LRM/RLM/ALM, line/paragraph separators).
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control character shown as an escape (`\\x1b`, `\\u202e`); newlines kept."""
    return _UNSAFE.sub(_escape, text)


def one_line(text: str) -> str:
    """`printable`, and newlines shown as `\\n` too: for a value inside one line of a report."""
    return printable(text).replace("\n", "\\n")


def clipped(text: str, limit: int = 200) -> str:
    """`text` cut to `limit` characters (with "...") for a message that quotes it."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
