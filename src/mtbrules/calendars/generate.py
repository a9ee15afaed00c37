"""Generate ``cn.json``, China's official working-day calendar, from chinesecalendar.

The ``chinesecalendar`` package (import name ``chinese_calendar``) is the
source of truth for the State Council's yearly holiday schedule (国务院办公厅
关于部分节假日安排的通知): days off and make-up working days (调休). mtbrules
does not import it at run time; this script copies its data into
``cn.json`` next to this file, which :mod:`mtbrules.workdays` loads lazily.

Usage (from the repository, with the development dependencies installed)::

    python -m mtbrules.calendars.generate           # rewrite cn.json
    python -m mtbrules.calendars.generate --check   # exit 1 if cn.json is stale

Run it after upgrading chinesecalendar to a release that covers a newly
published year, review the diff of cn.json, run the tests, commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

OUTPUT = Path(__file__).with_name("cn.json")
FORMAT = 1


def build() -> dict:
    """Build the calendar document from the installed chinesecalendar."""
    import chinese_calendar as cc  # only needed here, never at run time

    def name(value: str) -> str:
        return cc.Holiday(value).chinese

    years = sorted({d.year for d in cc.holidays} | {d.year for d in cc.workdays})
    first, last = years[0], years[-1]
    if years != list(range(first, last + 1)):
        raise SystemExit(f"chinesecalendar has gaps in its years: {years}")

    doc_years: dict[str, dict] = {}
    for year in range(first, last + 1):
        doc_years[str(year)] = {
            # Every day off the schedule lists, weekends inside a holiday too.
            "holidays": {
                d.isoformat(): name(v) for d, v in sorted(cc.holidays.items()) if d.year == year
            },
            # Weekend days that are working days (调休 make-up days).
            "working_days": {
                d.isoformat(): name(v) for d, v in sorted(cc.workdays.items()) if d.year == year
            },
            # Weekdays given off in exchange for a make-up day (informational).
            "in_lieu": [d.isoformat() for d in sorted(cc.in_lieu_days) if d.year == year],
        }

    doc = {
        "format": FORMAT,
        "description": "China's official working-day calendar (国务院办公厅节假日安排)",
        "rule": (
            "a day is a working day if it is listed in working_days, or if it is "
            "Monday-Friday and not listed in holidays"
        ),
        "source": {
            "package": "chinesecalendar",
            "version": cc.__version__,
            "url": "https://github.com/LKI/chinese-calendar",
        },
        "generated_by": "python -m mtbrules.calendars.generate",
        "first_year": first,
        "last_year": last,
        "years": doc_years,
    }
    _verify(doc, cc)
    return doc


def _verify(doc: dict, cc) -> None:
    """Check the document gives chinese_calendar.is_workday for every day."""
    first, last = doc["first_year"], doc["last_year"]
    off = {d for y in doc["years"].values() for d in y["holidays"]}
    on = {d for y in doc["years"].values() for d in y["working_days"]}
    day = dt.date(first, 1, 1)
    one = dt.timedelta(days=1)
    while day.year <= last:
        iso = day.isoformat()
        ours = iso in on or (day.weekday() < 5 and iso not in off)
        if ours != cc.is_workday(day):
            raise SystemExit(f"generated data disagrees with chinese_calendar on {iso}")
        day += one


def render(doc: dict) -> str:
    """The JSON text, one year per block, stable for reviewable diffs."""
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if cn.json is not up to date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(
                f"{args.output} is stale; run python -m mtbrules.calendars.generate",
                file=sys.stderr,
            )
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
