"""HTML for notebooks: `Decision`, `Explanation` and `Impact` render themselves with `_repr_html_`.

Each class has a two-line `_repr_html_` that calls one function here, so the
core stays free of markup. The functions read only the objects' public
attributes and `to_dict()`, import nothing else of mtbrules (this module sits
in the lowest layer, beside the model), and escape every text. No script and
no external style: Jupyter, VS Code and GitHub render it as it is.
"""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = "font-family:system-ui,sans-serif;font-size:13px;line-height:1.45"
_OK, _BAD, _MUTED = "#2e7d32", "#c62828", "#6b7580"


def _e(value: Any) -> str:
    return escape(str(value))


def _cite(text: Any) -> str:
    return f'<span style="color:{_MUTED};font-size:11.5px">{_e(text)}</span>'


def decision_html(decision: Any) -> str:
    """A Decision as a person reads it: outcome, documents, deadlines, channels, path."""
    d = decision
    parts = [
        f'<div class="mtbrules-decision" style="{_STYLE}">',
        f"<div><b>{_e(d.pack)}</b> {_cite(d.pack_version or '-')} · {_e(d.service)} · {_e(d.as_of)}</div>",
        f'<div style="font-size:15px;margin:.3em 0"><b>outcome: {_e(d.outcome)}</b>'
        + (
            f' <span style="color:{_OK if d.complete else _BAD}">'
            f"({'complete' if d.complete else 'documents missing'})</span>"
            if d.required_documents
            else ""
        )
        + "</div>",
    ]
    if d.diseases:
        parts.append("<div>diseases: " + "、".join(_e(m.name) for m in d.diseases) + "</div>")
    if d.required_documents:
        items = "".join(
            f'<li style="color:{_OK if doc.provided else _BAD}">{"✓" if doc.provided else "✗"} '
            f"{_e(doc.name)} {_cite(f'{doc.rule} · {doc.source}')}</li>"
            for doc in d.required_documents
        )
        parts.append(f'<div>documents</div><ul style="margin:0;list-style:none">{items}</ul>')
    if d.deadlines:
        rows = "".join(
            f"<tr><td>{_e(x.kind)}</td><td><b>{_e(x.date)}</b></td><td>{_e(x.basis)}</td>"
            f"<td>{_cite(f'{x.rule} · {x.source}')}</td></tr>"
            for x in d.deadlines
        )
        parts.append(f"<table>{rows}</table>")
    if d.channels:
        parts.append("<div>channels: " + "; ".join(_e(c.name) for c in d.channels) + "</div>")
    if d.reasons:
        items = "".join(f"<li>{_e(r.text)} {_cite(r.rule)}</li>" for r in d.reasons)
        parts.append(f'<ul style="margin:0">{items}</ul>')
    if d.warnings:
        items = "".join(f'<li style="color:#b26a00">{_e(w)}</li>' for w in d.warnings)
        parts.append(f'<ul style="margin:0">{items}</ul>')
    if d.path:
        items = "".join(
            f"<li><code>{_e(p.rule)}</code> {_e(p.title)} {_cite(p.source)}</li>" for p in d.path
        )
        parts.append(f"<details><summary>path ({len(d.path)})</summary><ol>{items}</ol></details>")
    parts.append("</div>")
    return "".join(parts)


def _condition(c: dict) -> str:
    value = c.get("value")
    mark, colour = (
        ("✓", _OK) if value is True else (("✗", _BAD) if value is False else ("?", "#8e24aa"))
    )
    seen = c.get("seen") or {}
    shown = "; ".join(f"{k} = {v}" for k, v in seen.items())
    out = f'<li><b style="color:{colour}">{mark}</b> <code>{_e(c["expr"])}</code>' + (
        f" {_cite(shown)}" if shown else ""
    )
    subs = "".join(_condition(p) for p in c.get("parts", ()))
    subs += "".join(
        f"<li>[{_e(i['item'])}]<ul>{_condition(i)}</ul></li>" for i in c.get("items", ())
    )
    if subs:
        out += f'<ul style="list-style:none;padding-left:1.2em">{subs}</ul>'
    return out + "</li>"


def explanation_html(explanation: Any) -> str:
    """An Explanation: the decision, then each rule's status with its condition tree."""
    data = explanation.to_dict()
    rows = []
    for r in data["rules"]:
        tree = (
            f'<ul style="list-style:none;padding-left:1em;margin:0">{_condition(r["condition"])}</ul>'
            if r["condition"]
            else ""
        )
        rows.append(
            f"<details{' open' if r['status'] == 'applied' else ''}><summary>"
            f"<code>{_e(r['rule'])}</code> <b>{_e(r['status'])}</b> {_e(r['title'])} {_cite(r['source'])}"
            f"</summary>{tree}</details>"
        )
    return (
        f'<div class="mtbrules-explanation" style="{_STYLE}">'
        + decision_html(explanation.decision)
        + "<hr>"
        + "".join(rows)
        + "</div>"
    )


def _bars(title: str, groups: list[dict], label) -> str:
    if not groups:
        return ""
    top = max(g["count"] for g in groups) or 1
    rows = "".join(
        f"<tr><td>{_e(label(g))}</td><td style='width:50%'><div style='background:#1565c0;height:.9em;"
        f"width:{max(1, round(100 * g['count'] / top))}%'></div></td><td>{g['count']:,}</td>"
        f"<td>{_cite(', '.join(g['rules']))}</td></tr>"
        for g in groups
    )
    return f"<div><b>{_e(title)}</b></div><table style='width:100%'>{rows}</table>"


def impact_html(impact: Any) -> str:
    """An Impact (`mtbrules.diff.Impact`): the summary, then each kind of change as bars."""
    data = impact.to_dict()
    s = data["summary"]
    head = (
        f"<div><b>{s['changed']:,}</b> of {s['cases']:,} decisions change "
        f"(outcome {s['outcome_changed']:,}, documents {s['documents_changed']:,}, "
        f"deadlines {s['deadlines_changed']:,}, channels {s['channels_changed']:,}; "
        f"{s['errors']:,} fail under one pack only, {s['invalid']:,} invalid)</div>"
    )
    shifts = []
    for g in data["deadlines"]:
        for days, count in (g.get("shift_days") or {}).items():
            shifts.append(
                {"count": count, "rules": g["rules"], "label": f"{g['kind']} {days} days"}
            )
    return (
        f'<div class="mtbrules-impact" style="{_STYLE}">'
        + head
        + _bars("outcomes", data["outcomes"], lambda g: f"{g['from']} → {g['to']}")
        + _bars("deadline shifts", shifts, lambda g: g["label"])
        + _bars(
            "deadlines",
            [g for g in data["deadlines"] if g["change"] != "shifted"],
            lambda g: f"{g['kind']} {g['change']}",
        )
        + _bars("documents", data["documents"], lambda g: f"{g['document']} {g['change']}")
        + _bars("channels", data["channels"], lambda g: f"{g['channel']} {g['change']}")
        + "</div>"
    )
