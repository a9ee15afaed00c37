"""What the service accepts and sends at most, and the codes of the errors that say so.

The limits are documented in docs/service.md and in the OpenAPI document;
`mtbrules serve` can change the ones it has an option for.
"""

from __future__ import annotations

#: Largest request body (`--max-body`).
DEFAULT_MAX_BODY = 1024 * 1024
#: Most cases in one batch (`--max-batch`).
DEFAULT_MAX_BATCH = 500
#: Largest answer (`--max-response`): a batch of the largest decisions fits well within it.
DEFAULT_MAX_RESPONSE = 8 * 1024 * 1024
#: Requests that may wait for a decision thread when every thread is busy (`--queue`).
DEFAULT_QUEUE = 16
#: Most distinct packs in `POST /v1/compare?packs=…` (repeats are dropped first).
MAX_COMPARE_PACKS = 64
#: A single case with a body up to this size is decided on the event loop: it takes well
#: under a millisecond (measured: 0.1 ms for a usual case, 1.2 ms for 19 KB), less than
#: the hop to a thread and back would cost. Larger bodies go to a decision thread.
INLINE_BODY = 16 * 1024

#: A value from the request is quoted in a message up to this many characters.
QUOTE_AT = 60


def short(text: str) -> str:
    """`text` as a message quotes it: whole, or cut to QUOTE_AT characters ending in `...`."""
    return text if len(text) <= QUOTE_AT else text[: QUOTE_AT - 3] + "..."


#: The codes of the service's own refusals (docs/diagnostics.md, MTB7xx).
TOO_MANY_PACKS = "MTB701"
RESPONSE_TOO_LARGE = "MTB702"
BUSY = "MTB703"
