"""Inline SVG charts drawn on the server (offline, no chart library, no inline styles)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from sandbox.bank.masking import redact

EVENT_LABELS = {
    "message.agent": "回复", "message.customer": "客户", "asr.recognized": "语音识别", "kb.search": "知识检索",
    "kb.open": "打开知识", "suggestion.use": "引用推荐", "identity.sms": "发送验证码", "identity.failed": "核验失败",
    "identity.verified": "核验通过", "identity.locked": "核验锁定", "lookup.customer": "查客户",
    "lookup.accounts": "查账户", "lookup.transactions": "查流水", "lookup.cards": "查信用卡", "lookup.bill": "查账单",
    "lookup.workorders": "查工单", "freeze": "挂失冻结", "workorder.created": "建工单", "workorder.updated": "改工单",
    "handoff": "转人工",
    "handoff.accepted": "人工接入", "fault.started": "故障", "fault.ended": "故障恢复", "fault.blocked": "操作受阻",
    "compliance.flag": "用语提示", "contact.arrived": "客户接入", "contact.closed": "会话结束",
    "drill.started": "开始", "drill.finished": "交卷", "drill.expired": "超时结束",
}
LANES = [
    ("对话", ("message.agent", "message.customer", "contact.arrived", "contact.closed", "asr.recognized")),
    ("工具", ("kb.search", "kb.open", "suggestion.use")),
    ("核验与查询", ("identity.sms", "identity.failed", "identity.verified", "identity.locked", "lookup.customer",
                "lookup.accounts", "lookup.transactions", "lookup.cards", "lookup.bill", "lookup.workorders", "freeze")),
    ("工单与转接", ("workorder.created", "workorder.updated", "handoff", "handoff.accepted")),
    ("异常", ("fault.started", "fault.ended", "fault.blocked", "compliance.flag")),
]


def radar_svg(scores: dict[str, float | None], size: int = 300) -> Markup:
    """A five-axis radar of dimension scores (0–100); dimensions without checks are drawn at 0, dashed."""
    names = list(scores)
    n = len(names)
    cx = cy = size / 2
    r = size / 2 - 60
    parts = [f'<svg class="chart radar" viewBox="0 0 {size} {size}" width="{size}" height="{size}" role="img" '
             f'aria-label="五个维度得分雷达图">']
    for ring in (0.25, 0.5, 0.75, 1.0):
        pts = " ".join(f"{cx + r * ring * math.sin(2 * math.pi * i / n):.1f},"
                       f"{cy - r * ring * math.cos(2 * math.pi * i / n):.1f}" for i in range(n))
        parts.append(f'<polygon points="{pts}" fill="none" stroke="#d9e0e7"/>')
    for i, name in enumerate(names):
        ax = cx + r * math.sin(2 * math.pi * i / n)
        ay = cy - r * math.cos(2 * math.pi * i / n)
        parts.append(f'<line x1="{cx}" y1="{cy}" x2="{ax:.1f}" y2="{ay:.1f}" stroke="#d9e0e7"/>')
        lx = cx + (r + 30) * math.sin(2 * math.pi * i / n)
        ly = cy - (r + 22) * math.cos(2 * math.pi * i / n)
        value = scores[name]
        label = f"{name} {value:.0f}" if value is not None else f"{name} —"
        parts.append(f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle" font-size="12" fill="#1f2933">'
                     f'{escape(label)}</text>')
    pts = " ".join(f"{cx + r * (scores[k] or 0) / 100 * math.sin(2 * math.pi * i / n):.1f},"
                   f"{cy - r * (scores[k] or 0) / 100 * math.cos(2 * math.pi * i / n):.1f}"
                   for i, k in enumerate(names))
    parts.append(f'<polygon points="{pts}" fill="#0b5cad" fill-opacity="0.25" stroke="#0b5cad" stroke-width="2"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline_svg(events: Iterable[Any], duration: float, width: int = 1000) -> Markup:
    """Events on a time axis, one lane per kind of operation; faults shaded; hover shows the detail."""
    events = list(events)
    duration = max(duration, max((e.t for e in events), default=0), 10)
    left, top, lane_h = 110, 20, 34
    height = top + lane_h * len(LANES) + 30
    scale = (width - left - 20) / duration

    def x(t: float) -> float:
        return left + t * scale

    parts = [f'<svg class="chart timeline" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="演练时间线">']
    starts = [e for e in events if e.type == "fault.started"]
    for f in starts:
        end = next((e.t for e in events if e.type == "fault.ended" and e.data.get("key") == f.data.get("key")
                    and e.t >= f.t), duration)
        title = redact(str(f.data.get("message", "故障")))
        parts.append(f'<rect x="{x(f.t):.1f}" y="{top - 6}" width="{max(2, (end - f.t) * scale):.1f}" '
                     f'height="{lane_h * len(LANES) + 6}" fill="#fde2e2"><title>{escape(title)}</title></rect>')
    for i, (label, types) in enumerate(LANES):
        y = top + i * lane_h + lane_h / 2
        parts.append(f'<text x="8" y="{y + 4:.1f}" font-size="12" fill="#66788a">{escape(label)}</text>')
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 20}" y2="{y:.1f}" stroke="#e6ecf2"/>')
        for e in events:
            if e.type not in types:
                continue
            bad = e.data.get("allowed") is False or e.type in ("identity.failed", "identity.locked", "fault.blocked",
                                                                "compliance.flag", "fault.started")
            color = "#c53030" if bad else ("#1e7e34" if e.type in ("identity.verified", "handoff", "workorder.created",
                                                                   "freeze") else "#0b5cad")
            tip = f"{e.t:.0f} 秒 · {EVENT_LABELS.get(e.type, e.type)}"
            detail = e.data.get("query") or e.data.get("article") or e.data.get("text") or e.data.get("phrase") or ""
            if detail:
                tip += f" · {redact(str(detail))[:40]}"  # masked before it is cut
            parts.append(f'<circle cx="{x(e.t):.1f}" cy="{y:.1f}" r="5" fill="{color}"><title>{escape(tip)}</title>'
                         f'</circle>')
    axis_y = top + lane_h * len(LANES) + 8
    step = 30 if duration <= 300 else 60 if duration <= 900 else 120
    for t in range(0, int(duration) + 1, step):
        parts.append(f'<text x="{x(t):.1f}" y="{axis_y + 12}" font-size="11" text-anchor="middle" fill="#66788a">'
                     f'{t // 60}:{t % 60:02d}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_svg(points: list[tuple[datetime, float, str]], width: int = 640, height: int = 180) -> Markup:
    """Scores over attempts (oldest left)."""
    if not points:
        return Markup("")
    left, right, top, bottom = 36, 12, 12, 24
    n = len(points)
    step = (width - left - right) / max(n - 1, 1)

    def xy(i: int, score: float) -> tuple[float, float]:
        return left + i * step, top + (100 - score) / 100 * (height - top - bottom)

    parts = [f'<svg class="chart trend" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="成绩趋势">']
    for level in (0, 60, 100):
        _, y = xy(0, level)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e6ecf2"/>'
                     f'<text x="4" y="{y + 4:.1f}" font-size="11" fill="#66788a">{level}</text>')
    coords = [xy(i, p[1]) for i, p in enumerate(points)]
    parts.append('<polyline fill="none" stroke="#0b5cad" stroke-width="2" points="' +
                 " ".join(f"{x:.1f},{y:.1f}" for x, y in coords) + '"/>')
    for (x, y), (when, score, title) in zip(coords, points, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#0b5cad"><title>'
                     f'{escape(f"{when:%m-%d %H:%M} {title} {score:.0f} 分")}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))
