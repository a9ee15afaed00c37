"""Provisional counting past the published calendar (issue 17 item 2, docs/calendar.md).

The statutory holidays of 《全国年节及纪念日放假办法》 by rule, their agreement
with the published schedules, the properties of provisional counting and of
its "latest" bound, and the evaluator's provisional deadlines.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mtbrules
from mtbrules import statutory
from mtbrules.workdays import WorkingCalendar, YearSchedule, track

CAL = WorkingCalendar.official()
D = date.fromisoformat
PUBLISHED = range(CAL.first_year, CAL.last_year + 1)


def _rule_calendar(first: int, last: int) -> WorkingCalendar:
    """A calendar whose years first..last are the rule alone: weekends and statutory days off."""
    return WorkingCalendar.from_schedules(
        YearSchedule(y, statutory.statutory_days(y), {}, "rule", "test")
        for y in range(first, last + 1)
    )


RULE = _rule_calendar(CAL.first_year, CAL.last_year)


@functools.cache
def _truncated(last_official: int) -> WorkingCalendar:
    """The official calendar as if nothing after ``last_official`` had been published."""
    return WorkingCalendar.from_schedules(
        CAL.year_schedule(y) for y in range(CAL.first_year, last_official + 1)
    )


class TestStatutoryDays:
    """Article 2 of the 放假办法, version by version, against the published schedules."""

    def test_current_version_is_decree_795(self):
        """Since 2025: 春节 4 days (除夕 to 初三), 劳动节 2 days, 13 days in all."""
        law = statutory.law_in_force(2027)
        assert law.decree == "国务院令第795号" and law.effective_from == date(2025, 1, 1)
        assert law.festival("春节").offsets == (-1, 0, 1, 2)
        assert law.festival("劳动节").offsets == (0, 1)
        assert law.total_days == 13
        assert statutory.law_in_force(2024).total_days == 11

    def test_2027_days(self):
        """2027: 除夕 02-05, 正月初一 02-06, 清明 04-05, 端午 06-09, 中秋 09-15."""
        days = statutory.statutory_days(2027)
        assert sorted(d.isoformat() for d, n in days.items() if n == "春节") == [
            "2027-02-05",
            "2027-02-06",
            "2027-02-07",
            "2027-02-08",
        ]
        assert {
            n: d.isoformat() for d, n in days.items() if n in ("清明节", "端午节", "中秋节")
        } == {
            "清明节": "2027-04-05",
            "端午节": "2027-06-09",
            "中秋节": "2027-09-15",
        }
        assert len(days) == 13

    @pytest.mark.parametrize("year", list(PUBLISHED))
    def test_every_statutory_day_is_off_in_the_published_schedule(self, year):
        """Each day Article 2 gives off (the version in force) is a day off in the official data."""
        working = [d for d in statutory.statutory_days(year) if CAL.is_working_day(d)]
        assert working == []

    @pytest.mark.parametrize("year", list(PUBLISHED))
    def test_festival_dates_lie_in_the_published_festival_blocks(self, year):
        """The computed 春节/端午/中秋/清明 day is a day off the schedule names after that festival."""
        names = CAL.year_schedule(year).holidays
        for festival, day in statutory.festival_dates(year).items():
            if year < 2008 and festival != "春节":
                continue  # 清明, 端午 and 中秋 became holidays in 2008
            named = statutory.canonical_festival(names.get(day, "")) if day in names else None
            if named is None:  # a weekend day the data leaves unnamed: still off
                assert not CAL.is_working_day(day), (festival, day)
            else:
                # 中秋 merged into 国庆 (2020, 2023, 2025) may carry either name.
                assert named in (festival, "国庆节"), (festival, day, named)

    def test_festival_table_shape(self):
        """The table covers 2004–2099; 春节 always falls between 21 January and 20 February."""
        years = statutory.festival_years()
        assert (years.start, years.stop - 1) == (2004, 2099)
        for y in years:
            f = statutory.festival_dates(y)
            assert date(y, 1, 21) <= f["春节"] <= date(y, 2, 20)
            assert date(y, 4, 4) <= f["清明节"] <= date(y, 4, 6)
            # 五月初五 and 八月十五 are 4 and 7 lunar months (plus a leap month at
            # most) after 正月初一: 29 or 30 days each.
            for festival, months, day in (("端午节", 4, 4), ("中秋节", 7, 14)):
                gap = (f[festival] - f["春节"]).days
                assert 29 * months + day <= gap <= 30 * (months + 1) + day, (y, festival)

    def test_generated_files_are_current(self):
        """festivals.json (dates and bounds) is exactly what the generator writes today."""
        from mtbrules.calendars import generate

        text = generate.render_festivals(generate.build_festivals(generate.build()))
        assert text == generate.FESTIVALS_OUTPUT.read_text(encoding="utf-8"), (
            "festivals.json is stale: run python -m mtbrules.calendars.generate"
        )

    def test_table_is_what_the_generator_makes(self):
        """festivals.json is the generator's output from the installed lunar-python (never stale)."""
        from mtbrules.calendars import generate

        for y in (2004, 2027, 2033, 2057, 2099):
            assert generate.festival_dates(y) == {
                k: v.isoformat() for k, v in statutory.festival_dates(y).items()
            }


