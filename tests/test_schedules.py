"""Schedule files (docs/calendar.md): validation against the 放假办法, precedence, `mtbrules calendar`.

The 2027 schedule used here is a TEST FIXTURE, made up to satisfy Article 2:
it is not the State Council's notice, and it never ships in a pack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest
from packbuilder import MINI_PACK, write_pack

import mtbrules
from mtbrules import schedules
from mtbrules.errors import CalendarError
from mtbrules.loader import load_pack_folder
from mtbrules.workdays import DEPLOYMENT, PACK, WorkingCalendar

CAL = WorkingCalendar.official()

# TEST FIXTURE: a made-up 2027 schedule that satisfies Article 2; not an official notice
# (the one copy, shared with tests/fixtures/bad_packs/make_fixtures.py).
FIXTURE_2027 = (Path(__file__).parent / "fixtures" / "schedule_2027.yaml").read_text(
    encoding="utf-8"
)


def _parse(text: str, name: str = "2027.yaml"):
    return schedules.parse_schedule(name, textwrap.dedent(text))


def _codes(text: str) -> list[str]:
    return [p.code for p in _parse(text)[1]]


def _edit(old: str, new: str) -> str:
    assert old in FIXTURE_2027
    return FIXTURE_2027.replace(old, new)


class TestValidation:
    def test_fixture_is_clean(self):
        schedule, problems = _parse(FIXTURE_2027)
        assert problems == [] and schedule is not None
        assert schedule.year == 2027 and date(2027, 2, 13) in schedule.working_days
        assert schedule.holidays[date(2027, 2, 8)] == "春节"

    @pytest.mark.parametrize("year", range(2004, 2027))
    def test_bundled_years_round_trip(self, year):
        """Every bundled year, written as a schedule file, reads back to the same days, error-free."""
        bundled = CAL.year_schedule(year)
        schedule, problems = _parse(schedules.render_schedule(bundled), f"{year}.yaml")
        assert [p for p in problems if p.severity == "error"] == []
        assert dict(schedule.working_days).keys() == dict(bundled.working_days).keys()
        assert dict(schedule.holidays).keys() == dict(bundled.holidays).keys()

    def test_statutory_day_not_off(self):
        """MTB507: 正月初三 2027-02-08 is a statutory day; a 春节 block that stops before it is wrong."""
        schedule, problems = _parse(_edit("2027-02-05..2027-02-12", "2027-02-05..2027-02-07"))
        assert schedule is None
        (p,) = [p for p in problems if p.code == "MTB507"]
        assert "2027-02-08" in p.message and "国务院令第795号" in p.message
        assert (p.location.line, p.location.col) == (6, 7)

    def test_statutory_day_as_working_day(self):
        """MTB507 (and MTB509): a statutory day listed as a make-up working day."""
        codes = _codes(_edit("  劳动节: 2027-05-08", "  劳动节: [2027-05-08, 2027-05-02]"))
        assert "MTB507" in codes

    def test_weekday_makeup(self):
        """MTB508: a make-up working day must be a Saturday or Sunday, at its file:line:column."""
        _, problems = _parse(_edit("  劳动节: 2027-05-08", "  劳动节: 2027-05-07"))
        (p,) = [p for p in problems if p.code == "MTB508"]
        assert (p.location.line, p.location.col) == (14, 8) and "周五" in p.message

    def test_day_listed_twice(self):
        assert "MTB509" in _codes(
            _edit("  中秋节: 2027-09-15", "  中秋节: [2027-09-15, 2027-10-01]")
        )
        assert "MTB509" in _codes(
            _edit("  劳动节: 2027-05-08", "  劳动节: [2027-05-08, 2027-05-01]")
        )

    def test_unknown_festival(self):
        _, problems = _parse(
            _edit("  中秋节: 2027-09-15", "  中秋: 2027-09-15\n  七夕: 2027-08-08")
        )
        (p,) = [p for p in problems if p.code == "MTB510"]
        assert "七夕" in p.message and "special_holidays" in p.hint

    def test_alias_names_are_accepted(self):
        """清明, 端午, 中秋 (chinesecalendar's names) are the festivals 清明节, 端午节, 中秋节."""
        schedule, problems = _parse(_edit("  中秋节: 2027-09-15", "  中秋: 2027-09-15"))
        assert problems == [] and schedule.holidays[date(2027, 9, 15)] == "中秋节"

    def test_special_holidays(self):
        """A day off by a separate notice goes under special_holidays, unchecked by Article 2."""
        text = FIXTURE_2027.replace(
            "working_days:", "special_holidays:\n  纪念日: 2027-09-03\nworking_days:"
        )
        schedule, problems = _parse(text)
        assert schedule is not None and schedule.holidays[date(2027, 9, 3)] == "纪念日"
        assert [p.code for p in problems] == ["MTB511"]  # one more weekday off than Article 2 gives

    def test_wrong_year(self):
        assert "MTB506" in _codes(
            _edit("  元旦: 2027-01-01..2027-01-03", "  元旦: 2026-12-31..2027-01-03")
        )

    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ("format: 1", "format: 2"),
            ("year: 2027", "year: soon"),
            ('source: "test fixture (not an official notice)"', "source: ''"),
            ("  端午节: 2027-06-09", "  端午节: '2027-06-31'"),
            ("  端午节: 2027-06-09", "  端午节: 2027-06-10..2027-06-09"),
            ("  端午节: 2027-06-09", "  端午节: 9"),
            ("working_days:", "workingdays:"),
        ],
    )
    def test_structure(self, old, new):
        schedule, problems = _parse(_edit(old, new))
        assert schedule is None and "MTB505" in [p.code for p in problems]

    def test_impossible_unquoted_date_is_a_yaml_error(self):
        with pytest.raises(mtbrules.PackError) as info:
            _parse(_edit("  端午节: 2027-06-09", "  端午节: 2027-06-31"))
        assert info.value.diagnostics[0].code == "MTB102"
        assert info.value.diagnostics[0].location.line == 9

    def test_year_outside_the_horizon(self):
        text = FIXTURE_2027.replace("year: 2027", "year: 2100")
        assert "MTB512" in _codes(text)

    def test_net_days_warning(self):
        """MTB511 is a warning: more weekdays off than Article 2 gives, the file still loads."""
        schedule, problems = _parse(_edit("2027-05-01..2027-05-04", "2027-05-01..2027-05-05"))
        assert schedule is not None and [(p.code, p.severity) for p in problems] == [
            ("MTB511", "warning")
        ]

    def test_unreadable_yaml_is_a_calendar_error_with_position(self, tmp_path):
        path = tmp_path / "2027.yaml"
        path.write_text("format: 1\nyear: [2027\n", encoding="utf-8")
        with pytest.raises(CalendarError) as info:
            schedules.read_schedule(path)
        assert info.value.diagnostics[0].location.line >= 2


