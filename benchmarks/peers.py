"""The equivalent decision in each engine: `ENGINES[name]()` -> decide(case) -> dict.

Every builder reads its rules from decision.py (one source of truth), builds
the engine's own rule representation once (not timed), and returns a
callable taking a case dict (cases.py) and returning exactly::

    {"outcome": ..., "required_documents": [sorted ids], "decision_due": ... | None}

What each engine is given beyond the case (see README.md, "What each engine
is given"):

- the 7-working-day deadline: engines that can call Python get
  decision.decision_due as a function; zen-engine cannot, so its wrapper puts
  the precomputed `due_if_review` into the input and the graph decides whether
  to use it;
- sorting of required_documents: zen-engine's graph emits rows in id order;
  business-rules, rule-engine, durable-rules and cel-python have no sort the
  rules could use, so their wrappers call sorted() (the floor sorts too).

A builder raises `Unavailable` (with a message run_equivalent.py prints) when
its engine cannot be used: not installed, or (mtbrules) not ready yet.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
from collections.abc import Callable
from typing import Any

try:  # imported as benchmarks.peers, or run from inside benchmarks/
    from . import decision as D
except ImportError:  # pragma: no cover
    import decision as D  # type: ignore[no-redef]

Decide = Callable[[dict], dict]

ALL_DISEASES = frozenset(D.DISEASES)


class Unavailable(Exception):
    """The engine cannot be benchmarked here; the message says why."""


def _require(module: str, pip_name: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Unavailable(
            f"{pip_name} is not installed ({exc}); pip install -r benchmarks/requirements.txt"
        ) from exc


# --- the floor: a hand-written Python function ------------------------------


def build_python() -> Decide:
    group_a, group_b, group_c = D.GROUP_A, D.GROUP_B_SPECIFIC, D.GROUP_C
    instant, due = D.INSTANT, D.decision_due
    a_in, a_out = D.DOCS_A_INPATIENT, D.DOCS_A_OUTPATIENT
    b_common, c_docs, agent_docs, id_docs = D.DOCS_B_COMMON, D.DOCS_C, D.DOCS_AGENT, D.DOCS_ID

    def decide(case: dict) -> dict:
        disease = case["diseases"][0]
        if disease in group_a:
            docs = list(a_in if case["hospitalized"] else a_out)
        elif disease in group_b:
            docs = [*b_common, group_b[disease]]
        elif disease in group_c:
            docs = list(c_docs)
        else:
            return {"outcome": "ineligible", "required_documents": [], "decision_due": None}
        docs += agent_docs if case["agent"] else id_docs
        docs.sort()
        if disease in instant:
            return {"outcome": "instant", "required_documents": docs, "decision_due": None}
        return {
            "outcome": "review",
            "required_documents": docs,
            "decision_due": due(case["submitted_on"]),
        }

    return decide


# --- GoRules ZEN (zen-engine): a JDM decision graph --------------------------


def _q(value) -> str:
    """A ZEN expression literal."""
    return json.dumps(value, ensure_ascii=False)


def _qlist(values) -> str:
    """A ZEN decision-table cell matching any of the values."""
    return ", ".join(_q(v) for v in sorted(values))


def zen_graph() -> dict:
    """The decision as a JDM graph: two decision tables and one expression node.

    request -> "disease group" (hit policy first: group, instant_disease)
            -> "documents" (hit policy collect into `docs`, rows in id order)
            -> "assemble" (expression node: outcome, required_documents,
               decision_due from the precomputed due_if_review) -> response
    """

    def node(node_id, node_type, name, content=None):
        n = {"id": node_id, "type": node_type, "name": name, "position": {"x": 0, "y": 0}}
        if content is not None:
            n["content"] = content
        return n

    table_opts = {"passThrough": True, "inputField": None, "executionMode": "single"}

    group_rules = [
        {
            "_id": f"b{i}",
            "disease": _q(d),
            "group": _q("B"),
            "instant": "true" if d in D.INSTANT else "false",
        }
        for i, d in enumerate(sorted(D.GROUP_B))
    ]
    group_rules += [
        {
            "_id": "a",
            "disease": _qlist(D.GROUP_A),
            "group": _q("A"),
            "instant": "true" if D.GROUP_A & D.INSTANT else "false",
        },
        {
            "_id": "c_instant",
            "disease": _qlist(D.GROUP_C & D.INSTANT),
            "group": _q("C"),
            "instant": "true",
        },
        {
            "_id": "c",
            "disease": _qlist(D.GROUP_C - D.INSTANT),
            "group": _q("C"),
            "instant": "false",
        },
        {"_id": "none", "disease": "", "group": _q("none"), "instant": "false"},
    ]
    group_table = {
        "hitPolicy": "first",
        "inputs": [{"id": "disease", "name": "disease", "field": "diseases[0]"}],
        "outputs": [
            {"id": "group", "name": "group", "field": "group"},
            {"id": "instant", "name": "instant disease", "field": "instant_disease"},
        ],
        "rules": group_rules,
        "outputPath": None,
        **table_opts,
    }

    rows = []

    def row(doc, group, hospitalized="", agent="", disease=""):
        rows.append(
            {
                "_id": "",
                "group": group,
                "hospitalized": hospitalized,
                "agent": agent,
                "disease": disease,
                "doc": _q(doc),
            }
        )

    for doc in D.DOCS_A_INPATIENT:
        row(doc, _q("A"), hospitalized="true")
    for doc in D.DOCS_A_OUTPATIENT:
        row(doc, _q("A"), hospitalized="false")
    for doc in D.DOCS_B_COMMON:
        row(doc, _q("B"))
    for disease, doc in D.GROUP_B_SPECIFIC.items():
        row(doc, _q("B"), disease=_q(disease))
    for doc in D.DOCS_C:
        row(doc, _q("C"))
    for doc in D.DOCS_ID:
        row(doc, _qlist("ABC"), agent="false")
    for doc in D.DOCS_AGENT:
        row(doc, _qlist("ABC"), agent="true")
    # ZEN's expression language has no sort: the collect table keeps row
    # order, and each case's documents are distinct, so id order suffices.
    rows.sort(key=lambda r: r["doc"])
    for i, r in enumerate(rows):
        r["_id"] = f"r{i}"
    doc_table = {
        "hitPolicy": "collect",
        "inputs": [
            {"id": "group", "name": "group", "field": "group"},
            {"id": "hospitalized", "name": "hospitalized", "field": "hospitalized"},
            {"id": "agent", "name": "agent", "field": "agent"},
            {"id": "disease", "name": "disease", "field": "diseases[0]"},
        ],
        "outputs": [{"id": "doc", "name": "document", "field": "doc"}],
        "rules": rows,
        "outputPath": "docs",
        **table_opts,
    }

    instant = "instant_disease"
    assemble = {
        "expressions": [
            {
                "id": "outcome",
                "key": "outcome",
                "value": f'group == "none" ? "ineligible" : ({instant} ? "instant" : "review")',
            },
            {"id": "docs", "key": "required_documents", "value": "map(docs, #.doc)"},
            {
                "id": "due",
                "key": "decision_due",
                "value": f'group != "none" and not {instant} ? due_if_review : null',
            },
        ],
        "passThrough": False,
        "inputField": None,
        "outputPath": None,
        "executionMode": "single",
    }
    nodes = [
        node("request", "inputNode", "request"),
        node("group", "decisionTableNode", "disease group", group_table),
        node("documents", "decisionTableNode", "documents", doc_table),
        node("assemble", "expressionNode", "assemble", assemble),
        node("response", "outputNode", "response"),
    ]
    chain = ["request", "group", "documents", "assemble", "response"]
    edges = [
        {"id": f"e{i}", "sourceId": a, "targetId": b, "type": "edge"}
        for i, (a, b) in enumerate(itertools.pairwise(chain))
    ]
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


def build_zen() -> Decide:
    zen = _require("zen", "zen-engine")
    engine = zen.ZenEngine()
    graph = engine.create_decision(json.dumps(zen_graph(), ensure_ascii=False))
    evaluate, due = graph.evaluate, D.decision_due

    def decide(case: dict) -> dict:
        ctx = dict(case)
        ctx["due_if_review"] = due(case["submitted_on"])  # precomputed input
        result = evaluate(ctx)["result"]
        # ZEN leaves a key whose expression is null out of its output
        result.setdefault("decision_due", None)
        return result

    decide._keepalive = engine  # type: ignore[attr-defined]
    return decide


# --- business-rules (venmo): JSON rules, Python variables and actions ---------


def business_rules_json() -> list[dict]:
    """The decision as business-rules' JSON rule list (run with run_all)."""

    def shares(values):
        return {
            "name": "diseases",
            "operator": "shares_at_least_one_element_with",
            "value": sorted(values),
        }

    def add(docs):
        return [{"name": "add_document", "params": {"doc": d}} for d in docs]

    hosp = {"name": "hospitalized", "operator": "is_true", "value": True}
    not_hosp = {"name": "hospitalized", "operator": "is_false", "value": True}
    rules = [
        {"conditions": {"all": [shares(D.GROUP_A), hosp]}, "actions": add(D.DOCS_A_INPATIENT)},
        {"conditions": {"all": [shares(D.GROUP_A), not_hosp]}, "actions": add(D.DOCS_A_OUTPATIENT)},
        {"conditions": {"all": [shares(D.GROUP_B)]}, "actions": add(D.DOCS_B_COMMON)},
    ]
    rules += [
        {"conditions": {"all": [shares([disease])]}, "actions": add([doc])}
        for disease, doc in D.GROUP_B_SPECIFIC.items()
    ]
    rules += [
        {"conditions": {"all": [shares(D.GROUP_C)]}, "actions": add(D.DOCS_C)},
        {
            "conditions": {
                "all": [
                    shares(D.DISEASES),
                    {"name": "agent", "operator": "is_false", "value": True},
                ]
            },
            "actions": add(D.DOCS_ID),
        },
        {
            "conditions": {
                "all": [shares(D.DISEASES), {"name": "agent", "operator": "is_true", "value": True}]
            },
            "actions": add(D.DOCS_AGENT),
        },
        {
            "conditions": {
                "all": [
                    {
                        "name": "diseases",
                        "operator": "shares_no_elements_with",
                        "value": sorted(D.DISEASES),
                    }
                ]
            },
            "actions": [{"name": "set_outcome", "params": {"outcome": "ineligible"}}],
        },
        {
            "conditions": {"all": [shares(D.INSTANT)]},
            "actions": [{"name": "set_outcome", "params": {"outcome": "instant"}}],
        },
        {
            "conditions": {
                "all": [
                    shares(D.DISEASES),
                    {
                        "name": "diseases",
                        "operator": "shares_no_elements_with",
                        "value": sorted(D.INSTANT),
                    },
                ]
            },
            "actions": [
                {"name": "set_outcome", "params": {"outcome": "review"}},
                {"name": "set_decision_due", "params": {}},
            ],
        },
    ]
    return rules


