"""Readable text views of decisions, in Chinese or English.

Pack and case text in the report is shown, not executed (terminal.one_line):
a reason or name cannot move the cursor, recolour the terminal or fake a line.
"""

from __future__ import annotations

from .messages import span
from .terminal import one_line

_LABELS = {
    "zh": {
        "title": "{pack}（版本 {version}）{service} 申请，受理日 {as_of}",
        "outcome": "结论",
        "instant": "即时办结",
        "review": "受理审核",
        "ineligible": "不符合条件",
        "not_covered": "不在本政策范围内",
        "undetermined": "无法确定（政策原文未说明）",
        "diseases": "病种",
        "documents": "所需材料",
        "provided": "已提供",
        "missing": "缺",
        "complete": "材料齐全",
        "incomplete": "材料不全",
        "channels": "办理渠道",
        "deadlines": "期限",
        "reasons": "理由",
        "path": "决定依据",
        "warnings": "提示",
        "or": "或",
    },
    "en": {
        "title": "{pack} (version {version}), {service} application submitted on {as_of}",
        "outcome": "Outcome",
        "instant": "decided on the spot",
        "review": "accepted for review",
        "ineligible": "ineligible",
        "not_covered": "not covered by this policy",
        "undetermined": "undetermined (the source is silent)",
        "diseases": "Diseases",
        "documents": "Required documents",
        "provided": "provided",
        "missing": "missing",
        "complete": "all documents provided",
        "incomplete": "documents missing",
        "channels": "Where to apply",
        "deadlines": "Deadlines",
        "reasons": "Reasons",
        "path": "Decided by",
        "warnings": "Warnings",
        "or": "or",
    },
}

_KINDS = {
    "zh": {
        "decision_due": "办结期限",
        "benefit_start": "待遇开始",
        "valid_until": "有效期至",
        "submission_cutoff": "本期申报截止",
        "pickup_by": "领取期限",
        "move_in_by": "迁入期限",
        "payment_due": "支付期限",
        "file_by": "备案期限",
    },
    "en": {},
}


def _within(issued_within: str, lang: str) -> str:
    """ "6 months" (the JSON value) in the report's language."""
    amount, _, unit = issued_within.partition(" ")
    units = {"working days": "working_days", "days": "days", "weeks": "weeks"}
    units.update({"months": "months", "years": "years"})
    if amount.isdigit() and unit in units:
        return span(int(amount), units[unit], lang)
    return issued_within


def decision_text(decision, pack=None, lang: str = "zh") -> str:
    """The decision as a short report for a person.

    Engine messages are in the language the decision was made in
    (`pack.evaluate(case, lang=…)`); pass the same `lang` here.
    """
    t = _LABELS[lang]
    d = decision
    e = one_line
    lines = [
        t["title"].format(
            pack=e(pack.name if pack is not None and lang == "zh" else d.pack),
            version=e(d.pack_version or "-"),
            service=e(d.service),
            as_of=d.as_of,
        ),
        f"{t['outcome']}: {t[d.outcome]}"
        + (
            f"（{t['complete'] if d.complete else t['incomplete']}）"
            if d.required_documents and lang == "zh"
            else (
                f" ({t['complete'] if d.complete else t['incomplete']})"
                if d.required_documents
                else ""
            )
        ),
    ]
    if d.diseases:
        sep = "、" if lang == "zh" else ", "
        lines.append(f"{t['diseases']}: " + sep.join(e(x.name) for x in d.diseases))
    if d.required_documents:
        lines.append(f"{t['documents']}:")
        for doc in d.required_documents:
            mark = "✓" if doc.provided else "✗"
            name = doc.name if lang == "zh" else doc.name_en
            extra = f" ({_within(doc.issued_within, lang)})" if doc.issued_within else ""
            lines.append(f"  {mark} {e(name)}{e(extra)}  [{e(doc.rule)}; {e(doc.source)}]")
    if d.channels:
        lines.append(f"{t['channels']}:")
        for c in d.channels:
            lines.append(f"  - {e(c.name if lang == 'zh' or not c.name_en else c.name_en)}")
    if d.deadlines:
        lines.append(f"{t['deadlines']}:")
        for dl in d.deadlines:
            kind = _KINDS[lang].get(dl.kind, dl.kind)
            lines.append(f"  {e(kind)}: {dl.date}  ({e(dl.basis)}; {e(dl.rule)}, {e(dl.source)})")
    if d.reasons:
        lines.append(f"{t['reasons']}:")
        for r in d.reasons:
            lines.append(f"  - {e(r.text)}  [{e(r.rule)}; {e(r.source)}]")
    if d.path:
        lines.append(f"{t['path']}:")
        for i, p in enumerate(d.path, 1):
            lines.append(f"  {i}. {e(p.rule)}: {e(p.title)}  [{e(p.source)}]")
    if d.warnings:
        lines.append(f"{t['warnings']}:")
        for w in d.warnings:
            lines.append(f"  ! {e(w)}")
    return "\n".join(lines) + "\n"
