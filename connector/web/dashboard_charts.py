"""Server-rendered inline SVG charts for analytics tables: bars, day columns and a funnel (no JavaScript)."""
from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from connector.analytics import Table

WIDTH = 560
WIDE = 1100  # day columns
PALETTE = ("#2f6fdf", "#f28e2b", "#59a14f", "#e15759")


def fmt(value: Any, kind: str = "text") -> str:
    """A value as a person reads it: rates as %, seconds as min/h/d, money with separators."""
    if value is None:
        return "–"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "seconds":
        v = float(value)
        for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
            if v >= size:
                return f"{v / size:.1f} {unit}"
        return f"{v:.0f} s"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "datetime" and hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _kinds(table: Table) -> dict[str, str]:
    return {c.key: c.kind for c in table.columns}


def _labels(table: Table) -> dict[str, str]:
    return {c.key: c.label for c in table.columns}


def render(table: Table, *, max_rows: int = 15) -> Markup:
    """The table's chart as an <svg> element, or an empty-state note when there is nothing to draw."""
    chart = table.chart
    if not chart:
        return Markup("")
    rows = [r for r in table.rows if any((r.get(k) or 0) > 0 for k in chart["values"])]
    if not rows:
        empty = "every value is zero" if table.rows else "no data for these filters"
        return Markup(f'<p class="empty">Nothing to chart: {empty}.</p>')
    if chart["kind"] == "columns":
        return _columns(table, chart, rows)
    return _bars(table, chart, rows[:max_rows], centred=chart["kind"] == "funnel")


def _bars(table: Table, chart: dict[str, Any], rows: list[dict], *, centred: bool) -> Markup:
    """Horizontal bars, one group per row, one bar per value key; label left, figure right."""
    keys, label = chart["values"], chart["label"]
    kinds, names = _kinds(table), _labels(table)
    top = max(float(r.get(k) or 0) for r in rows for k in keys) or 1.0
    bar_h, gap, left, right = 16, 8, 170, 90
    group_h = bar_h * len(keys) + gap
    legend = 20 if len(keys) > 1 else 0
    height = legend + group_h * len(rows) + 4
    span = WIDTH - left - right
    parts = [f'<svg class="chart" role="img" aria-label="{escape(table.title)}" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">']
    for i, key in enumerate(keys if legend else ()):
        lx = left + i * 150
        parts.append(f'<rect x="{lx}" y="4" width="10" height="10" fill="{PALETTE[i]}"/>'
                     f'<text x="{lx + 14}" y="13" class="legend">{escape(names.get(key, key))}</text>')
    for n, row in enumerate(rows):
        y0 = legend + n * group_h
        text = str(row.get(label))
        short = text if len(text) <= 26 else text[:25] + "…"
        parts.append(f'<text x="{left - 6}" y="{y0 + bar_h * len(keys) / 2 + 4:.1f}" text-anchor="end" class="label">'
                     f'<title>{escape(text)}</title>{escape(short)}</text>')
        for i, key in enumerate(keys):
            value = float(row.get(key) or 0)
            w = max(span * value / top, 1.0 if value else 0.0)
            x = left + (span - w) / 2 if centred else left
            y = y0 + i * bar_h
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" '
                         f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(text)}: '
                         f'{escape(fmt(row.get(key), kinds.get(key, "text")))}</title></rect>')
            parts.append(f'<text x="{left + span + 6}" y="{y + bar_h - 4}" class="figure">'
                         f'{escape(fmt(row.get(key), kinds.get(key, "text")))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _columns(table: Table, chart: dict[str, Any], rows: list[dict]) -> Markup:
    """Vertical columns in row order (e.g. leads per day) with a y maximum and first/last x labels."""
    key, label = chart["values"][0], chart["label"]
    top = max(float(r.get(key) or 0) for r in rows) or 1.0
    width, height, bottom, left = WIDE, 160, 22, 40
    span_h, span_w = height - bottom - 10, width - left - 10
    step = span_w / len(rows)
    parts = [f'<svg class="chart" role="img" aria-label="{escape(table.title)}" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f'<text x="{left - 4}" y="14" text-anchor="end" class="figure">{escape(fmt(top, "int"))}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#999"/>']
    for n, row in enumerate(rows):
        value = float(row.get(key) or 0)
        h = span_h * value / top
        x = left + n * step
        parts.append(f'<rect class="bar" x="{x + step * 0.1:.1f}" y="{height - bottom - h:.1f}" '
                     f'width="{max(step * 0.8, 1):.1f}" height="{h:.1f}" fill="{PALETTE[0]}">'
                     f'<title>{escape(str(row.get(label)))}: {escape(fmt(row.get(key), "int"))}</title></rect>')
    for n in sorted({0, len(rows) - 1}):
        anchor = "start" if n == 0 else "end"
        x = left if n == 0 else width - 10
        parts.append(f'<text x="{x}" y="{height - 6}" text-anchor="{anchor}" class="label">'
                     f'{escape(str(rows[n].get(label)))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
