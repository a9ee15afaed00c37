"""The benchmark's "equivalent decision": the data every engine is given.

This is a *benchmark* decision, a small slice of the Qingdao guide (seed
000_5dc51fc6ffdeb31c.txt, section 二), defined precisely in
benchmarks/README.md. It is not the mtbrules Qingdao pack and makes no policy
ruling beyond what the README states. Every engine in peers.py is built from
the tables below, so a change here changes all of them at once.

Input case::

    {"diseases": [name], "agent": bool, "first_application": bool,
     "hospitalized": bool, "submitted_on": "YYYY-MM-DD"}

Output (canonical form, compared with ==)::

    {"outcome": "instant" | "review" | "ineligible",
     "required_documents": sorted list of DOCUMENTS ids,
     "decision_due": "YYYY-MM-DD" | None}
"""

from __future__ import annotations

import bisect
import datetime as _dt

# --- diseases ---------------------------------------------------------------

# Section 一, the 56 diseases, names exactly as the seed writes them.
DISEASES: tuple[str, ...] = (
    "尿毒症透析治疗",
    "恶性肿瘤",
    "器官移植",
    "白血病",
    "高血压病合并心、脑、肾等并发症",
    "脑卒中后遗症",
    "慢性心功能不全",
    "糖尿病合并心、脑、肾、眼等并发症",
    "特发性肺纤维化",
    "支气管哮喘",
    "支气管扩张症",
    "肾病综合征",
    "慢性肾功能不全",
    "再生障碍性贫血",
    "溶血性贫血",
    "骨髓增生异常综合征",
    "真性红细胞增多症",
    "原发性血小板增多症",
    "原发性骨髓纤维化",
    "过敏性紫癜并肾病",
    "特发性血小板减少性紫癜(原发性免疫性血小板减少症)",
    "尿崩症",
    "皮质醇增多症(库欣综合征)",
    "原发性醛固酮增多症",
    "类风湿性关节炎(活动期)",
    "系统性红斑狼疮",
    "结节性多动脉炎",
    "白塞氏病(贝赫切特病)",
    "系统性硬化症",
    "多发性(皮)肌炎",
    "脂膜炎",
    "癫痫",
    "帕金森氏病",
    "多发性硬化",
    "重症肌无力",
    "运动神经元病",
    "肢端坏疽",
    "股骨头缺血性坏死",
    "结核病",
    "精神病",
    "干燥综合征",
    "自身免疫性肝病",
    "肝豆状核变性",
    "颅内良性肿瘤综合治疗",
    "慢性乙型病毒性肝炎、肝硬化",
    "慢性丙型病毒性肝炎",
    "心、脑、大动脉血管疾病术后综合治疗",
    "血友病",
    "肢端肥大症",
    "原发性肺动脉高压",
    "苯丙酮尿症",
    "强直性脊柱炎",
    "克罗恩病",
    "戈谢氏病",
    "生长激素治疗类矮身材疾病",
    "原发性免疫球蛋白缺乏症",
)
assert len(DISEASES) == 56 and len(set(DISEASES)) == 56

# Names the benchmark also draws that are NOT on the list: outcome ineligible.
# (Deliberately unrelated to any listed disease, so no alias question arises.)
UNCOVERED: tuple[str, ...] = ("普通感冒", "急性阑尾炎", "龋齿")

# 二(二)1: group A, hypertension / diabetes with complications.
GROUP_A: frozenset[str] = frozenset(
    {
        "高血压病合并心、脑、肾等并发症",
        "糖尿病合并心、脑、肾、眼等并发症",
    }
)

# 二(二)2: group B and each disease's specific record. The guide says 尿毒症;
# the list's item 1 is 尿毒症透析治疗.
GROUP_B_SPECIFIC: dict[str, str] = {
    "恶性肿瘤": "b_pathology_report",
    "器官移植": "b_operation_record",
    "尿毒症透析治疗": "b_dialysis_records",
    "白血病": "b_bone_marrow_report",
}
GROUP_B: frozenset[str] = frozenset(GROUP_B_SPECIFIC)

# 二(一)2: the 12 diseases named for instant handling of first applications
# at hospitals (二(三)2 says "恶性肿瘤、白血病等23种"; the other 11 are not
# named anywhere in the seed, so the benchmark uses the 12 named ones).
INSTANT: frozenset[str] = frozenset(
    {
        "恶性肿瘤",
        "白血病",
        "再生障碍性贫血",
        "溶血性贫血",
        "骨髓增生异常综合征",
        "真性红细胞增多症",
        "原发性血小板增多症",
        "原发性骨髓纤维化",
        "过敏性紫癜并肾病",
        "特发性血小板减少性紫癜(原发性免疫性血小板减少症)",
        "血友病",
        "结核病",
    }
)

GROUP_C: frozenset[str] = frozenset(DISEASES) - GROUP_A - GROUP_B
assert INSTANT <= frozenset(DISEASES)