def build_business_rules() -> Decide:
    _require("business_rules", "business-rules")
    from business_rules import run_all
    from business_rules.actions import BaseActions, rule_action
    from business_rules.fields import FIELD_TEXT
    from business_rules.variables import (
        BaseVariables,
        boolean_rule_variable,
        select_multiple_rule_variable,
    )

    due = D.decision_due

    class CaseVariables(BaseVariables):
        def __init__(self, case):
            self.case = case

        @select_multiple_rule_variable(options=list(D.DISEASES))
        def diseases(self):
            return self.case["diseases"]

        @boolean_rule_variable
        def agent(self):
            return self.case["agent"]

        @boolean_rule_variable
        def first_application(self):
            return self.case["first_application"]

        @boolean_rule_variable
        def hospitalized(self):
            return self.case["hospitalized"]

    class DecisionActions(BaseActions):
        def __init__(self, case):
            self.case = case
            self.result = {"outcome": None, "required_documents": [], "decision_due": None}

        @rule_action(params={"doc": FIELD_TEXT})
        def add_document(self, doc):
            self.result["required_documents"].append(doc)

        @rule_action(params={"outcome": FIELD_TEXT})
        def set_outcome(self, outcome):
            self.result["outcome"] = outcome

        @rule_action()
        def set_decision_due(self):
            self.result["decision_due"] = due(self.case["submitted_on"])

    rules = business_rules_json()

    def decide(case: dict) -> dict:
        actions = DecisionActions(case)
        run_all(
            rule_list=rules,
            defined_variables=CaseVariables(case),
            defined_actions=actions,
            stop_on_first_trigger=False,
        )
        result = actions.result
        result["required_documents"].sort()
        return result

    return decide


