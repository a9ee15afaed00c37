"""`undetermined` (contract amendment 2026-12): a disease outside a catalogue that the pack
declares incomplete is one the source is silent on; the listed diseases are still decided."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from packbuilder import MINI_PACK, write_pack

import mtbrules
from mtbrules.checker import check_folder
from mtbrules.decision import OUTCOMES
from mtbrules.loader import load_pack_folder

BASE = {"service": "certificate", "submitted_on": "2025-09-29"}

INCOMPLETE = MINI_PACK["diseases.yaml"].rstrip(" ") + (
    "        unknown_members:\n"
    "          count_stated: 30\n"
    "          count_named: 2\n"
    "          note: 通知称共30种，只点名两种。\n"
)
NOTE = MINI_PACK["pack.yaml"].rstrip(" ") + (
    "        notes:\n"
    "          - id: list-missing\n"
    "            text: 通知称共30种病种，名单未附出，本包只收录两种。\n"
    "            source: {doc: s1, clause: 一}\n"
    '            acknowledges: ["MTB436"]\n'
)
# An exclusion that reads no disease, and one that does.
REJECTS = MINI_PACK["rules/a.yaml"].rstrip(" ") + (
    "          - id: too_young\n"
    "            title: 未满18岁\n"
    "            source: {doc: s1, clause: 一}\n"
    "            when: age < 18\n"
    "            reject: 未满18岁\n"
    "          - id: asthma_needs_level\n"
    "            title: 哮喘须二级医院确诊\n"
    "            source: {doc: s1, clause: 一}\n"
    "            when: 'hospital_level < 2 and (any d in diseases: d.id == \"asthma\")'\n"
    "            reject: 哮喘须二级及以上医院确诊\n"
)


def case(**kw):
    return {**BASE, **kw}


@pytest.fixture
def incomplete(tmp_path):
    return load_pack_folder(write_pack(tmp_path, {"diseases.yaml": INCOMPLETE, "pack.yaml": NOTE}))


@pytest.fixture
def with_rejects(tmp_path):
    changes = {"diseases.yaml": INCOMPLETE, "pack.yaml": NOTE, "rules/a.yaml": REJECTS}
    return load_pack_folder(write_pack(tmp_path, changes))


class TestOutcome:
    def test_is_one_of_the_outcomes(self):
        assert "undetermined" in OUTCOMES

    def test_complete_catalogue_still_ineligible(self, mini_pack):
        """No unknown_members: outside the catalogue is ineligible, with did-you-mean."""
        d = mini_pack.evaluate(case(diseases=["支气管扩张"]))
        assert d.outcome == "ineligible"
        assert "支气管哮喘" in d.reasons[0].text and d.reasons[0].note is None

    def test_unlisted_disease_is_undetermined(self, incomplete):
        """The reason names the disease and cites the note that acknowledges the silence."""
        d = incomplete.evaluate(case(diseases=["糖尿病"]))
        assert d.outcome == "undetermined"
        (reason,) = d.reasons
        assert reason.rule == "pack:diseases" and reason.note == "list-missing"
        assert reason.source == "s1 一"  # the note's own citation
        assert "糖尿病" in reason.text and "30" in reason.text
        assert d.required_documents == () and d.channels == () and d.deadlines == ()
        assert [p.rule for p in d.path] == ["pack:diseases"]
        assert not d.complete
        assert d.to_dict()["reasons"][0]["note"] == "list-missing"

    def test_did_you_mean_for_a_typo(self, incomplete):
        """A near miss of a listed name is suggested (a typo is the likelier story)."""
        d = incomplete.evaluate(case(diseases=["支气管哮"]))
        assert d.outcome == "undetermined" and "支气管哮喘" in d.reasons[0].text

    def test_mixed_case_answers_the_listed_disease(self, incomplete):
        """One listed, one not: the listed disease gets its documents, channels and deadlines."""
        d = incomplete.evaluate(case(diseases=["支气管哮喘", "糖尿病"]))
        assert d.outcome == "undetermined"
        assert [m.id for m in d.diseases] == ["asthma"]
        assert [x.id for x in d.required_documents] == ["id_or_card", "report"]
        assert [c.id for c in d.channels] == ["counter"]
        assert d.deadline("decision_due").date == "2025-10-15"
        assert d.reasons[0].rule == "pack:diseases" and "糖尿病" in d.reasons[0].text
        # the reason that says what the listed diseases get, from the rule that decides them
        assert d.reasons[1].rule == "general" and "支气管哮喘" in d.reasons[1].text
        assert [p.rule for p in d.path] == ["pack:diseases", "general"]

    def test_mixed_instant_keeps_its_same_day_deadline(self, incomplete):
        d = incomplete.evaluate(case(diseases=["恶性肿瘤", "糖尿病"], materials=["身份证"]))
        assert d.outcome == "undetermined" and d.complete
        assert d.deadline("decision_due").date == d.as_of

    def test_exclusion_whatever_the_disease_is_ineligible(self, with_rejects):
        """A reject that reads no disease holds for the unlisted ones too."""
        d = with_rejects.evaluate(case(diseases=["糖尿病"], age=10))
        assert d.outcome == "ineligible" and [r.rule for r in d.reasons] == ["too_young"]

    def test_exclusion_of_the_listed_disease_only(self, with_rejects):
        """A reject that reads the diseases excludes the listed one, not the unlisted one."""
        d = with_rejects.evaluate(case(diseases=["支气管哮喘", "糖尿病"], hospital_level=1, age=40))
        assert d.outcome == "undetermined"
        assert [r.rule for r in d.reasons] == ["pack:diseases", "asthma_needs_level"]
        assert d.required_documents == () and d.deadlines == ()
        # the same case without the unlisted disease is plainly ineligible
        alone = with_rejects.evaluate(case(diseases=["支气管哮喘"], hospital_level=1, age=40))
        assert alone.outcome == "ineligible"

    def test_without_a_note_cites_the_declaration(self, tmp_path):
        """A pack that declares the catalogue incomplete but has no note: the declaration is cited."""
        pack = load_pack_folder(write_pack(tmp_path, {"diseases.yaml": INCOMPLETE}))
        (reason,) = pack.evaluate(case(diseases=["糖尿病"])).reasons
        assert reason.source == "diseases.yaml unknown_members" and reason.note is None


class TestCheck:
    def test_declaration_without_a_note_is_mtb436(self, tmp_path):
        folder = write_pack(tmp_path, {"diseases.yaml": INCOMPLETE})
        codes = [d.code for d in check_folder(folder).diagnostics]
        assert "MTB436" in codes

    def test_note_acknowledging_it_silences_mtb436(self, tmp_path):
        folder = write_pack(tmp_path, {"diseases.yaml": INCOMPLETE, "pack.yaml": NOTE})
        assert "MTB436" not in [d.code for d in check_folder(folder).diagnostics]

    def test_acknowledgement_without_a_declaration_is_stale(self, tmp_path):
        folder = write_pack(tmp_path, {"pack.yaml": NOTE})
        found = [(d.code, d.severity) for d in check_folder(folder).diagnostics]
        assert ("MTB414", "warning") in found


class TestBuiltInPacks:
    def test_datong_diabetes(self):
        """Done-when of issue 17: the Datong 糖尿病 case is undetermined with its reasons."""
        d = mtbrules.load_pack("datong").evaluate(
            case(submitted_on="2025-03-03", diseases=["糖尿病"], hospital_level=3)
        )
        assert d.outcome == "undetermined"
        (reason,) = d.reasons
        assert reason.note == "disease-list-missing" and "17" in reason.text

    def test_rizhao_mixed(self):
        """Done-when of issue 17: a mixed Rizhao case lists documents for the known disease."""
        d = mtbrules.load_pack("rizhao").evaluate(
            case(
                diseases=["高血压", "慢性阻塞性肺疾病"],
                hospital_level=3,
                insurance_normal=True,
                scheme="employee",
            )
        )
        assert d.outcome == "undetermined"
        assert [m.id for m in d.diseases] == ["hypertension"]
        assert {"id_card", "diagnosis_certificate"} <= {x.id for x in d.required_documents}
        assert d.deadline("decision_due").rule == "centralised_diseases"
        assert d.reasons[0].note == "disease-list-partial"

    @pytest.mark.parametrize("ref", ["datong", "rizhao"])
    def test_incomplete_packs_name_their_note(self, ref):
        um = mtbrules.load_pack(ref).unknown_members
        assert um is not None and um.acknowledged_by is not None


def _outcome_enums(node):
    if isinstance(node, dict):
        if "outcome" in node and isinstance(node["outcome"], dict) and "enum" in node["outcome"]:
            yield node["outcome"]["enum"]
        for v in node.values():
            yield from _outcome_enums(v)
    elif isinstance(node, list):
        for v in node:
            yield from _outcome_enums(v)


class TestEveryCountCountsIt:
    @pytest.mark.parametrize("name", ["decision", "scenario"])
    def test_schemas_list_the_outcomes(self, name):
        schema = json.loads(
            resources.files("mtbrules").joinpath(f"schemas/{name}.schema.json").read_text("utf-8")
        )
        assert list(_outcome_enums(schema)) == [list(OUTCOMES)]

    def test_openapi_lists_the_outcomes(self):
        from mtbrules.service.openapi import FALLBACK_DECISION

        assert FALLBACK_DECISION["properties"]["outcome"]["enum"] == list(OUTCOMES)

    @pytest.mark.parametrize("lang", ["zh", "en"])
    def test_renderers_name_every_outcome(self, lang):
        from mtbrules import explain, render

        for outcome in OUTCOMES:
            assert render._LABELS[lang][outcome]
            assert explain._T[lang]["outcome_names"][outcome]