class TestAgreementWithPublishedYears:
    """Where a published year has no 调休, counting by rule gives the official answer."""

    @given(
        st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 10, 31)),
        st.integers(min_value=1, max_value=40),
    )
    def test_rule_count_matches_where_no_day_was_moved(self, d, n):
        official = CAL.add_working_days(d, n)
        moved = [
            x
            for x in (d + timedelta(days=i) for i in range(1, (official - d).days + 1))
            if CAL.is_working_day(x) != RULE.is_working_day(x)
        ]
        if not moved:
            assert RULE.add_working_days(d, n) == official

    @given(st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31)))
    def test_every_difference_is_a_published_adjustment(self, d):
        """Official and rule differ only on a make-up working day or a day off of a holiday block."""
        if CAL.is_working_day(d) == RULE.is_working_day(d):
            return
        schedule = CAL.year_schedule(d.year)
        if CAL.is_working_day(d):
            assert d in schedule.working_days and d.weekday() >= 5
        else:
            assert d in schedule.holidays and d.weekday() < 5


class TestProvisionalCounting:
    """The properties of counting on provisional years."""

    @given(
        st.dates(min_value=date(2026, 6, 1), max_value=date(2098, 6, 30)),
        st.integers(min_value=1, max_value=120),
        st.integers(min_value=1, max_value=120),
    )
    def test_monotonic(self, d, a, b):
        if a < b:
            assert CAL.add_working_days(d, a) < CAL.add_working_days(d, b)

    @given(
        st.dates(min_value=date(2026, 6, 1), max_value=date(2098, 6, 30)),
        st.integers(min_value=1, max_value=100),
        st.integers(min_value=1, max_value=100),
    )
    def test_composes(self, d, a, b):
        assert CAL.add_working_days(CAL.add_working_days(d, a), b) == CAL.add_working_days(d, a + b)

    @given(
        st.dates(min_value=date(2027, 1, 1), max_value=date(2099, 12, 31)),
    )
    def test_provisional_day_is_weekend_or_statutory(self, d):
        off = not CAL.is_working_day(d)
        assert off == (d.weekday() >= 5 or d in statutory.statutory_days(d.year))

    @given(
        st.dates(min_value=date(2026, 1, 1), max_value=date(2098, 12, 31)),
        st.integers(min_value=-60, max_value=60),
    )
    def test_track_reports_exactly_the_unpublished_years(self, d, n):
        value, provisional = track(lambda: CAL.add_working_days(d, n))
        span = range(min(d, value).year, max(d, value).year + 1)
        unpublished = tuple(y for y in span if y > CAL.last_year)
        if n == 0 or not unpublished:
            assert provisional is None or n == 0 and d.year > CAL.last_year
        else:
            assert provisional is not None and provisional.years == unpublished

    @given(
        st.dates(min_value=date(2026, 6, 1), max_value=date(2098, 6, 30)),
        st.integers(min_value=1, max_value=100),
        st.integers(min_value=1, max_value=100),
    )
    def test_latest_is_no_earlier_and_monotonic(self, d, a, b):
        va, pa = track(lambda: CAL.add_working_days(d, a))
        _, pb = track(lambda: CAL.add_working_days(d, b))
        if pa is not None:
            assert pa.latest >= va
        if pa is not None and pb is not None and a < b:
            assert pa.latest < pb.latest

    @settings(max_examples=300, deadline=None)
    @given(
        st.integers(min_value=2009, max_value=2026),
        st.integers(min_value=0, max_value=420),
        st.integers(min_value=1, max_value=60),
    )
    def test_latest_bounds_the_published_answer_in_hindsight(self, year, offset, n):
        """Pretend ``year`` was unpublished: the official deadline is never after the bound.

        The bounds are learnt from these same years, so this checks the bound's
        construction, not its future; 2015's one-off anniversary days (a
        separate notice) are outside any festival block and are left out.
        """
        start = date(year - 1, 11, 1) + timedelta(days=offset)
        if start.year > year:
            return
        official = CAL.add_working_days(start, n)
        if year == 2015 and start < date(2015, 9, 5) <= official + timedelta(days=1):
            return
        cal = _truncated(year - 1)
        _, provisional = track(lambda: cal.add_working_days(start, n))
        if provisional is not None:
            assert provisional.latest >= official


