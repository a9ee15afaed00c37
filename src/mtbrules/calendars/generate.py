"""Generate ``cn.json`` (China's official working-day calendar) and ``festivals.json``.

The ``chinesecalendar`` package (import name ``chinese_calendar``) is the
source of truth for the State Council's yearly holiday schedule (国务院办公厅
关于部分节假日安排的通知): days off and make-up working days (调休). mtbrules
does not import it at run time; this script copies its data into
``cn.json`` next to this file, which :mod:`mtbrules.workdays` loads lazily.

``festivals.json`` holds, for 2004 to 2099, the days of the festivals whose
date moves (春节 = 正月初一, 端午 = 五月初五, 中秋 = 八月十五, from the
``lunar-python`` package; 清明, the solar term, from ``lunar-python`` checked
against chinesecalendar's ``get_solar_terms``), and how far the published
schedules moved days around each festival (the bound of provisional deadlines,
see docs/calendar.md).

Usage (from the repository, with the test dependencies installed)::

    python -m mtbrules.calendars.generate           # rewrite cn.json and festivals.json
    python -m mtbrules.calendars.generate --check   # exit 1 if either is stale

Run it after upgrading chinesecalendar to a release that covers a newly
published year, review the diff of cn.json, run the tests, commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from importlib.metadata import version
from pathlib import Path

import chinese_calendar as cc

from mtbrules import statutory

OUTPUT = Path(__file__).with_name("cn.json")
FORMAT = 1


def build() -> dict:
    """Build the calendar document from the installed chinesecalendar."""

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


# -- festivals.json ---------------------------------------------------------------

FESTIVALS_OUTPUT = Path(__file__).with_name("festivals.json")
#: Festival dates are generated up to this year: lunar-python and chinesecalendar
#: agree on 清明 through 2099 (they differ in 2100), and a schedule that far
#: ahead is not a question anyone asks of this engine.
FESTIVALS_FIRST, FESTIVALS_LAST = 2004, 2099
#: The first year whose schedule follows the seven festivals of today's Article 2
#: (清明, 端午 and 中秋 became holidays in 2008); bounds are learnt from here on.
BOUNDS_FROM = 2008


def festival_dates(year: int) -> dict[str, str]:
    """The days of the movable festivals of ``year``, checked between two sources."""
    from lunar_python import Lunar  # deferred: lunar-python is a test extra, only this needs it

    def solar(lunar_month: int, lunar_day: int) -> dt.date:
        s = Lunar.fromYmd(year, lunar_month, lunar_day).getSolar()
        return dt.date(s.getYear(), s.getMonth(), s.getDay())

    term = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    qingming = dt.date(term.getYear(), term.getMonth(), term.getDay())
    checked = [
        d
        for d, name in cc.get_solar_terms(dt.date(year, 4, 1), dt.date(year, 4, 30))
        if name == "清明"
    ]
    if checked != [qingming]:
        raise SystemExit(f"清明 {year}: lunar-python says {qingming}, chinesecalendar {checked}")
    return {
        "春节": solar(1, 1).isoformat(),
        "清明节": qingming.isoformat(),
        "端午节": solar(5, 5).isoformat(),
        "中秋节": solar(8, 15).isoformat(),
    }


def learn_bounds(calendar_doc: dict, years: dict[str, dict[str, str]]) -> dict[str, dict[str, int]]:
    """How far the published schedules moved days around each festival (see statutory.py).

    Each weekday off that a schedule names after a festival is measured from
    the nearest occurrence of that festival's statutory days; each make-up
    working day likewise. Days off that belong to no festival of Article 2
    (the one-off 2015 anniversary) are not the yearly pattern and are left out.
    """

    def occurrences(name: str, year: int) -> list[tuple[dt.date, dt.date]]:
        out = []
        for y in (year - 1, year, year + 1):
            if str(y) not in years:
                continue
            law = statutory.law_in_force(y).festival(name)
            if law is None:
                continue
            movable = {k: dt.date.fromisoformat(v) for k, v in years[str(y)].items()}
            anchor = statutory.festival_day(name, y, movable)
            days = [anchor + dt.timedelta(days=o) for o in law.offsets]
            out.append((min(days), max(days)))
        return out

    bounds = {
        name: {"off_before": 0, "off_after": 0, "work_before": 0, "work_after": 0}
        for name in statutory.FESTIVALS
    }

    def measure(day: dt.date, name: str, kind: str) -> None:
        festival = statutory.canonical_festival(name)
        if festival is None:
            return
        best = None
        for first, last in occurrences(festival, day.year):
            if first <= day <= last:
                return  # a statutory day itself
            side, distance = (
                ("before", (first - day).days) if day < first else ("after", (day - last).days)
            )
            if best is None or distance < best[1]:
                best = (side, distance)
        if best is not None:
            key = f"{kind}_{best[0]}"
            bounds[festival][key] = max(bounds[festival][key], best[1])

    for year in range(max(BOUNDS_FROM, calendar_doc["first_year"]), calendar_doc["last_year"] + 1):
        block = calendar_doc["years"][str(year)]
        for iso, name in block["holidays"].items():
            day = dt.date.fromisoformat(iso)
            if day.weekday() < 5:
                measure(day, name, "off")
        for iso, name in block["working_days"].items():
            measure(dt.date.fromisoformat(iso), name, "work")
    return bounds


def build_festivals(calendar_doc: dict) -> dict:
    """Build the festivals document: movable festival dates and the learnt bounds."""
    years = {str(y): festival_dates(y) for y in range(FESTIVALS_FIRST, FESTIVALS_LAST + 1)}
    return {
        "format": FORMAT,
        "description": (
            "Days of the movable festivals of 《全国年节及纪念日放假办法》 Article 2, and how far "
            "the published schedules moved days around each festival"
        ),
        "source": {
            "lunar_dates": {"package": "lunar-python", "version": version("lunar-python")},
            "qingming_checked_against": {"package": "chinesecalendar", "version": cc.__version__},
            "bounds_learnt_from": f"cn.json, {BOUNDS_FROM}–{calendar_doc['last_year']}",
        },
        "generated_by": "python -m mtbrules.calendars.generate",
        "first_year": FESTIVALS_FIRST,
        "last_year": FESTIVALS_LAST,
        "bounds": learn_bounds(calendar_doc, years),
        "years": years,
    }


def render_festivals(doc: dict) -> str:
    """One year per line: the file stays short and its diffs readable."""
    head = {k: v for k, v in doc.items() if k != "years"}
    text = json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "years": {\n'
    rows = [
        f"  {json.dumps(year)}: {json.dumps(days, ensure_ascii=False)}"
        for year, days in doc["years"].items()
    ]
    return text + ",\n".join(rows) + "\n }\n}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if cn.json or festivals.json is not up to date"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--festivals-output", type=Path, default=FESTIVALS_OUTPUT)
    args = parser.parse_args(argv)
    doc = build()
    outputs = [
        (args.output, render(doc)),
        (args.festivals_output, render_festivals(build_festivals(doc))),
    ]
    if args.check:
        stale = [
            path
            for path, text in outputs
            if (path.read_text(encoding="utf-8") if path.exists() else "") != text
        ]
        for path in stale:
            print(f"{path} is stale; run python -m mtbrules.calendars.generate", file=sys.stderr)
        if stale:
            return 1
        print("cn.json and festivals.json are up to date")
        return 0
    for path, text in outputs:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