# --- rule-engine (zeroSteiner): expressions over the case --------------------


def _re_set(values) -> str:
    return "{" + ", ".join(_q(v) for v in sorted(values)) + "}"


def rule_engine_rules() -> tuple[list[tuple[str, tuple[str, ...]]], str, str]:
    """(document rules as (expression, docs), outcome expression, due expression)."""
    d0 = "diseases[0]"
    a, b, c = _re_set(D.GROUP_A), _re_set(D.GROUP_B), _re_set(D.GROUP_C)
    doc_rules = [
        (f"{d0} in {a} and hospitalized", D.DOCS_A_INPATIENT),
        (f"{d0} in {a} and not hospitalized", D.DOCS_A_OUTPATIENT),
        (f"{d0} in {b}", D.DOCS_B_COMMON),
        *((f"{d0} == {_q(disease)}", (doc,)) for disease, doc in D.GROUP_B_SPECIFIC.items()),
        (f"{d0} in {c}", D.DOCS_C),
        (f"{d0} in {_re_set(D.DISEASES)} and not agent", D.DOCS_ID),
        (f"{d0} in {_re_set(D.DISEASES)} and agent", D.DOCS_AGENT),
    ]
    instant = f"({d0} in {_re_set(D.INSTANT)})"
    outcome = f'{d0} in {_re_set(D.DISEASES)} ? ({instant} ? "instant" : "review") : "ineligible"'
    due = 'outcome == "review" ? due(submitted_on) : null'
    return doc_rules, outcome, due


