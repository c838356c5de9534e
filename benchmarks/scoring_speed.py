"""How long reading messages and scoring a drill take (issue 13's speed targets).

Plays every seeded scenario's reference run through the real API on a throwaway instance,
then scores each finished drill again ``--repeat`` times from its event log (what finishing
a drill costs), and reads every held-out corpus utterance as one message.

    python benchmarks/scoring_speed.py [--repeat 20]

Targets: scoring a drill ≤ 300 ms p95; reading one message ≤ 10 ms p95.
"""

from __future__ import annotations

import argparse
import statistics
import time


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from sandbox.dialogue.corpus import load_corpus
    from sandbox.dialogue.evaluation import latency
    from sandbox.dialogue.model import shipped_model
    from sandbox.drill import drill_clock, grading
    from sandbox.drill.models import Drill
    from sandbox.drill.scenario.files import scenario_files, seeded_scenarios_dir
    from sandbox.drill.scenario.store import spec_from_text
    from sandbox.scoring import compliance
    from sandbox.users.services import get_user, issue_token
    from sandbox.web.rehearse import rehearse, throwaway_instance

    texts = [e.text for e in load_corpus() if e.split == "test"]
    lat = latency(texts, shipped_model(), repeat=3)
    print(f"read one message: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, max {lat['max_ms']} ms "
          f"({lat['messages']} messages x 3)")

    from sandbox.app import create_app

    with throwaway_instance(create_app, "bankdrill-bench-") as app:
        runtime = app.extensions["bankdrill"]
        clock = runtime.clock
        with runtime.transaction() as s:
            token = issue_token(s, clock, get_user(s, "candidate1"))
            staff = issue_token(s, clock, get_user(s, "examiner"))
        for path in scenario_files(seeded_scenarios_dir()):
            spec = spec_from_text(path.read_text(encoding="utf-8"))
            rehearse(app, clock, spec, token, staff)
        timings: list[float] = []
        per_scenario: dict[str, float] = {}
        with runtime.transaction() as s:
            drills = list(s.query(Drill).filter(Drill.status == drill_clock.FINISHED))
            for drill in drills:
                runs = []
                for _ in range(args.repeat):
                    compliance._cached_reading.cache_clear()  # a cold reader, as after a restart
                    start = time.perf_counter()
                    grading.score_drill(s, drill)
                    runs.append((time.perf_counter() - start) * 1000)
                timings.extend(runs)
                per_scenario[drill.scenario_id] = statistics.median(runs)
        print(f"score a finished drill (cold reader): {len(drills)} drills x {args.repeat}: "
              f"p50 {percentile(timings, 50):.1f} ms, p95 {percentile(timings, 95):.1f} ms, max {max(timings):.1f} ms")
        for sid, ms in sorted(per_scenario.items(), key=lambda kv: -kv[1])[:5]:
            print(f"  slowest: {sid} median {ms:.1f} ms")


if __name__ == "__main__":
    main()
