"""Schedule files: one year's official holidays and make-up working days (放假调休).

A published schedule must not need a new mtbrules release: a schedule file
(YAML, format 1, docs/calendar.md) can be supplied by a pack (``calendars/*.yaml``
in the pack folder), by a deployment (the ``MTBRULES_CALENDAR`` environment
variable, or a calendar passed to ``load_pack``), and wins over the bundled
data. Every file is checked against Article 2 of 《全国年节及纪念日放假办法》
(:mod:`mtbrules.statutory`); problems are diagnostics with file:line:column.

>>> text = '''
... format: 1
... year: 2027
... source: 国务院办公厅关于2027年部分节假日安排的通知
... holidays:
...   元旦: 2027-01-01..2027-01-03
... '''
>>> schedule, problems = parse_schedule("2027.yaml", text)
>>> [p.code for p in problems][:2]
['MTB507', 'MTB507']
"""

from __future__ import annotations

import difflib
import os
import threading
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from . import statutory
from . import workdays as wd
from ._yaml import YamlDoc, load_yaml
from .diagnostics import ERROR, WARNING, Diagnostic, Location
from .errors import CalendarError, PackError

__all__ = [
    "ENV_VAR",
    "FORMAT",
    "calendar_with",
    "default_calendar",
    "extend_calendar",
    "find_schedule_files",
    "pack_warnings",
    "parse_schedule",
    "read_schedule",
    "read_schedules",
    "render_schedule",
]

#: Environment variable naming schedule files or folders of them (os.pathsep-separated).
ENV_VAR = "MTBRULES_CALENDAR"
FORMAT = 1
#: Folder of a pack that holds its schedule files.
PACK_FOLDER = "calendars"

# Diagnostic codes of schedule files (MTB5xx, docs/diagnostics.md).
BAD_FILE = "MTB505"  # not a schedule: structure, keys, types, unreadable dates
WRONG_YEAR = "MTB506"  # a date outside the file's year
STATUTORY_WORKING = "MTB507"  # a statutory holiday of Article 2 that is not a day off
WEEKDAY_MAKEUP = "MTB508"  # a make-up working day that is not a Saturday or Sunday
TWICE = "MTB509"  # a day listed twice (off and working, or under two festivals)
UNKNOWN_FESTIVAL = "MTB510"  # a festival that is not one of Article 2's seven
NET_DAYS = "MTB511"  # warning: weekdays off minus make-up days differ from Article 2's days
BAD_YEAR = "MTB512"  # a year the calendar cannot take (outside 2004–2099, or not contiguous)

_KEYS = ("format", "year", "source", "url", "holidays", "working_days", "special_holidays")
_WEEKDAYS = "一二三四五六日"


def _diag(code: str, message: str, where: Location, hint: str | None = None, severity=ERROR):
    return Diagnostic(code, message, where, severity=severity, hint=hint)


def parse_schedule(
    path: str, text: str | None = None, rank: int = wd.DEPLOYMENT
) -> tuple[wd.YearSchedule | None, list[Diagnostic]]:
    """Read and check one schedule file: (the schedule or None, every finding).

    The schedule is None when an error was found; warnings leave it usable.
    YAML that cannot be read raises :class:`~mtbrules.errors.PackError`.
    """
    doc = load_yaml(path, text)
    return _Checker(doc, rank).run()


def read_schedule(path: str | os.PathLike, rank: int = wd.DEPLOYMENT) -> wd.YearSchedule:
    """One checked schedule file; CalendarError naming file:line:column if it has errors."""
    try:
        schedule, problems = parse_schedule(str(path), rank=rank)
    except PackError as exc:
        raise CalendarError(str(exc), exc.diagnostics) from None
    errors = [p for p in problems if p.severity == ERROR]
    if schedule is None or errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise CalendarError(str(first) + more, errors)
    return schedule


def find_schedule_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The schedule files named by ``paths``: files as given, folders' ``*.yaml`` in name order."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(path.glob("*.yaml")))
        elif path.is_file():
            out.append(path)
        else:
            message = f"no such schedule file or folder: {path}"
            raise CalendarError(message, [Diagnostic(BAD_FILE, message, Location(str(path)))])
    return out