def build_rule_engine() -> Decide:
    rule_engine = _require("rule_engine", "rule-engine")
    helpers = {"due": D.decision_due}

    def resolver(thing, name):
        if name in helpers:
            return helpers[name]
        return thing[name]

    context = rule_engine.Context(resolver=resolver)
    doc_exprs, outcome_expr, due_expr = rule_engine_rules()
    doc_rules = [(rule_engine.Rule(e, context=context), docs) for e, docs in doc_exprs]
    outcome_rule = rule_engine.Rule(outcome_expr, context=context)
    due_rule = rule_engine.Rule(due_expr, context=context)

    def decide(case: dict) -> dict:
        docs = []
        for rule, rule_docs in doc_rules:
            if rule.matches(case):
                docs.extend(rule_docs)
        docs.sort()
        outcome = outcome_rule.evaluate(case)
        return {
            "outcome": outcome,
            "required_documents": docs,
            "decision_due": due_rule.evaluate({**case, "outcome": outcome}),
        }

    return decide


# --- cel-python: one CEL expression returning the decision map ---------------

CEL_SETS = {  # declared once as CEL maps (key lookup) and bound as variables
    "covered": D.DISEASES,
    "instant": D.INSTANT,
    "group_a": D.GROUP_A,
    "group_b": D.GROUP_B,
}


def cel_expression() -> str:
    """The decision as one CEL expression; the disease sets are variables.

    (Writing the 56 names as list literals inside the expression made
    cel-python 0.5.0 about 3x slower: it rebuilds literals on every call.)
    """

    def lst(values):
        return "[" + ", ".join(_q(v) for v in values) + "]"

    d0 = "diseases[0]"
    specific = (
        " : ".join(f"{d0} == {_q(dis)} ? [{_q(doc)}]" for dis, doc in D.GROUP_B_SPECIFIC.items())
        + " : []"
    )
    docs = (
        f"({d0} in group_a ? (hospitalized ? {lst(D.DOCS_A_INPATIENT)} "
        f": {lst(D.DOCS_A_OUTPATIENT)}) "
        f": {d0} in group_b ? {lst(D.DOCS_B_COMMON)} + ({specific}) "
        f": {lst(D.DOCS_C)}) + (agent ? {lst(D.DOCS_AGENT)} : {lst(D.DOCS_ID)})"
    )
    return (
        f"!({d0} in covered) "
        f'? {{"outcome": "ineligible", "required_documents": [], "decision_due": null}} '
        f": ({d0} in instant) "
        f'? {{"outcome": "instant", "required_documents": {docs}, "decision_due": null}} '
        f': {{"outcome": "review", "required_documents": {docs}, '
        f'"decision_due": due(submitted_on)}}'
    )


def build_cel() -> Decide:
    celpy = _require("celpy", "cel-python")
    from celpy import celtypes

    due = D.decision_due
    String = celtypes.StringType
    env = celpy.Environment()
    program = env.program(
        env.compile(cel_expression()), functions={"due": lambda s: String(due(s))}
    )
    sets = {
        name: celtypes.MapType({String(v): celtypes.BoolType(True) for v in values})
        for name, values in CEL_SETS.items()
    }
    json_to_cel = celpy.json_to_cel
    k_outcome, k_docs, k_due = (
        String("outcome"),
        String("required_documents"),
        String("decision_due"),
    )

    def decide(case: dict) -> dict:
        activation = json_to_cel(case)
        activation.update(sets)
        r = program.evaluate(activation)
        due_value = r[k_due]
        return {
            "outcome": str(r[k_outcome]),
            "required_documents": sorted(str(d) for d in r[k_docs]),
            "decision_due": None if due_value is None else str(due_value),
        }

    return decide