class TestDeadlines:
    """The evaluator marks provisional deadlines (the done-when case)."""

    CASE: ClassVar[dict] = {
        "service": "certificate",
        "submitted_on": "2026-12-20",
        "diseases": ["高血压"],
    }

    def test_rizhao_2026_12_20_is_provisional_in_2027(self):
        d = mtbrules.load_pack("rizhao").evaluate(self.CASE)
        due = d.deadline("decision_due")
        assert due.provisional and due.date.startswith("2027-")
        out = due.to_dict()
        assert out["provisional"] is True and out["latest"] >= out["date"]
        warning = [w for w in d.warnings if w.startswith("deadline decision_due")]
        assert len(warning) == 1
        assert "2027 holiday schedule" in warning[0] and "国务院令第795号" in warning[0]

    def test_final_deadlines_carry_no_provisional_field(self):
        d = mtbrules.load_pack("rizhao").evaluate({**self.CASE, "submitted_on": "2026-11-02"})
        out = d.deadline("decision_due").to_dict()
        assert "provisional" not in out and "latest" not in out
        assert not any("provisional" in w for w in d.warnings)

    def test_decision_json_matches_schema(self):
        import json
        from importlib import resources

        import jsonschema

        text = (
            resources.files("mtbrules")
            .joinpath("schemas", "decision.schema.json")
            .read_text("utf-8")
        )
        schema = json.loads(text)
        deadline = schema["properties"]["deadlines"]["items"]["properties"]
        assert "provisional" in deadline and "latest" in deadline
        d = mtbrules.load_pack("rizhao").evaluate(self.CASE)
        jsonschema.validate(d.to_dict(), schema)

    def test_conditions_reading_a_provisional_day_warn(self):
        """Jinzhou's reimbursement rules ask is_working_day(submitted_on): in 2027 that is provisional."""
        d = mtbrules.load_pack("jinzhou").evaluate(
            {"service": "reimbursement", "submitted_on": "2027-03-06"}
        )
        assert any(w.startswith("the rules' conditions read days of 2027") for w in d.warnings)
        final = mtbrules.load_pack("jinzhou").evaluate(
            {"service": "reimbursement", "submitted_on": "2026-03-06"}
        )
        assert not any("2027" in w for w in final.warnings)

    def test_explain_keeps_the_provisional_fields(self):
        from mtbrules.explain import explain

        report = explain(mtbrules.load_pack("rizhao"), self.CASE)
        dl = next(x for x in report.outputs["deadlines"] if x["kind"] == "decision_due")
        assert dl["provisional"] is True

    def test_issued_within_working_days_counted_provisionally_warns(self, tmp_path):
        """A 'within N working days' document window that reaches into 2027 says it is provisional."""
        from packbuilder import MINI_PACK, write_pack

        from mtbrules.loader import load_pack_folder

        rules = MINI_PACK["rules/a.yaml"].replace(
            "issued_within: 6 months", "issued_within: 10 working_days"
        )
        meta = MINI_PACK["pack.yaml"].replace("effective_to: 2025-12-31", "effective_to: null")
        pack = load_pack_folder(
            write_pack(tmp_path / "p", {"rules/a.yaml": rules, "pack.yaml": meta})
        )
        d = pack.evaluate(
            {
                "service": "certificate",
                "submitted_on": "2027-02-20",
                "diseases": ["支气管哮喘"],
                "materials": [{"name": "检查报告", "issued_on": "2027-02-10"}],
            }
        )
        assert any(
            w.startswith("the 10 working days window for 检查报告 read days of 2027")
            for w in d.warnings
        )
        # 10 working days before 2027-02-20 by rule: 02-05..02-08 (春节) and weekends are off
        doc = next(r for r in d.required_documents if r.id == "report")
        assert doc.provided