class TestPrecedence:
    """bundled < pack (calendars/ in the pack) < deployment (MTBRULES_CALENDAR, or a calendar given)."""

    def _pack(self, tmp_path, schedule_text=None):
        meta = MINI_PACK["pack.yaml"].replace("effective_to: 2025-12-31", "effective_to: null")
        files = {"pack.yaml": meta}
        if schedule_text is not None:
            files["calendars/2027.yaml"] = schedule_text
        return write_pack(tmp_path / "p", files)

    def _due(self, pack):
        d = pack.evaluate(
            {"service": "certificate", "submitted_on": "2027-02-01", "diseases": ["支气管哮喘"]}
        )
        return d.deadline("decision_due")

    def test_bundled_alone_is_provisional(self, tmp_path):
        due = self._due(load_pack_folder(self._pack(tmp_path)))
        # 7 working days after 2027-02-01 by rule: 02-02..02-04, (02-05..02-08 off), 02-09..02-12
        assert due.provisional and due.date == "2027-02-12"

    def test_pack_schedule_makes_it_final(self, tmp_path):
        due = self._due(load_pack_folder(self._pack(tmp_path, FIXTURE_2027)))
        # 02-02..02-04, (02-05..02-12 off), 02-13, 02-14 (make-up), 02-15, 02-16
        assert not due.provisional and due.date == "2027-02-16"

    def test_deployment_wins_over_pack(self, tmp_path):
        other = FIXTURE_2027.replace(
            "  春节: [2027-02-13, 2027-02-14]", "  春节: 2027-02-13"
        ).replace("2027-02-05..2027-02-12", "2027-02-05..2027-02-11")
        (tmp_path / "deploy").mkdir()
        (tmp_path / "deploy" / "2027.yaml").write_text(other, encoding="utf-8")
        deployment = schedules.calendar_with([tmp_path / "deploy"])
        assert deployment.year_schedule(2027).rank == DEPLOYMENT
        pack = load_pack_folder(self._pack(tmp_path, FIXTURE_2027), calendar=deployment)
        assert pack.calendar.year_schedule(2027).rank == DEPLOYMENT
        # 02-02..02-04, (02-05..02-11 off), 02-12, 02-13 (make-up), 02-15, 02-16
        due = self._due(pack)
        assert not due.provisional and due.date == "2027-02-16"
        assert pack.calendar.is_working_day(date(2027, 2, 12))

    def test_env_var_is_the_deployment(self, tmp_path, monkeypatch):
        (tmp_path / "deploy").mkdir()
        (tmp_path / "deploy" / "2027.yaml").write_text(FIXTURE_2027, encoding="utf-8")
        monkeypatch.setenv(schedules.ENV_VAR, str(tmp_path / "deploy"))
        cal = schedules.default_calendar()
        assert cal.last_year == 2027 and cal.year_schedule(2027).rank == DEPLOYMENT
        pack = load_pack_folder(self._pack(tmp_path))
        assert not self._due(pack).provisional

    def test_pack_schedule_errors_fail_the_pack_with_position(self, tmp_path):
        bad = FIXTURE_2027.replace("  劳动节: 2027-05-08", "  劳动节: 2027-05-07")
        with pytest.raises(mtbrules.PackError) as info:
            load_pack_folder(self._pack(tmp_path, bad))
        (d,) = [d for d in info.value.diagnostics if d.code == "MTB508"]
        assert d.location.file.endswith("calendars/2027.yaml") and d.location.line == 14

    def test_years_must_follow_on(self, tmp_path):
        (tmp_path / "2028.yaml").write_text(
            FIXTURE_2027.replace("2027", "2028"), encoding="utf-8"
        )  # not a valid 2028 schedule either, but the gap is found first or as well
        with pytest.raises(CalendarError):
            schedules.calendar_with([tmp_path / "2028.yaml"])

    def test_pack_rank(self, tmp_path):
        pack = load_pack_folder(self._pack(tmp_path, FIXTURE_2027))
        assert pack.calendar.year_schedule(2027).rank == PACK