# --- durable-rules: a Rete ruleset over one asserted fact per case ------------

_durable_count = 0


def build_durable() -> Decide:
    _require("durable.lang", "durable-rules")
    from functools import reduce

    from durable.lang import assert_fact, m, retract_fact, ruleset, when_all

    global _durable_count
    _durable_count += 1
    name = f"qingdao_equivalent_{_durable_count}"  # rulesets are process-global
    due = D.decision_due
    current: dict = {}  # the result being built for the fact being evaluated

    def any_of(values):
        return reduce(lambda a, b: a | b, [m.disease == v for v in sorted(values)])

    def none_of(values):
        return reduce(lambda a, b: a & b, [m.disease != v for v in sorted(values)])

    def adds(docs):
        def action(c):
            current["required_documents"].extend(docs)

        return action

    def set_outcome(outcome, with_due=False):
        def action(c):
            current["outcome"] = outcome
            if with_due:
                current["decision_due"] = due(c.m.submitted_on)

        return action

    covered, instant = frozenset(D.DISEASES), D.INSTANT
    with ruleset(name):
        when_all(any_of(D.GROUP_A) & (m.hospitalized == True))(adds(D.DOCS_A_INPATIENT))
        when_all(any_of(D.GROUP_A) & (m.hospitalized == False))(adds(D.DOCS_A_OUTPATIENT))
        when_all(any_of(D.GROUP_B))(adds(D.DOCS_B_COMMON))
        for disease, doc in D.GROUP_B_SPECIFIC.items():
            when_all(m.disease == disease)(adds((doc,)))
        when_all(any_of(D.GROUP_C))(adds(D.DOCS_C))
        when_all(any_of(covered) & (m.agent == False))(adds(D.DOCS_ID))
        when_all(any_of(covered) & (m.agent == True))(adds(D.DOCS_AGENT))
        when_all(none_of(covered))(set_outcome("ineligible"))
        when_all(any_of(instant))(set_outcome("instant"))
        when_all(any_of(covered - instant))(set_outcome("review", with_due=True))

    counter = [0]

    def decide(case: dict) -> dict:
        counter[0] += 1
        fact = {
            "id": counter[0],
            "disease": case["diseases"][0],
            "agent": case["agent"],
            "first_application": case["first_application"],
            "hospitalized": case["hospitalized"],
            "submitted_on": case["submitted_on"],
        }
        current.clear()
        current.update(outcome=None, required_documents=[], decision_due=None)
        assert_fact(name, fact)
        retract_fact(name, fact)
        result = dict(current)
        result["required_documents"] = sorted(result["required_documents"])
        return result

    return decide


# --- mtbrules: the hook ------------------------------------------------------
#
# When the Qingdao pack exists, adapting this side takes ONE table:
# MTBRULES_DOC_IDS maps the pack's document ids onto decision.DOCUMENTS ids.
# A pack id missing from it is matched by normalised name (punctuation and
# spaces dropped) against decision.DOCUMENTS; what matches neither is kept as
# "unmapped:<id>" so that the equivalence check fails loudly and names it.

MTBRULES_PACK = "qingdao"
MTBRULES_DOC_IDS: dict[str, str] = {  # policies/qingdao/documents.yaml id -> ours
    "inpatient_diagnosis_record": "a_inpatient_record",
    "treatment_materials": "a_treatment_materials",
    "complication_exam_materials": "a_complication_tests",
    "outpatient_diagnosis_record": "a_outpatient_diagnosis",
    "systematic_outpatient_records": "a_outpatient_2y_records",
    "exam_report_forms": "a_test_reports",
    "medication_details": "a_medication_details",
    "discharge_record": "discharge_record",
    "id_or_ss_card": "id_card_or_ssc",
    "pathology_report": "b_pathology_report",
    "operation_record": "b_operation_record",
    "dialysis_records": "b_dialysis_records",
    "bone_marrow_report": "b_bone_marrow_report",
    "long_term_outpatient_records": "c_outpatient_long_term_records",
    "medication_invoices": "c_medication_invoices",
    "exam_reports": "c_test_reports",
    "patient_id_or_ss_card": "agent_patient_id",
    "agent_id_or_ss_card": "agent_own_id",
}


def _normalise(name: str) -> str:
    import re

    return re.sub(r"[\s()（）《》“”\"'、,，.。:：;；/\-]", "", name)


