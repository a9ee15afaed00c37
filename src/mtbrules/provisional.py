"""Which years a calendar computation read only provisionally: `track` and `Provisional`.

Past the last year with an official schedule the calendar (workdays.py)
counts days provisionally. Run under :func:`track`, a computation learns which
of those years it read (the calendar calls :func:`note` off its fast path)
and the latest date its result could move to once their schedules are
published (docs/calendar.md, "How late can it get?").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date
from typing import Any

import attrs

from . import statutory
from .errors import CalendarError
from .messages import join, text

__all__ = ["Provisional", "Watch", "note", "reads", "track"]


@attrs.frozen
class Provisional:
    """What a computation run under :func:`track` read from years without an official schedule.

    ``years``: those years. ``latest``: the latest the result could move to
    once their schedules are published, assuming each holiday block stays
    within the widest the published schedules ever gave its festival
    (docs/calendar.md, "How late can it get?"); None when the result is not a
    date or the bound leaves the calendar's range.
    """

    years: tuple[int, ...]
    latest: date | None

    def describe(self, what: str, value: Any, lang: str = "en") -> str:
        """The warning for ``what`` (e.g. "deadline decision_due") whose value is ``value``,
        in ``lang`` (the engine's messages, messages.py)."""
        years = join(map(str, self.years), lang)
        law = statutory.law_in_force(self.years[0])
        shown = value.isoformat() if isinstance(value, date) else value
        out = text(
            "calendar.provisional", lang, what=what, value=shown, years=years, decree=law.decree
        )
        if self.latest is not None and isinstance(value, date) and self.latest > value:
            out += text("calendar.could_move", lang, latest=self.latest.isoformat())
        elif self.latest is not None:
            out += text("calendar.would_not_move", lang)
        return out + _how_to_add(years, lang)

    def describe_reading(self, what: str, lang: str = "en") -> str:
        """The warning for ``what`` (e.g. "the rules' conditions") having read provisional days."""
        years = join(map(str, self.years), lang)
        law = statutory.law_in_force(self.years[0])
        out = text("calendar.reading", lang, what=what, years=years, decree=law.decree)
        return out + _how_to_add(years, lang)


def _how_to_add(years: str, lang: str) -> str:
    """The tail of every provisional warning: how to add the missing years' schedules."""
    return text(
        "calendar.add", lang, years=years, command="mtbrules calendar add", page="docs/calendar.md"
    )


class Watch:
    """The collector :func:`track` installs; the calendar writes to it only off the fast path."""

    __slots__ = ("latest", "years")

    def __init__(self, latest: bool):
        self.latest = latest
        self.years: set[int] = set()


_watch: ContextVar[Watch | None] = ContextVar("mtbrules_calendar_watch", default=None)


def track(compute: Callable[[], Any]) -> tuple[Any, Provisional | None]:
    """Run ``compute()`` and say whether it read days the calendar only knows provisionally.

    Returns ``(value, None)`` when every day it read has an official schedule,
    else ``(value, Provisional(years, latest))``: ``latest`` is ``compute()``
    run again on the latest reading of those years (more days off for forward
    counts, more working days for backward ones). Exceptions of ``compute``
    propagate unchanged.
    """
    watch = Watch(latest=False)
    token = _watch.set(watch)
    try:
        value = compute()
    finally:
        _watch.reset(token)
    if not watch.years:
        return value, None
    bound = Watch(latest=True)
    token = _watch.set(bound)
    try:
        latest = compute()
    except CalendarError:
        latest = None
    finally:
        _watch.reset(token)
    if not isinstance(latest, date):
        latest = None
    return value, Provisional(tuple(sorted(watch.years)), latest)


class _Reads(threading.local):
    count = 0


_reads = _Reads()


def reads() -> int:
    """How many times this thread has read provisional days: unchanged across a computation, it read none.

    The cheap check of the generated decision functions (no :func:`track`
    around them): per thread, so another thread's readings never count.
    """
    return _reads.count


def note(lo: int, hi: int, last_official: int) -> Watch | None:
    """Tell the active :func:`track` that days lo..hi (ordinals) were read, some provisionally."""
    _reads.count += 1
    watch = _watch.get()
    if watch is not None:
        first = max(date.fromordinal(lo).year, last_official + 1)
        watch.years.update(range(first, date.fromordinal(hi).year + 1))
    return watch