def group_of(disease: str) -> str:
    """'A', 'B', 'C', or 'none' (not covered)."""
    if disease in GROUP_A:
        return "A"
    if disease in GROUP_B:
        return "B"
    if disease in GROUP_C:
        return "C"
    return "none"


# --- documents --------------------------------------------------------------

# The benchmark's document ids and the seed's wording. THE one table of ids:
# an engine whose ids differ (mtbrules) is mapped onto these in
# peers.MTBRULES_DOC_IDS.
DOCUMENTS: dict[str, str] = {
    # group A, diagnosed in hospital (二(二)1⑴)
    "a_inpatient_record": "住院确诊病历",
    # "相关治疗以及并发症的客观检查材料" read as two items, as the mtbrules pack does
    "a_treatment_materials": "相关治疗材料",
    "a_complication_tests": "并发症的客观检查材料",
    # group A, not diagnosed in hospital (二(二)1⑵)
    "a_outpatient_diagnosis": "二级或以上医院临床确诊的门诊病历",
    "a_outpatient_2y_records": "持续两年以上系统门诊治疗的门诊病历",
    "a_test_reports": "相关检查材料报告单",
    "a_medication_details": "相关用药明细",
    # identity, every listed disease, not with an agent (二(一), 二(二)2(3), 4(4))
    "id_card_or_ssc": "身份证或社保卡",
    # groups B and C (二(二)2, 二(二)4)
    "discharge_record": "相关病种出院记录",
    "b_pathology_report": "病理检查报告单",
    "b_operation_record": "手术记录",
    "b_dialysis_records": "三个月内三次以上透析治疗记录",
    "b_bone_marrow_report": "骨髓检查报告",
    "c_outpatient_long_term_records": "二级或以上医院的门诊长期治疗病历",
    "c_medication_invoices": "相关用药结算发票",
    "c_test_reports": "相关检查检验报告",
    # someone applies for the patient (二(二)5)
    "agent_patient_id": "患者身份证或社会保障卡(原件或复印件)",
    "agent_own_id": "代办人本人身份证或社会保障卡原件",
}

DOCS_A_INPATIENT: tuple[str, ...] = (
    "a_inpatient_record",
    "a_treatment_materials",
    "a_complication_tests",
)
DOCS_A_OUTPATIENT: tuple[str, ...] = (
    "a_outpatient_diagnosis",
    "a_outpatient_2y_records",
    "a_test_reports",
    "a_medication_details",
)
DOCS_B_COMMON: tuple[str, ...] = ("discharge_record",)
DOCS_C: tuple[str, ...] = (
    "discharge_record",
    "c_outpatient_long_term_records",
    "c_medication_invoices",
    "c_test_reports",
)
# Identity, for every listed disease (二(一) "携带身份证或社会保障卡、病历等材料";
# also 二(二)2(3) and 二(二)4(4)): the applicant's own card, or, when someone
# applies for the patient, 二(二)5's two documents instead (the patient's card
# may then be a copy). Same reading as the mtbrules Qingdao pack.
DOCS_ID: tuple[str, ...] = ("id_card_or_ssc",)
DOCS_AGENT: tuple[str, ...] = ("agent_patient_id", "agent_own_id")

REVIEW_WORKING_DAYS = 7  # 二(三)1

# --- calendar ---------------------------------------------------------------

CALENDAR_YEARS = (2024, 2026)  # inclusive; chinesecalendar 1.11.0 knows 2004..2026


def _working_day_ordinals() -> tuple[int, ...]:
    import chinese_calendar  # pip name: chinesecalendar

    start = _dt.date(CALENDAR_YEARS[0], 1, 1).toordinal()
    end = _dt.date(CALENDAR_YEARS[1], 12, 31).toordinal()
    return tuple(
        o for o in range(start, end + 1) if chinese_calendar.is_workday(_dt.date.fromordinal(o))
    )


WORKING_DAYS: tuple[int, ...] = _working_day_ordinals()
_FROMORD = _dt.date.fromordinal


def decision_due(submitted_on: str) -> str:
    """The 7th working day after submitted_on (the day itself not counted).

    The shared helper every engine is given (as a Python function where the
    engine can call one, as a precomputed input field where it cannot).
    Raises ValueError outside the calendar's years: never a silent guess.
    """
    o = _dt.date.fromisoformat(submitted_on).toordinal()
    i = bisect.bisect_right(WORKING_DAYS, o) + REVIEW_WORKING_DAYS - 1
    if o < WORKING_DAYS[0] or i >= len(WORKING_DAYS):
        raise ValueError(f"{submitted_on}: outside the benchmark calendar {CALENDAR_YEARS}")
    return _FROMORD(WORKING_DAYS[i]).isoformat()


def canonical(result: dict) -> dict:
    """The comparison form: exactly the three keys, documents sorted."""
    return {
        "outcome": result["outcome"],
        "required_documents": sorted(result["required_documents"]),
        "decision_due": result["decision_due"],
    }
