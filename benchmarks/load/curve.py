"""The cost curve: requests/s and p95 of the realistic load (run.py) against the number of candidates.

    python benchmarks/load/curve.py --users 50,100,200,400,800 --duration 60 --setup sqlite --setup pg2 --setup pg4
    python benchmarks/load/curve.py --plot-only          # redraw curve.svg from curve.json

Each point is one ``run.py`` run (fresh instance, locust, the trainer saving every 10 s) with its
own ``--out`` folder under /tmp; the figures (whole-run requests/s, p95 of all requests and of
the console poll, failures, server CPU, ``uptime`` load averages before and after) go to
``benchmarks/load/curve.json`` (merged with earlier points) and the chart to
``benchmarks/load/curve.svg``, drawn here by hand (no plotting library). Setups: ``sqlite`` (one
process), ``pgN`` (PostgreSQL, N processes). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "curve.json"
CHART = HERE / "curve.svg"
POLL = "GET /conversations/{id}/messages"
COLOURS = {"sqlite": "#1f77b4", "pg2": "#d62728", "pg4": "#2ca02c", "pg3": "#9467bd", "pg1": "#8c564b"}
LABELS = {"sqlite": "SQLite，1 个进程", "pg2": "PostgreSQL，2 个进程", "pg4": "PostgreSQL，4 个进程"}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_point(setup: str, users: int, duration: int) -> dict:
    out = Path(f"/tmp/bankdrill-curve/{setup}-{users}")
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(HERE / "run.py"), "--users", str(users), "--duration", str(duration),
           "--spawn-rate", str(max(20, users // 10)), "--out", str(out)]
    if setup.startswith("pg"):
        cmd += ["--postgres", "--servers", setup[2:] or "1"]
    before = loadavg()
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    (out / "run.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    endpoints = {e["name"]: e for e in summary["endpoints"]}
    total = endpoints["Aggregated"]
    poll = endpoints.get(POLL, {})
    return {"setup": setup, "users": users, "duration": duration, "rps": total["rps"],
            "p50_ms": _num(total["p50"]), "p95_ms": _num(total["p95"]), "p99_ms": _num(total["p99"]),
            "poll_p95_ms": _num(poll.get("p95")), "requests": total["requests"], "failures": total["failures"],
            "lost": summary["loss"], "server_cpu_percent": summary["server_cpu_percent"],
            "client_cpu_percent": summary["client_cpu_percent"], "load_before": before, "load_after": loadavg(),
            "wall_s": round(time.monotonic() - started), "exit": proc.returncode,
            "command": " ".join(["python", "benchmarks/load/run.py"] + cmd[2:])}


def _num(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def chart(points: list[dict]) -> str:
    """Two panels (requests/s, p95 ms) against candidates on a log-2 axis, one line per setup."""
    import math

    setups = [s for s in COLOURS if any(p["setup"] == s for p in points)]
    users = sorted({p["users"] for p in points})
    width, height, left, top, panel_w, panel_h, gap = 980, 420, 70, 50, 380, 300, 110
    xs = {u: i for i, u in enumerate(users)}

    def x_of(u: int, x0: int) -> float:
        return x0 + (panel_w * xs[u] / max(1, len(users) - 1))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">'
           f'实际负载的成本曲线（2 核机器，locust，每点 {points[0]["duration"]} 秒）</text>']
    for k, (key, title) in enumerate((("rps", "吞吐量（请求/秒）"), ("p95_ms", "全部请求的 p95（毫秒）"))):
        x0 = left + k * (panel_w + gap)
        values = [p[key] for p in points if p[key] is not None]
        top_value = max(values) if values else 1
        step = 10 ** math.floor(math.log10(top_value)) if top_value > 0 else 1
        y_max = step * math.ceil(top_value * 1.1 / step)

        def y_of(v: float, y_max: float = y_max) -> float:
            return top + panel_h - panel_h * v / y_max

        out.append(f'<text x="{x0 + panel_w / 2}" y="{top - 10}" text-anchor="middle">{title}</text>')
        out.append(f'<line x1="{x0}" y1="{top + panel_h}" x2="{x0 + panel_w}" y2="{top + panel_h}" stroke="#333"/>')
        out.append(f'<line x1="{x0}" y1="{top}" x2="{x0}" y2="{top + panel_h}" stroke="#333"/>')
        for i in range(5):
            v = y_max * i / 4
            y = y_of(v)
            out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + panel_w}" y2="{y:.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
        for u in users:
            out.append(f'<text x="{x_of(u, x0):.1f}" y="{top + panel_h + 18}" text-anchor="middle">{u}</text>')
        out.append(f'<text x="{x0 + panel_w / 2}" y="{top + panel_h + 36}" text-anchor="middle">考生人数</text>')
        if key == "p95_ms" and y_max >= 200:
            y = y_of(200)
            out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + panel_w}" y2="{y:.1f}" stroke="#999" '
                       f'stroke-dasharray="5,4"/><text x="{x0 + panel_w - 4}" y="{y - 4:.1f}" text-anchor="end" '
                       f'fill="#666">目标 200 ms（轮询）</text>')
        for s in setups:
            line = sorted((p for p in points if p["setup"] == s and p[key] is not None), key=lambda p: p["users"])
            if not line:
                continue
            coords = " ".join(f"{x_of(p['users'], x0):.1f},{y_of(p[key]):.1f}" for p in line)
            out.append(f'<polyline points="{coords}" fill="none" stroke="{COLOURS[s]}" stroke-width="2"/>')
            for p in line:
                mark = "#fff" if p["failures"] else COLOURS[s]
                out.append(f'<circle cx="{x_of(p["users"], x0):.1f}" cy="{y_of(p[key]):.1f}" r="3.5" '
                           f'fill="{mark}" stroke="{COLOURS[s]}"/>')
    for i, s in enumerate(setups):
        x = left + i * 220
        out.append(f'<line x1="{x}" y1="{height - 14}" x2="{x + 24}" y2="{height - 14}" stroke="{COLOURS[s]}" '
                   f'stroke-width="2"/><text x="{x + 30}" y="{height - 10}">{LABELS.get(s, s)}</text>')
    out.append(f'<text x="{width - 10}" y="{height - 10}" text-anchor="end" fill="#666">空心点：有失败的请求</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", default="50,100,200,400,800")
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--setup", action="append", help="sqlite, pg2, pg4 … (repeatable; default sqlite)")
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args()
    points = json.loads(DATA.read_text(encoding="utf-8")) if DATA.exists() else []
    if not args.plot_only:
        for setup in args.setup or ["sqlite"]:
            for users in [int(u) for u in args.users.split(",")]:
                point = run_point(setup, users, args.duration)
                print(json.dumps({k: point[k] for k in ("setup", "users", "rps", "p95_ms", "poll_p95_ms",
                                                        "failures", "load_before", "load_after")}), flush=True)
                points = [p for p in points if (p["setup"], p["users"]) != (setup, users)] + [point]
                DATA.write_text(json.dumps(points, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if points:
        CHART.write_text(chart(points), encoding="utf-8")
        print("| setup | candidates | req/s | p50 ms | p95 ms | poll p95 ms | failures | server CPU % | load before → after |")
        print("|---|---|---|---|---|---|---|---|---|")
        for p in sorted(points, key=lambda p: (list(COLOURS).index(p["setup"]) if p["setup"] in COLOURS else 9,
                                               p["users"])):
            print(f"| {LABELS.get(p['setup'], p['setup'])} | {p['users']} | {p['rps']} | {p['p50_ms']:g} | "
                  f"{p['p95_ms']:g} | {p['poll_p95_ms']} | {p['failures']} | "
                  f"{p['server_cpu_percent']['mean']} | {p['load_before'][0]} → {p['load_after'][0]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