def read_schedules(
    paths: Iterable[str | os.PathLike], rank: int = wd.DEPLOYMENT
) -> list[wd.YearSchedule]:
    """Every schedule named by ``paths`` (files or folders), checked; two files for one year is an error."""
    schedules: dict[int, tuple[wd.YearSchedule, Path]] = {}
    for path in find_schedule_files(paths):
        schedule = read_schedule(path, rank)
        other = schedules.get(schedule.year)
        if other is not None:
            message = f"a second schedule for {schedule.year} (the first is {other[1]})"
            raise CalendarError(message, [Diagnostic(BAD_YEAR, message, Location(str(path)))])
        schedules[schedule.year] = (schedule, path)
    return [s for s, _ in schedules.values()]


def calendar_with(
    paths: Iterable[str | os.PathLike],
    base: wd.WorkingCalendar | None = None,
    rank: int = wd.DEPLOYMENT,
) -> wd.WorkingCalendar:
    """``base`` (the bundled calendar by default) with the schedules of ``paths`` on top."""
    base = base or wd.WorkingCalendar.official()
    schedules = read_schedules(paths, rank)
    return extend_calendar(base, schedules)


def extend_calendar(
    base: wd.WorkingCalendar, schedules: list[wd.YearSchedule]
) -> wd.WorkingCalendar:
    years = {s.year for s in schedules}
    horizon = statutory.festival_years()
    for s in schedules:
        if s.year not in horizon:
            message = (
                f"{s.year} is outside the years the calendar counts ({horizon.start}–"
                f"{horizon.stop - 1})"
            )
            raise CalendarError(message, [Diagnostic(BAD_YEAR, message, _year_location(s.origin))])
    wanted = set(base.known_years) | years
    missing = sorted(set(range(min(wanted), max(wanted) + 1)) - wanted)
    if missing:
        message = (
            f"official years must follow on from {base.last_year}: a schedule for "
            f"{max(years)} needs one for {', '.join(map(str, missing))} too"
        )
        loc = _year_location(next(s.origin for s in schedules if s.year == max(years)))
        raise CalendarError(message, [Diagnostic(BAD_YEAR, message, loc)])
    return base.with_schedules(schedules)


def _year_location(path: str) -> Location:
    """Where a schedule file says its year (the file alone if it cannot be read)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return Location(path)
    for i, line in enumerate(lines, 1):
        if line.startswith("year:"):
            return Location(path, i, len("year: ") + 1)
    return Location(path)


def pack_warnings(folder: str | os.PathLike) -> list[Diagnostic]:
    """The warnings of a pack's schedule files (its errors stop the pack from loading)."""
    out: list[Diagnostic] = []
    for path in sorted((Path(folder) / PACK_FOLDER).glob("*.yaml")):
        try:
            _, problems = parse_schedule(str(path), rank=wd.PACK)
        except PackError:
            continue
        out.extend(p for p in problems if p.severity != ERROR)
    return out


_lock = threading.Lock()
_default: dict[tuple, wd.WorkingCalendar] = {}


def default_calendar() -> wd.WorkingCalendar:
    """The bundled calendar with the deployment's schedules (``MTBRULES_CALENDAR``) on top.

    Cached per set of files (path, size, modification time), so a schedule
    added to a configured folder is seen by the next pack loaded.
    """
    value = os.environ.get(ENV_VAR, "")
    paths = [p for p in value.split(os.pathsep) if p.strip()]
    if not paths:
        return wd.WorkingCalendar.official()
    files = find_schedule_files(paths)
    try:
        key = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    except OSError as exc:  # removed between listing and reading
        message = f"cannot read schedule file: {exc}"
        raise CalendarError(message, [Diagnostic(BAD_FILE, message, Location(str(exc.filename)))])
    cal = _default.get(key)
    if cal is None:
        with _lock:
            cal = _default.get(key)
            if cal is None:
                cal = extend_calendar(wd.WorkingCalendar.official(), read_schedules(files))
                _default[key] = cal
    return cal


# -- checking -----------------------------------------------------------------


