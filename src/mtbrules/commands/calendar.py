"""Show, check and add years of the working-day calendar (docs/calendar.md).

`show YEAR` lists a year's days off and make-up working days, and whether they
are official (a published schedule) or provisional (weekends and the statutory
holidays of 《全国年节及纪念日放假办法》). `check FILE…` validates schedule files
against the 放假办法 (exit 0 clean, 1 findings). `add YEAR` writes a schedule
file, checked first, from the notice's days or from an installed chinesecalendar
that already knows the year.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date, timedelta
from pathlib import Path

from ..diagnostics import ERROR, Diagnostic, Location
from ..errors import CalendarError, InputError, PackError

HELP = "show a year of the working-day calendar, check or add schedule files"

_WEEKDAYS = "一二三四五六日"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="calendar_command", metavar="ACTION", required=True)

    show = sub.add_parser("show", help="a year's days off and make-up working days")
    show.add_argument("year", type=int)
    _calendar_options(show)
    show.add_argument("--format", choices=("text", "json"), default="text")

    check = sub.add_parser("check", help="validate schedule files against the 放假办法")
    check.add_argument("paths", nargs="+", metavar="PATH", help="schedule files or folders")
    check.add_argument("--format", choices=("text", "json"), default="text")

    add = sub.add_parser("add", help="write a year's schedule file (checked first)")
    add.add_argument("year", type=int)
    add.add_argument(
        "--holiday",
        action="append",
        default=[],
        metavar="FESTIVAL=DAYS",
        help="days off of a festival: 春节=2027-02-05..2027-02-12 (repeatable; DAYS may be a comma list)",
    )
    add.add_argument(
        "--working-day",
        action="append",
        default=[],
        metavar="FESTIVAL=DAYS",
        help="make-up working days (调休 上班) of a festival: 春节=2027-02-14 (repeatable)",
    )
    add.add_argument(
        "--special-holiday",
        action="append",
        default=[],
        metavar="NAME=DAYS",
        help="days off decided by a separate notice, outside the seven festivals",
    )
    add.add_argument("--source", help="the notice: 国务院办公厅关于2027年部分节假日安排的通知（…）")
    add.add_argument("--url", help="where the notice is published")
    add.add_argument(
        "--from-chinesecalendar",
        action="store_true",
        help="take the year from the installed chinesecalendar package (a release newer than the bundled data)",
    )
    where = add.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="FILE", help="the file to write")
    where.add_argument(
        "--dir",
        metavar="DIR",
        help="write DIR/YEAR.yaml (default: the first folder in $MTBRULES_CALENDAR)",
    )
    add.add_argument("--force", action="store_true", help="overwrite an existing file")


def _calendar_options(parser) -> None:
    parser.add_argument(
        "--calendar",
        action="append",
        default=[],
        metavar="PATH",
        help="schedule files or folders to use on top of the bundled data and $MTBRULES_CALENDAR",
    )
    parser.add_argument(
        "--pack", metavar="REF", help="use this pack's calendar (its calendars/ and additions)"
    )


def run(args) -> int:
    return {"show": _show_year, "check": _check_files, "add": _add_year}[args.calendar_command](
        args
    )


# -- show -----------------------------------------------------------------------


def _show_year(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from .. import schedules, statutory
    from ..registry import load_pack

    if args.pack:
        cal = load_pack(args.pack).calendar
    else:
        cal = schedules.default_calendar()
    if args.calendar:
        cal = schedules.calendar_with(args.calendar, base=cal)
    year = args.year
    if not cal.first_year <= year <= cal.horizon_year:
        message = f"{year} is outside the calendar's years {cal.first_year}–{cal.horizon_year}"
        raise CalendarError(message)
    days = [date(year, 1, 1) + timedelta(days=i) for i in range(366)]
    days = [d for d in days if d.year == year]
    working = {d: cal.is_working_day(d) for d in days}
    if year in cal.known_years:
        schedule = cal.year_schedule(year)
        names = dict(schedule.holidays)
        makeup_names = dict(schedule.working_days)
        info = {
            "status": "official",
            "source": schedule.source,
            "origin": schedule.origin,
        }
        latest_off: list[date] = []
    else:
        law = statutory.law_in_force(year)
        names = statutory.statutory_days(year)
        makeup_names = {}
        info = {
            "status": "provisional",
            "source": f"《全国年节及纪念日放假办法》 Article 2 ({law.decree}); no make-up working days",
            "origin": "rule",
        }
        bound = cal.latest_reading()
        latest_off = [d for d in days if working[d] and not bound.is_working_day(d)]
    off = [d for d in days if not working[d] and (d.weekday() < 5 or d in names)]
    makeup = [d for d in days if working[d] and d.weekday() >= 5]
    doc = {
        "year": year,
        **info,
        "working_days_in_year": sum(working.values()),
        "days_off": [{"date": d.isoformat(), "name": names.get(d, "")} for d in off],
        "make_up_working_days": [
            {"date": d.isoformat(), "name": makeup_names.get(d, "")} for d in makeup
        ],
    }
    if info["status"] == "provisional":
        doc["could_also_be_off"] = [d.isoformat() for d in latest_off]
    if args.format == "json":
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return 0
    print(f"{year}: {info['status']} — {info['source']}")
    if info["origin"] != "rule":
        print(f"  from {info['origin']}")
    print(f"  {doc['working_days_in_year']} working days")
    print("  days off (besides ordinary weekends):")
    for d in off:
        print(f"    {_day(d)}  {names.get(d, '')}")
    print("  make-up working days (调休 上班):" + ("" if makeup else " none"))
    for d in makeup:
        print(f"    {_day(d)}  {makeup_names.get(d, '')}")
    if latest_off:
        print(
            "  could also be off once the schedule is published (the widest holiday blocks "
            "published so far; the bound of provisional deadlines):"
        )
        print("    " + ", ".join(d.isoformat() for d in latest_off))
    return 0


def _day(d: date) -> str:
    return f"{d.isoformat()} 周{_WEEKDAYS[d.weekday()]}"


# -- check ----------------------------------------------------------------------


def _check_files(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from .. import schedules

    found: list[tuple[str, list[Diagnostic]]] = []
    files = schedules.find_schedule_files(args.paths)  # a missing path: exit 2
    by_year: dict[int, str] = {}
    for path in files:
        try:
            schedule, problems = schedules.parse_schedule(str(path))
        except PackError as exc:
            schedule, problems = None, list(exc.diagnostics)
        if schedule is not None:
            if schedule.year in by_year:
                message = (
                    f"a second schedule for {schedule.year} (the first is {by_year[schedule.year]})"
                )
                problems.append(Diagnostic(schedules.BAD_YEAR, message, Location(str(path))))
            by_year[schedule.year] = str(path)
        found.append((str(path), problems))
    if by_year:
        try:
            schedules.extend_calendar(
                schedules.default_calendar(),
                [schedules.read_schedule(p) for p in by_year.values()],
            )
        except CalendarError as exc:
            found.append(("", list(exc.diagnostics)))
    errors = sum(1 for _, ps in found for p in ps if p.severity == ERROR)
    warnings = sum(1 for _, ps in found for p in ps if p.severity != ERROR)
    if args.format == "json":
        out = [{"file": path, "diagnostics": [p.to_dict() for p in ps]} for path, ps in found]
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    else:
        for _, ps in found:
            for p in ps:
                print(f"{p.severity}: {p.render()}")
        print(f"{len(files)} schedule file(s): {errors} error(s), {warnings} warning(s)")
    return 1 if errors else 0


# -- add ------------------------------------------------------------------------


def _add_year(args) -> int:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from .. import schedules

    if args.from_chinesecalendar:
        text = _from_chinesecalendar(args.year, args.source, args.url)
    else:
        if not args.holiday:
            raise InputError(
                "add: give the notice's days off (--holiday FESTIVAL=DAYS), or --from-chinesecalendar"
            )
        if not args.source:
            raise InputError("add: --source must name the notice the days come from")
        text = _from_arguments(args)
    target = _target(args)
    schedule, problems = schedules.parse_schedule(str(target), text)
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        print(f"{p.severity}: {p}", file=sys.stderr)
    if schedule is None or errors:
        print(
            f"mtbrules: {target} not written: the schedule has {len(errors)} error(s)",
            file=sys.stderr,
        )
        return 1
    if target.exists() and not args.force:
        raise InputError(f"{target} exists; use --force to overwrite it")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    print(f"wrote {target}")
    return 0


def _target(args):
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from .. import schedules

    if args.output:
        return Path(args.output)
    folder = args.dir
    if folder is None:
        configured = [p for p in os.environ.get(schedules.ENV_VAR, "").split(os.pathsep) if p]
        folders = [p for p in configured if Path(p).is_dir()]
        if not folders:
            raise InputError(
                f"add: say where to write: -o FILE, --dir DIR, or a folder in ${schedules.ENV_VAR}"
            )
        folder = folders[0]
    return Path(folder) / f"{args.year}.yaml"


def _pairs(values: list[str], option: str) -> list[tuple[str, list[str]]]:
    out = []
    for value in values:
        name, sep, days = value.partition("=")
        if not sep or not name.strip() or not days.strip():
            raise InputError(
                f"add: {option} {value!r}: expected NAME=DAYS (e.g. 春节=2027-02-05..2027-02-12)"
            )
        out.append((name.strip(), [d.strip() for d in days.split(",") if d.strip()]))
    return out


def _from_arguments(args) -> str:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from ..schedules import FORMAT

    lines = [
        f"# The {args.year} holiday schedule (放假调休) for mtbrules; see docs/calendar.md.",
        f"format: {FORMAT}",
        f"year: {args.year}",
        f"source: {json.dumps(args.source, ensure_ascii=False)}",
    ]
    if args.url:
        lines.append(f"url: {json.dumps(args.url, ensure_ascii=False)}")
    for key, values, option in (
        ("holidays", args.holiday, "--holiday"),
        ("special_holidays", args.special_holiday, "--special-holiday"),
        ("working_days", args.working_day, "--working-day"),
    ):
        pairs = _pairs(values, option)
        if not pairs:
            if key == "working_days":
                lines.append("working_days: {}")
            continue
        lines.append(f"{key}:")
        merged: dict[str, list[str]] = {}
        for name, days in pairs:
            merged.setdefault(name, []).extend(days)
        for name, days in merged.items():
            lines.append(f"  {json.dumps(name, ensure_ascii=False)}: {json.dumps(days)}")
    return "\n".join(lines) + "\n"


def _from_chinesecalendar(year: int, source: str | None, url: str | None) -> str:
    # deferred: loaded when the command runs (mtbrules --help stays fast)
    from .. import schedules
    from .. import workdays as wd

    try:
        # deferred: chinesecalendar's data is read only by --from-chinesecalendar
        import chinese_calendar as cc
    except ImportError:
        raise InputError("add: --from-chinesecalendar needs the chinesecalendar package") from None
    holidays = {d: cc.Holiday(v).chinese for d, v in cc.holidays.items() if d.year == year}
    working = {d: cc.Holiday(v).chinese for d, v in cc.workdays.items() if d.year == year}
    if not holidays:
        raise InputError(
            f"add: the installed chinesecalendar {cc.__version__} has no data for {year}; "
            "upgrade it once a release covers the year, or give the notice's days"
        )
    schedule = wd.YearSchedule(
        year,
        holidays,
        working,
        source
        or f"国务院办公厅关于{year}年部分节假日安排的通知 (via chinesecalendar {cc.__version__})",
        "chinesecalendar",
    )
    return schedules.render_schedule(schedule, url)
