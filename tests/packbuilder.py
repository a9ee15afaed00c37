"""A tiny pack written into a temporary folder, file by file, for loader and evaluator tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mtbrules.prepared import PreparedPack

MINI_PACK = {
    "pack.yaml": """
        id: mini
        name: 测试包
        city: 测试市
        sources:
          s1: {title: 测试通知, file: source.txt}
        versions:
          - {id: v1, effective_from: 2024-01-01, effective_to: 2025-12-31}
        services:
          - {id: certificate, name: 认定}
    """,
    "source.txt": "一、一般病种为7个工作日。二、恶性肿瘤即时办理。\n",
    "diseases.yaml": """
        groups:
          - {id: fast, name: 即时病种}
        diseases:
          - {id: tumour, name: 恶性肿瘤, aliases: [癌症], groups: [fast]}
          - {id: asthma, name: 支气管哮喘}
    """,
    "documents.yaml": """
        documents:
          - {id: id_card, name: 身份证, name_en: ID card}
          - {id: ss_card, name: 社会保障卡, name_en: Social security card, aliases: [社保卡]}
          - {id: id_or_card, name: 身份证或社会保障卡, name_en: ID or card, any_of: [id_card, ss_card]}
          - {id: report, name: 检查报告, name_en: Examination report}
    """,
    "channels.yaml": """
        channels:
          - {id: counter, name: 经办窗口, kind: window}
    """,
    "rules/a.yaml": """
        rules:
          - id: general
            title: 一般病种
            source: {doc: s1, clause: 一, quote: 一般病种为7个工作日}
            outcome: review
            require: [id_or_card, {doc: report, issued_within: 6 months}]
            channels: [counter]
            deadlines:
              - kind: decision_due
                date: submitted_on + 7 working_days
          - id: instant
            title: 即时办理
            source: {doc: s1, clause: 二}
            when: 'any d in diseases: "fast" in d.groups'
            overrides: [general]
            outcome: instant
            require: [id_or_card]
    """,
}


def write_pack(root: Path, changes: dict[str, str | None] | None = None) -> Path:
    """Write MINI_PACK under `root`, with `changes` (file name → text, or None to leave it out)."""
    files = dict(MINI_PACK)
    for name, text in (changes or {}).items():
        if text is None:
            files.pop(name, None)
        else:
            files[name] = text
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


class OwnPrepared:
    """`pack` with a PreparedPack of its own whose decision functions keep `entries` (memo)."""

    def __init__(self, pack, entries: int):
        self._pack = pack
        self.prepared = PreparedPack(pack)
        self.prepared.set_decision_memo(entries)

    def __getattr__(self, name):
        return getattr(self._pack, name)