class _Checker:
    def __init__(self, doc: YamlDoc, rank: int):
        self.doc = doc
        self.rank = rank
        self.problems: list[Diagnostic] = []

    def at(self, *path) -> Location:
        return self.doc.location(path)

    def add(self, code: str, message: str, where: Location, hint=None, severity=ERROR):
        self.problems.append(_diag(code, message, where, hint, severity))

    def run(self) -> tuple[wd.YearSchedule | None, list[Diagnostic]]:
        raw = self.doc.value
        if not isinstance(raw, dict):
            self.add(
                BAD_FILE,
                "a schedule file is a mapping (format, year, source, holidays…)",
                self.at(),
            )
            return None, self.problems
        for key in raw:
            if key not in _KEYS:
                close = difflib.get_close_matches(str(key), _KEYS, n=1)
                self.add(
                    BAD_FILE,
                    f"unknown key '{key}'",
                    self.at(key),
                    hint=f"did you mean '{close[0]}'?" if close else "keys: " + ", ".join(_KEYS),
                )
        if raw.get("format") != FORMAT:
            self.add(
                BAD_FILE, f"format must be {FORMAT}, not {raw.get('format')!r}", self.at("format")
            )
        year = raw.get("year")
        if isinstance(year, bool) or not isinstance(year, int):
            self.add(BAD_FILE, f"year must be a whole number, not {year!r}", self.at("year"))
            return None, self.problems
        horizon = statutory.festival_years()
        if year not in horizon:
            self.add(
                BAD_YEAR,
                f"{year} is outside the years the calendar counts ({horizon.start}–{horizon.stop - 1})",
                self.at("year"),
            )
            return None, self.problems
        source = raw.get("source")
        if not isinstance(source, str) or not source.strip():
            self.add(
                BAD_FILE,
                "source must name the notice the schedule comes from",
                self.at("source"),
                hint="e.g. 国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕N号）",
            )
        off = self.days(raw, "holidays", year)
        special = self.days(raw, "special_holidays", year, extra_names=None)
        for d, entry in special.items():
            if d in off:
                self.add(TWICE, f"{_day(d)} is listed twice (also under {off[d][0]})", entry[1])
            else:
                off[d] = entry
        # A make-up day may belong to a special day off (2015-09-06 did).
        on = self.days(raw, "working_days", year, extra_names={n for n, _ in special.values()})
        for d, (name, where) in on.items():
            if d in off:
                self.add(TWICE, f"{_day(d)} is given both as a day off and as a working day", where)
            if d.weekday() < 5:
                self.add(
                    WEEKDAY_MAKEUP,
                    f"make-up working day {_day(d)} is not a Saturday or Sunday: it is a working day anyway",
                    where,
                    hint="a make-up working day (调休 上班) is a weekend day turned into a working day",
                )
        self.statutory(year, off, on)
        if not any(p.severity == ERROR for p in self.problems):
            self.net_days(year, off, on)
        if any(p.severity == ERROR for p in self.problems):
            return None, self.problems
        schedule = wd.YearSchedule(
            year,
            {d: name for d, (name, _) in off.items()},
            {d: name for d, (name, _) in on.items()},
            str(source).strip(),
            self.doc.file,
            self.rank,
        )
        return schedule, self.problems

    def days(
        self, raw: dict, key: str, year: int, extra_names: AbstractSet[str] | None = frozenset()
    ) -> dict[date, tuple[str, Location]]:
        """The days under ``key``, by festival; ``extra_names`` None takes any name."""
        out: dict[date, tuple[str, Location]] = {}
        block = raw.get(key)
        if block is None or block == {}:
            if key == "holidays" and block is None:
                self.add(BAD_FILE, "a schedule lists its days off under `holidays:`", self.at())
            return out
        if not isinstance(block, dict):
            self.add(BAD_FILE, f"`{key}:` maps each festival to its days", self.at(key))
            return out
        for festival, value in block.items():
            where = self.at(key, festival)
            name = statutory.canonical_festival(str(festival))
            if name is None and (extra_names is None or festival in extra_names):
                name = str(festival)
            if name is None:
                close = difflib.get_close_matches(str(festival), statutory.FESTIVALS, n=1)
                self.add(
                    UNKNOWN_FESTIVAL,
                    f"'{festival}' is not a festival of 《全国年节及纪念日放假办法》 Article 2",
                    where,
                    hint=(f"did you mean '{close[0]}'? " if close else "")
                    + "festivals: "
                    + "、".join(statutory.FESTIVALS)
                    + "; a day off decided by a separate notice goes under special_holidays",
                )
                continue
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                item_where = self.at(key, festival, i) if isinstance(value, list) else where
                for d in self.parse_days(item, item_where):
                    if d.year != year:
                        self.add(
                            WRONG_YEAR,
                            f"{_day(d)} is not in {year}",
                            item_where,
                            hint=f"a day of {d.year} belongs in the {d.year} schedule file",
                        )
                        continue
                    if d in out:
                        self.add(
                            TWICE, f"{_day(d)} is listed twice (also under {out[d][0]})", item_where
                        )
                        continue
                    out[d] = (name, item_where)
        return out

    def parse_days(self, item: Any, where: Location) -> list[date]:
        if not isinstance(item, str):
            self.add(
                BAD_FILE,
                f"{item!r} is not a date or a range (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)",
                where,
            )
            return []
        first, sep, last = item.partition("..")
        try:
            a = date.fromisoformat(first.strip())
            b = date.fromisoformat(last.strip()) if sep else a
        except ValueError:
            self.add(
                BAD_FILE,
                f"'{item}' is not a date or a range (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)",
                where,
            )
            return []
        if b < a:
            self.add(BAD_FILE, f"range '{item}' ends before it starts", where)
            return []
        return [a + timedelta(days=i) for i in range((b - a).days + 1)]

    def statutory(self, year: int, off: Mapping, on: Mapping) -> None:
        law = statutory.law_in_force(year)
        texts = {f.name: f.text for f in law.festivals}
        for d, festival in sorted(statutory.statutory_days(year).items()):
            if d in on:
                where = on[d][1]
            elif d.weekday() < 5 and d not in off:
                where = (
                    self.at("holidays", festival)
                    if festival in (self.doc.value.get("holidays") or {})
                    else self.at("holidays")
                )
            else:
                continue
            self.add(
                STATUTORY_WORKING,
                f"{_day(d)} is a statutory holiday ({texts[festival]}, {law.decree}) but the schedule "
                "does not give it off",
                where,
                hint=f"list it under holidays: {festival}",
            )

    def net_days(self, year: int, off: Mapping, on: Mapping) -> None:
        weekdays_off = sum(1 for d in off if d.weekday() < 5)
        net = weekdays_off - len(on)
        due = statutory.law_in_force(year).total_days
        if net != due:
            self.add(
                NET_DAYS,
                f"the schedule gives {net} net days off on weekdays ({weekdays_off} weekdays off, "
                f"{len(on)} make-up working days); Article 2 gives {due}, a weekend holiday made up "
                "on a working day (补假)",
                self.at("holidays"),
                hint="check the notice: a swap across the new year or a special notice can explain it",
                severity=WARNING,
            )