@functools.cache
def _doc_ids_by_name() -> dict[str, str]:
    """Normalised document name -> benchmark id (built once, not per case)."""
    return {_normalise(n): i for i, n in D.DOCUMENTS.items()}


def mtbrules_case(case: dict) -> dict:
    """The benchmark case as a CONTRACT.md case (service: certificate)."""
    return {"service": "certificate", **case}


def mtbrules_result(decision: dict) -> dict:
    """A CONTRACT.md Decision dict mapped to the benchmark's output."""
    by_name = _doc_ids_by_name()
    docs = []
    for doc in decision.get("required_documents", []):
        mapped = MTBRULES_DOC_IDS.get(doc.get("id")) or by_name.get(_normalise(doc.get("name", "")))
        docs.append(mapped or f"unmapped:{doc.get('id')}")
    due = [d["date"] for d in decision.get("deadlines", []) if d.get("kind") == "decision_due"]
    return {
        "outcome": decision["outcome"],
        "required_documents": sorted(docs),
        # An instant decision is due the day it is made (contract amendment 2026-12); the
        # benchmark's answer has no due date for it (README: "instant or 7 working days").
        "decision_due": due[0] if due and decision["outcome"] != "instant" else None,
    }


def build_mtbrules() -> Decide:
    mtbrules = _require("mtbrules", "mtbrules")
    if not hasattr(mtbrules, "load_pack"):
        raise Unavailable("mtbrules.load_pack is not available yet (engine not built)")
    try:
        pack = mtbrules.load_pack(MTBRULES_PACK)
    except Exception as exc:
        raise Unavailable(
            f"mtbrules.load_pack({MTBRULES_PACK!r}) failed: {type(exc).__name__}: {exc}"
        ) from exc
    evaluate = pack.evaluate

    def decide(case: dict) -> dict:
        return mtbrules_result(evaluate(mtbrules_case(case)).to_dict())

    return decide


EQUIVALENT_PACK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "packs", "equivalent")


def build_mtbrules_equivalent() -> Decide:
    """The equivalent decision as its own mtbrules pack (benchmarks/packs/equivalent,
    generated from decision.py): what mtbrules costs on exactly this decision.
    The answer is read from the Decision object (document ids are the benchmark's)."""
    mtbrules = _require("mtbrules", "mtbrules")
    try:
        pack = mtbrules.load_pack(EQUIVALENT_PACK)
    except Exception as exc:
        raise Unavailable(
            f"mtbrules.load_pack(benchmarks/packs/equivalent) failed: {type(exc).__name__}: {exc}"
        ) from exc
    return equivalent_answer(pack.evaluate)


def equivalent_answer(evaluate: Callable[[dict], Any]) -> Decide:
    """The benchmark's answer read from the Decision `evaluate` gives (the equivalent pack)."""

    def decide(case: dict) -> dict:
        d = evaluate({"service": "certificate", **case})
        due = None
        for deadline in d.deadlines:
            if deadline.kind == "decision_due" and d.outcome != "instant":  # as mtbrules_result
                due = deadline.date
        return {
            "outcome": d.outcome,
            "required_documents": sorted(r.id for r in d.required_documents),
            "decision_due": due,
        }

    return decide


# --- the registry ------------------------------------------------------------

FLOOR = "python"
ENGINES: dict[str, Callable[[], Decide]] = {
    FLOOR: build_python,
    "mtbrules": build_mtbrules,  # the Qingdao policy pack, its answer mapped back
    "mtbrules-equivalent": build_mtbrules_equivalent,  # benchmarks/packs/equivalent
    "zen-engine": build_zen,
    "business-rules": build_business_rules,
    "rule-engine": build_rule_engine,
    "cel-python": build_cel,
    "durable-rules": build_durable,
}


if __name__ == "__main__":  # dump the engines' rule texts for inspection
    import sys

    what = sys.argv[1] if len(sys.argv) > 1 else "zen"
    if what == "zen":
        print(json.dumps(zen_graph(), ensure_ascii=False, indent=2))
    elif what == "business-rules":
        print(json.dumps(business_rules_json(), ensure_ascii=False, indent=2))
    elif what == "rule-engine":
        docs, outcome, due = rule_engine_rules()
        print("\n".join(f"{e}  ->  {list(d)}" for e, d in docs))
        print("outcome:", outcome)
        print("decision_due:", due)
    elif what == "cel":
        print(cel_expression())
    else:
        sys.exit("usage: python benchmarks/peers.py [zen|business-rules|rule-engine|cel]")
