"""Server-made SVG charts of an impact: outcome transitions, deadline shifts, documents added/removed.

Every bar carries `data-drill`, the URL of the cases behind it; the page's
script loads that list when a bar is clicked. The SVG is plain markup (no
script inside), sized by its viewBox, and every label is escaped.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

BAR = 22
GAP = 6
WIDTH = 640
LABEL = 230

COLOURS = {
    "instant": "#2e7d32",
    "review": "#1565c0",
    "ineligible": "#c62828",
    "not_covered": "#6d4c41",
    "undetermined": "#8e24aa",
    "error": "#424242",
    "added": "#2e7d32",
    "removed": "#c62828",
    "shift": "#ef6c00",
}


def _drill(base: str, **query) -> str:
    return escape(f"{base}?{urlencode(query)}")


def bars(rows: list[dict], base: str, title: str, empty: str) -> str:
    """Horizontal bars: each row has label, count, colour key, and the drill query."""
    if not rows:
        return f'<p class="empty">{escape(empty)}</p>'
    top = max(r["count"] for r in rows) or 1
    height = len(rows) * (BAR + GAP) + GAP
    out = [
        (
            f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        )
    ]
    for i, r in enumerate(rows):
        y = GAP + i * (BAR + GAP)
        w = max(2, int((WIDTH - LABEL - 70) * r["count"] / top))
        colour = COLOURS.get(r.get("colour", ""), "#546e7a")
        out.append(
            f'<g class="bar" data-drill="{_drill(base, **r["query"])}" tabindex="0">'
            f"<title>{escape(r['label'])}: {r['count']}</title>"
            f'<text x="{LABEL - 8}" y="{y + BAR * 0.7:.0f}" text-anchor="end">{escape(r["label"])}</text>'
            f'<rect x="{LABEL}" y="{y}" width="{w}" height="{BAR}" rx="3" fill="{colour}"/>'
            f'<text class="count" x="{LABEL + w + 6}" y="{y + BAR * 0.7:.0f}">{r["count"]:,}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def histogram(shifts: dict[int, int], base: str, kind: str, title: str) -> str:
    """Vertical bars: cases per shift in days (negative: earlier)."""
    if not shifts:
        return ""
    days = sorted(shifts)
    lo, hi = min(days[0], 0), max(days[-1], 0)
    span = list(range(lo, hi + 1)) if hi - lo <= 40 else days
    top = max(shifts.values())
    width = max(WIDTH // 2, min(WIDTH, 40 + len(span) * 26))
    col = (width - 40) / len(span)
    height = 170
    out = [
        (
            f'<svg class="chart histogram" role="img" aria-label="{escape(title)}" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            'xmlns="http://www.w3.org/2000/svg">'
            f'<line x1="20" y1="140" x2="{width - 20}" y2="140" stroke="#999"/>'
        )
    ]
    for i, d in enumerate(span):
        x = 20 + i * col
        count = shifts.get(d, 0)
        h = 0 if not count else max(2, int(110 * count / top))
        out.append(
            f'<text class="tick" x="{x + col / 2:.1f}" y="156" text-anchor="middle">{d:+d}</text>'
        )
        if count:
            out.append(
                f'<g class="bar" data-drill="{_drill(base, table="deadlines", kind=kind, shift=d)}" tabindex="0">'
                f"<title>{d:+d}: {count}</title>"
                f'<rect x="{x + 2:.1f}" y="{140 - h}" width="{max(2.0, col - 4):.1f}" height="{h}" rx="2" fill="{COLOURS["shift"]}"/>'
                f'<text class="count" x="{x + col / 2:.1f}" y="{134 - h}" text-anchor="middle">{count:,}</text></g>'
            )
    out.append("</svg>")
    return "".join(out)


def impact_charts(impact: dict, base: str, t) -> dict[str, str]:
    """The three pictures of an impact (`diff.Impact.to_dict()`), as SVG text."""
    outcomes = [
        {
            "label": f"{t('outcome_' + g['from'])} → {t('outcome_' + g['to'])}",
            "count": g["count"],
            "colour": g["to"],
            "query": {"table": "outcomes", "index": i},
        }
        for i, g in enumerate(impact["outcomes"])
    ]
    documents = [
        {
            "label": f"{'+' if g['change'] == 'added' else '−'} {g['name']}",
            "count": g["count"],
            "colour": g["change"],
            "query": {"table": "documents", "index": i},
        }
        for i, g in enumerate(impact["documents"])
    ]
    deadlines = []
    other = []
    for i, g in enumerate(impact["deadlines"]):
        if g["change"] == "shifted":
            shifts = {int(k): v for k, v in g.get("shift_days", {}).items()}
            deadlines.append(
                f"<h4>{escape(g['kind'])}</h4>"
                + histogram(shifts, base, g["kind"], t("chart_shift") + " " + g["kind"])
            )
        else:
            other.append(
                {
                    "label": f"{g['kind']} {t('change_' + g['change'])}",
                    "count": g["count"],
                    "colour": g["change"],
                    "query": {"table": "deadlines", "index": i},
                }
            )
    shift_svg = "".join(deadlines) + (bars(other, base, t("chart_shift"), "") if other else "")
    return {
        "outcomes": bars(outcomes, base, t("chart_outcomes"), t("no_outcome_change")),
        "deadlines": shift_svg or f'<p class="empty">{escape(t("no_deadline_change"))}</p>',
        "documents": bars(documents, base, t("chart_documents"), t("no_document_change")),
    }