def _run(*args, env=None, cwd=None):
    full = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "mtbrules", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=full,
        cwd=cwd,
    )


class TestDoneWhen:
    """Rizhao, submitted 2026-12-20, 20 working days: provisional in 2027, final once a 2027 file exists."""

    def test_without_then_with_a_2027_schedule(self, tmp_path):
        case = tmp_path / "case.json"
        case.write_text(
            json.dumps(
                {"service": "certificate", "submitted_on": "2026-12-20", "diseases": ["高血压"]}
            ),
            encoding="utf-8",
        )
        env = {schedules.ENV_VAR: str(tmp_path / "calendars"), "MTBRULES_CACHE": "0"}
        (tmp_path / "calendars").mkdir()
        before = _run("eval", str(case), "--pack", "rizhao", env=env)
        assert before.returncode == 0, before.stderr
        decision = json.loads(before.stdout)
        due = next(d for d in decision["deadlines"] if d["kind"] == "decision_due")
        assert due["date"].startswith("2027-") and due["provisional"] is True
        assert any("2027 holiday schedule" in w for w in decision["warnings"])

        added = _run(
            "calendar",
            "add",
            "2027",
            "--source",
            "test fixture (not an official notice)",
            "--holiday",
            "元旦=2027-01-01..2027-01-03",
            "--holiday",
            "春节=2027-02-05..2027-02-12",
            "--holiday",
            "清明节=2027-04-03..2027-04-05",
            "--holiday",
            "劳动节=2027-05-01..2027-05-04",
            "--holiday",
            "端午节=2027-06-09",
            "--holiday",
            "中秋节=2027-09-15",
            "--holiday",
            "国庆节=2027-10-01..2027-10-07",
            "--working-day",
            "春节=2027-02-13,2027-02-14",
            "--working-day",
            "劳动节=2027-05-08",
            "--working-day",
            "国庆节=2027-10-09",
            env=env,
        )
        assert added.returncode == 0, added.stderr
        assert (tmp_path / "calendars" / "2027.yaml").is_file()

        after = _run("eval", str(case), "--pack", "rizhao", env=env)
        assert after.returncode == 0, after.stderr
        decision = json.loads(after.stdout)
        due = next(d for d in decision["deadlines"] if d["kind"] == "decision_due")
        assert "provisional" not in due and due["date"] == "2027-01-18"
        assert not any("provisional" in w for w in decision["warnings"])


