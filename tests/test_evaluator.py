"""The evaluator on a small pack: outcomes, overrides, conflicts, documents and deadlines."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packbuilder import MINI_PACK, write_pack

import mtbrules
from mtbrules import CalendarError, CaseError, ConflictError, evaluator
from mtbrules.case import parse_case
from mtbrules.decision import OUTCOMES
from mtbrules.loader import load_pack_folder

BASE = {"service": "certificate", "submitted_on": "2025-09-29"}


def case(**kw):
    return {**BASE, **kw}


class TestOutcomes:
    def test_general_rule(self, mini_pack):
        """A disease outside the instant group is reviewed, due 7 working days later (National Day skipped)."""
        d = mini_pack.evaluate(case(diseases=["支气管哮喘"]))
        assert d.outcome == "review"
        assert d.deadline("decision_due").date == "2025-10-15"
        assert d.deadline("decision_due").basis == "7 working days after 2025-09-29"
        assert [p.rule for p in d.path] == ["general"]

    def test_override(self, mini_pack):
        """The specific instant rule overrides the general one: no conflict, and no 7-day limit."""
        d = mini_pack.evaluate(case(diseases=["恶性肿瘤"]))
        assert d.outcome == "instant"
        assert [x.kind for x in d.deadlines] == ["decision_due"]
        assert [p.rule for p in d.path] == ["instant"]


class TestInstantDecisionDue:
    """Contract amendment 2026-12: an instant decision is due on the day of submission."""

    def test_due_on_the_day_of_submission(self, mini_pack):
        """decision_due is submitted_on, cited by the rule that makes the decision instant."""
        d = mini_pack.evaluate(case(diseases=["恶性肿瘤"], submitted_on="2025-10-01"))
        due = d.deadline("decision_due")
        # A holiday (National Day) too: deciding on the spot is not a count of working days.
        assert due.date == "2025-10-01" == d.as_of
        assert due.rule == "instant" and due.source == "s1 二"
        assert "2025-10-01" in due.basis

    def test_review_keeps_its_own_limit(self, mini_pack):
        """Only instant decisions get the same-day deadline."""
        d = mini_pack.evaluate(case(diseases=["支气管哮喘"]))
        assert d.outcome == "review" and d.deadline("decision_due").rule == "general"

    def test_first_deadline_and_json(self, mini_pack):
        """It is a deadline like any other in the contract JSON, listed first."""
        out = mini_pack.evaluate(case(diseases=["恶性肿瘤"])).to_dict()
        assert out["deadlines"][0]["kind"] == "decision_due"
        assert out["deadlines"][0]["date"] == "2025-09-29"

    def test_a_packs_own_decision_due_stands(self, tmp_path):
        """An instant rule that sets decision_due itself is not given a second one."""
        rules = MINI_PACK["rules/a.yaml"].replace(
            "            require: [id_or_card]\n",
            "            require: [id_or_card]\n"
            "            deadlines:\n"
            "              - kind: decision_due\n"
            "                date: submitted_on + 1 day\n",
        )
        pack = load_pack_folder(write_pack(tmp_path, {"rules/a.yaml": rules}))
        d = pack.evaluate(case(diseases=["恶性肿瘤"]))
        assert [(x.kind, x.date) for x in d.deadlines] == [("decision_due", "2025-09-30")]

    def test_ineligible_and_not_covered_have_none(self, mini_pack):
        """Decisions that are not instant get no same-day deadline."""
        assert mini_pack.evaluate(case(diseases=["支气管扩张"])).deadlines == ()
        assert mini_pack.evaluate(case(service="renewal")).deadlines == ()

    def test_traditional_and_alias(self, mini_pack):
        """Traditional characters and aliases find the disease."""
        assert mini_pack.evaluate(case(diseases=["惡性腫瘤"])).diseases[0].id == "tumour"
        assert mini_pack.evaluate(case(diseases=["癌症"])).diseases[0].id == "tumour"

    def test_unknown_disease(self, mini_pack):
        """An uncovered disease is ineligible, with the closest covered names suggested."""
        d = mini_pack.evaluate(case(diseases=["支气管扩张"]))
        assert d.outcome == "ineligible"
        assert d.reasons[0].rule == "pack:diseases"
        assert "支气管哮喘" in d.reasons[0].text

    def test_not_covered_outside_versions(self, mini_pack):
        """A case dated outside every version is not_covered."""
        d = mini_pack.evaluate({**BASE, "submitted_on": "2023-12-31"})
        assert d.outcome == "not_covered" and d.pack_version is None
        assert d.path[0].rule == "pack:versions"

    def test_not_covered_service(self, mini_pack):
        """A contract service the pack has no policy for is not_covered."""
        d = mini_pack.evaluate(case(service="renewal"))
        assert d.outcome == "not_covered" and d.path[0].rule == "pack:services"

    def test_unknown_service_is_input_error(self, mini_pack):
        """A service outside the contract and the pack is an input error naming the allowed values."""
        with pytest.raises(CaseError) as info:
            mini_pack.evaluate(case(service="certficate"))
        assert info.value.field == "service" and "certificate" in str(info.value)


class TestDocuments:
    def test_checklist_without_materials(self, mini_pack):
        """Without materials every required document is listed as not provided, and complete is false."""
        d = mini_pack.evaluate(case(diseases=["支气管哮喘"]))
        assert not d.complete
        assert [x.id for x in d.required_documents] == ["id_or_card", "report"]
        assert d.missing_documents == ("id_or_card", "report")

    def test_alternative(self, mini_pack):
        """Either alternative provides an "A 或 B" document."""
        d = mini_pack.evaluate(case(diseases=["恶性肿瘤"], materials=["社保卡"]))
        assert d.complete and d.required_documents[0].provided

    def test_recency(self, mini_pack):
        """A report must be issued within six months of submission; an older or undated one is missing."""
        fresh = case(
            diseases=["支气管哮喘"],
            materials=["身份证", {"name": "检查报告", "issued_on": "2025-04-01"}],
        )
        assert mini_pack.evaluate(fresh).complete
        stale = case(
            diseases=["支气管哮喘"],
            materials=["身份证", {"name": "检查报告", "issued_on": "2025-03-28"}],
        )
        d = mini_pack.evaluate(stale)
        assert d.missing_documents == ("report",)
        assert any("not within 6 months" in w for w in d.warnings)
        undated = case(diseases=["支气管哮喘"], materials=["身份证", "检查报告"])
        d = mini_pack.evaluate(undated)
        assert d.missing_documents == ("report",) and any("no issued_on" in w for w in d.warnings)

    def test_unknown_material_warns(self, mini_pack):
        """A material the pack does not know is a warning, not an error."""
        d = mini_pack.evaluate(case(diseases=["恶性肿瘤"], materials=["户口本"]))
        assert any("户口本" in w for w in d.warnings)

    def test_every_entry_names_its_rule(self, mini_pack):
        """Every document, deadline and reason names the rule and the clause that produced it."""
        d = mini_pack.evaluate(case(diseases=["支气管哮喘"]))
        for item in d.required_documents + d.deadlines:
            assert item.rule == "general" and item.source == "s1 一"


class TestConflicts:
    def test_conflict_is_an_error(self, tmp_path):
        """Two applying rules that set the outcome with no override between them raise ConflictError."""
        rules = "\n".join(
            line for line in MINI_PACK["rules/a.yaml"].splitlines() if "overrides" not in line
        )
        pack = load_pack_folder(write_pack(tmp_path / "p", {"rules/a.yaml": rules}))
        with pytest.raises(ConflictError) as info:
            pack.evaluate(case(diseases=["恶性肿瘤"]))
        assert "general" in str(info.value) and "instant" in str(info.value)
        assert pack.evaluate(case(diseases=["支气管哮喘"])).outcome == "review"


class TestMissingFields:
    def test_undecided_rule_warns(self, tmp_path):
        """A rule whose condition needs an absent field does not apply, and the decision says which field."""
        rules = (
            MINI_PACK["rules/a.yaml"].rstrip()
            + "\n"
            + (
                "          - id: old\n            title: 老年\n            source: {doc: s1, clause: 一}\n"
                "            when: age >= 60\n            reason: 老年人\n"
            )
        )
        pack = load_pack_folder(write_pack(tmp_path / "p", {"rules/a.yaml": rules}))
        d = pack.evaluate(case(diseases=["支气管哮喘"]))
        assert any("rule old could not be decided" in w and "age" in w for w in d.warnings)
        assert [r.rule for r in pack.evaluate(case(diseases=["支气管哮喘"], age=61)).reasons] == [
            "old"
        ]


class TestCalendar:
    def test_unpublished_year_is_provisional(self, mini_pack, tmp_path):
        """A deadline counted into a year without an official schedule is provisional, with a warning."""
        pack = load_pack_folder(
            write_pack(
                tmp_path / "p",
                {
                    "pack.yaml": MINI_PACK["pack.yaml"].replace(
                        "effective_to: 2025-12-31", "effective_to: null"
                    )
                },
            )
        )
        d = pack.evaluate({**BASE, "submitted_on": "2026-12-28", "diseases": ["支气管哮喘"]})
        due = d.deadline("decision_due")
        assert due.provisional and due.to_dict()["provisional"] is True
        assert any("provisional" in w and "2027" in w for w in d.warnings)
        with pytest.raises(CalendarError):
            pack.evaluate({**BASE, "submitted_on": "2099-12-28", "diseases": ["支气管哮喘"]})

    def test_added_year(self, tmp_path):
        """A user calendar with an added year makes the same case decidable."""
        from mtbrules.workdays import WorkingCalendar

        root = write_pack(
            tmp_path / "p",
            {
                "pack.yaml": MINI_PACK["pack.yaml"].replace(
                    "effective_to: 2025-12-31", "effective_to: null"
                )
            },
        )
        calendar = WorkingCalendar.official().with_days(known_years=[2027], holidays=["2027-01-01"])
        pack = mtbrules.load_pack(root, calendar=calendar)
        d = pack.evaluate({**BASE, "submitted_on": "2026-12-28", "diseases": ["支气管哮喘"]})
        assert d.deadline("decision_due").date == "2027-01-07"


class TestDecisionJson:
    def test_contract_fields(self, mini_pack):
        """to_dict() has every field of CONTRACT §3, and JSON is byte-identical across runs."""
        d = mini_pack.evaluate(case(diseases=["支气管哮喘"], materials=["身份证"]))
        out = d.to_dict()
        assert list(out) == [
            "pack",
            "pack_version",
            "service",
            "as_of",
            "outcome",
            "complete",
            "diseases",
            "required_documents",
            "missing_documents",
            "channels",
            "path",
            "deadlines",
            "reasons",
            "warnings",
        ]
        assert out["channels"] == [{"id": "counter", "name": "经办窗口", "kind": "window"}]
        assert (
            d.to_json()
            == mini_pack.evaluate(case(diseases=["支气管哮喘"], materials=["身份证"])).to_json()
        )
        json.loads(d.to_json())

    def test_decisions_are_immutable(self, mini_pack):
        """A Decision cannot be changed after it is made."""
        import attrs

        d = mini_pack.evaluate(case(diseases=["支气管哮喘"]))
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            d.outcome = "instant"


# ------------------------------------------------------------- properties over the built-in packs


def _case_strategy(pack):
    names = [d.name for d in pack.diseases.values()] + ["不存在的病"]
    docs = [d.name for d in pack.documents.values()]
    cats = [c.id for c in pack.categories.values()]
    return st.fixed_dictionaries(
        {
            "service": st.sampled_from(sorted(pack.services)),
            "submitted_on": st.dates(
                min_value=__import__("datetime").date(2021, 1, 1),
                max_value=__import__("datetime").date(2026, 6, 30),
            ).map(str),
        },
        optional={
            "diseases": st.lists(st.sampled_from(names), max_size=2),
            "materials": st.lists(st.sampled_from(docs), max_size=4) if docs else st.just([]),
            "scheme": st.sampled_from(["employee", "resident"]),
            "retired": st.booleans(),
            "age": st.integers(0, 110),
            "first_application": st.booleans(),
            "hospitalized": st.booleans(),
            "hospital_level": st.integers(1, 3),
            "outpatient_years": st.floats(0, 10),
            "district": st.sampled_from(["市南区", "平度市", "义县", "东港区"]),
            "channel": st.sampled_from(["window", "app", "hospital", "phone", "online"]),
            "agent": st.booleans(),
            **({"category": st.sampled_from(cats)} if cats else {}),
        },
    )


@pytest.mark.parametrize("pack_id", mtbrules.builtin_packs())
def test_any_valid_case_gets_a_sound_decision(pack_id):
    """For any valid case, the decision's documents and channels all exist in the pack's catalogues."""
    pack = mtbrules.load_pack(pack_id)

    @settings(max_examples=150, deadline=None)
    @given(_case_strategy(pack))
    def check(c):
        try:
            d = pack.evaluate(c)
        except (CalendarError, CaseError):
            return  # deadlines past the calendar, or a pack field's missing value: both documented input errors
        assert d.outcome in OUTCOMES
        for doc in d.required_documents:
            assert doc.id in pack.documents
            assert doc.rule in pack.rules_by_id
        for ch in d.channels:
            assert ch.id in pack.channels
        for step in d.path:
            assert step.rule in pack.rules_by_id or step.rule.startswith("pack:")
        assert set(d.missing_documents) <= {x.id for x in d.required_documents}
        if d.outcome in ("ineligible", "not_covered"):
            assert not d.required_documents and not d.deadlines

    check()


def test_a_category_given_by_name_is_read_as_its_id_without_changing_the_case():
    """The case is the caller's: evaluating it leaves its values as they were."""
    pack = mtbrules.load_pack("jinzhou")
    case = parse_case(
        {
            "service": "offsite_filing",
            "category": "异地安置退休人员",
            "submitted_on": "2025-03-03",
        }
    )
    by_id = pack.evaluate(
        {
            "service": "offsite_filing",
            "category": "resettled_retirees",
            "submitted_on": "2025-03-03",
        }
    )
    for decide in (evaluator.evaluate, evaluator.interpreted):
        assert decide(pack, case).to_dict() == by_id.to_dict()
        assert case.values["category"] == "异地安置退休人员"
