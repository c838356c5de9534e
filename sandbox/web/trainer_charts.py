"""Inline SVG charts of the search analytics page (drawn on the server; no inline styles)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape


def search_trend_svg(days: Sequence[Any], width: int = 760, height: int = 220) -> Markup:
    """Searches per day (bars, left axis) and the zero-result rate per day (line, right axis 0–100%)."""
    if not days:
        return Markup("")
    left, right, top, bottom = 40, 44, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(days)
    slot = plot_w / n
    peak = max((d.searches for d in days), default=0) or 1
    parts = [f'<svg class="chart search-trend" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="每日检索量与零结果率">']
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e6ecf2"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#66788a">'
                     f'{round(peak * frac)}</text>')
        parts.append(f'<text x="{width - right + 6}" y="{y + 4:.1f}" font-size="11" fill="#c53030">'
                     f'{round(frac * 100)}%</text>')
    points = []
    for i, day in enumerate(days):
        x = left + i * slot
        h = plot_h * day.searches / peak
        tip = f"{day.day:%m-%d}：检索 {day.searches} 次，零结果 {day.zero} 次（{day.zero_rate:.0%}）"
        parts.append(f'<rect class="bar" x="{x + slot * 0.15:.1f}" y="{top + plot_h - h:.1f}" '
                     f'width="{max(slot * 0.7, 1):.1f}" height="{h:.1f}" fill="#0b5cad" fill-opacity="0.7">'
                     f'<title>{escape(tip)}</title></rect>')
        if day.searches:
            points.append((x + slot / 2, top + plot_h * (1 - day.zero_rate), tip))
        if n <= 16 or i % max(1, n // 8) == 0 or i == n - 1:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{height - 10}" font-size="10" text-anchor="middle" '
                         f'fill="#66788a">{day.day:%m-%d}</text>')
    if len(points) > 1:
        parts.append('<polyline class="zero-rate" fill="none" stroke="#c53030" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points) + '"/>')
    for x, y, tip in points:
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#c53030"><title>{escape(tip)}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


def eval_history_svg(runs: Sequence[Any], width: int = 760, height: int = 200) -> Markup:
    """hit@1 (blue), hit@k (green) and MRR@10 (grey) per recorded evaluation run, oldest left."""
    if not runs:
        return Markup("")
    left, right, top, bottom = 40, 12, 12, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(runs) - 1, 1)

    def xy(i: int, value: float) -> tuple[float, float]:
        return left + i * step, top + plot_h * (1 - max(0.0, min(value, 1.0)))

    parts = [f'<svg class="chart eval-history" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="检索评测历史">']
    for level in (0, 0.5, 1):
        _, y = xy(0, level)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e6ecf2"/>'
                     f'<text x="4" y="{y + 4:.1f}" font-size="11" fill="#66788a">{level:.1f}</text>')
    for attr, color in (("hit1", "#0b5cad"), ("hitk", "#1e7e34"), ("mrr10", "#66788a")):
        coords = [xy(i, getattr(run, attr)) for i, run in enumerate(runs)]
        if len(coords) > 1:
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
                         + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords) + '"/>')
        for (x, y), run in zip(coords, runs, strict=True):
            tip = (f"#{run.id} {run.created_at:%Y-%m-%d %H:%M} 知识库版本 {run.kb_version}："
                   f"hit@1 {run.hit1:.3f} hit@{run.k} {run.hitk:.3f} MRR {run.mrr10:.3f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(tip)}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))