class TestCommand:
    def test_show_provisional_and_official(self):
        out = _run("calendar", "show", "2027", "--format", "json")
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        assert doc["status"] == "provisional" and doc["make_up_working_days"] == []
        assert {"date": "2027-02-05", "name": "春节"} in doc["days_off"]
        assert "2027-02-09" in doc["could_also_be_off"]
        official = json.loads(_run("calendar", "show", "2026", "--format", "json").stdout)
        assert official["status"] == "official"
        assert {"date": "2026-02-28", "name": "春节"} in official["make_up_working_days"]

    def test_show_with_a_file(self, tmp_path):
        (tmp_path / "2027.yaml").write_text(FIXTURE_2027, encoding="utf-8")
        out = _run("calendar", "show", "2027", "--calendar", str(tmp_path / "2027.yaml"))
        assert out.returncode == 0 and out.stdout.startswith("2027: official")

    def test_show_outside_is_exit_2(self):
        out = _run("calendar", "show", "2100")
        assert out.returncode == 2 and "Traceback" not in out.stderr

    def test_check(self, tmp_path):
        good = tmp_path / "2027.yaml"
        good.write_text(FIXTURE_2027, encoding="utf-8")
        assert _run("calendar", "check", str(good)).returncode == 0
        bad = tmp_path / "bad" / "2027.yaml"
        bad.parent.mkdir()
        bad.write_text(
            FIXTURE_2027.replace("  劳动节: 2027-05-08", "  劳动节: 2027-05-07"), encoding="utf-8"
        )
        out = _run("calendar", "check", str(bad))
        assert out.returncode == 1 and "2027.yaml:14:8: MTB508" in out.stdout
        assert _run("calendar", "check", str(tmp_path / "missing.yaml")).returncode == 2

    def test_add_refuses_an_invalid_schedule_and_writes_nothing(self, tmp_path):
        out = _run(
            "calendar",
            "add",
            "2027",
            "--source",
            "x",
            "--holiday",
            "元旦=2027-01-01",
            "-o",
            str(tmp_path / "2027.yaml"),
        )
        assert out.returncode == 1 and "MTB507" in out.stderr
        assert not (tmp_path / "2027.yaml").exists()

    def test_add_needs_a_target(self, tmp_path):
        out = _run(
            "calendar",
            "add",
            "2027",
            "--source",
            "x",
            "--holiday",
            "元旦=2027-01-01",
            env={schedules.ENV_VAR: ""},
        )
        assert out.returncode == 2 and "-o FILE" in out.stderr

    def test_add_from_chinesecalendar_without_the_year(self, tmp_path):
        """The installed chinesecalendar (1.11.0) has no 2027: a clear exit 2, nothing written."""
        import chinese_calendar

        if 2027 in {d.year for d in chinese_calendar.holidays}:
            pytest.fail("chinesecalendar now knows 2027: regenerate cn.json (docs/calendar.md)")
        out = _run(
            "calendar", "add", "2027", "--from-chinesecalendar", "-o", str(tmp_path / "x.yaml")
        )
        assert out.returncode == 2 and "no data for 2027" in out.stderr

    def test_add_from_chinesecalendar_a_known_year(self, tmp_path):
        """A year chinesecalendar knows is written as a schedule file that checks clean."""
        target = tmp_path / "2026.yaml"
        out = _run("calendar", "add", "2026", "--from-chinesecalendar", "-o", str(target))
        assert out.returncode == 0, out.stderr
        schedule = schedules.read_schedule(target)
        assert schedule.working_days.keys() == CAL.year_schedule(2026).working_days.keys()