def _day(d: date) -> str:
    return f"{d.isoformat()} (周{_WEEKDAYS[d.weekday()]})"


# -- writing ------------------------------------------------------------------


def render_schedule(schedule: wd.YearSchedule, url: str | None = None) -> str:
    """The schedule file text (format 1): festivals in Article 2's order, runs as ranges."""
    lines = [
        f"# The {schedule.year} holiday schedule (放假调休) for mtbrules; see docs/calendar.md.",
        f"format: {FORMAT}",
        f"year: {schedule.year}",
        f"source: {_quote(schedule.source)}",
    ]
    if url:
        lines.append(f"url: {_quote(url)}")
    festival_days = {d: statutory.canonical_festival(n) for d, n in schedule.holidays.items()}
    special = {d: n for d, n in schedule.holidays.items() if festival_days[d] is None}
    blocks = [
        ("holidays", {d: n for d, n in festival_days.items() if n is not None}),
        ("special_holidays", special),
        (
            "working_days",
            {d: statutory.canonical_festival(n) or n for d, n in schedule.working_days.items()},
        ),
    ]
    for key, days in blocks:
        if key == "special_holidays" and not days:
            continue
        lines.append(f"{key}:" + ("" if days else " {}"))
        by_festival: dict[str, list[date]] = {}
        for d, name in sorted(days.items()):
            by_festival.setdefault(name, []).append(d)
        order = {n: i for i, n in enumerate(statutory.FESTIVALS)}
        for name in sorted(by_festival, key=lambda n: order.get(n, len(order))):
            runs = _runs(sorted(by_festival[name]))
            items = [
                a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}" for a, b in runs
            ]
            value = items[0] if len(items) == 1 else "[" + ", ".join(items) + "]"
            lines.append(f"  {name}: {value}")
    return "\n".join(lines) + "\n"


def _runs(days: list[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for d in days:
        if runs and (d - runs[-1][1]).days == 1:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
