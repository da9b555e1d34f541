"""Throughput of both engines on every profile: a benchmark, never a timed test.

For each profile (each in a fresh process, so peak memory is its own): reachable
states, edges, seconds, states per second and peak resident memory of the
explorer (properties checked as it goes); then examples and steps per second of
the Hypothesis machine with the ``ci`` settings.

    python benchmarks/run.py [--mode M] [--no-hypothesis] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "model"), str(ROOT / "properties")]


def one(profile_name: str, hypothesis: bool) -> dict[str, object]:
    from lambda_retry_properties.registry import modes
    from lambda_retry_properties.stateful import SETTINGS, run_machine
    from lambda_retry_properties.verify import run_profile

    mode_name = profile_name.split(".", 1)[0]
    mode = modes()[mode_name]
    profile = mode.profile(profile_name)
    report = run_profile(mode, profile)
    row: dict[str, object] = {
        "profile": profile.name, "cases": len(profile.cases), "states": report.states, "edges": report.edges,
        "explore_s": round(report.seconds, 3),
        "states_per_s": round(report.states / report.seconds) if report.seconds else None,
        "ok": report.ok,
    }
    if hypothesis:
        started = time.perf_counter()
        outcome = run_machine(profile.spec, mode.properties, profile.cases, chosen=SETTINGS["ci"])
        seconds = time.perf_counter() - started
        row.update(hypothesis_s=round(seconds, 2), examples=outcome.examples,
                   examples_per_s=round(outcome.examples / seconds, 1))
    row["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode")
    parser.add_argument("--no-hypothesis", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, not args.no_hypothesis)))
        return 0
    from lambda_retry_properties.registry import modes

    rows = []
    header = (f"{'profile':<34} {'states':>9} {'edges':>9} {'explore':>8} {'states/s':>9} {'peak MiB':>8}"
              f" {'hyp. s':>7} {'ex/s':>6}")
    print(header)
    for mode in modes().values():
        if args.mode and mode.name != args.mode:
            continue
        for profile in mode.profiles:
            cmd = [sys.executable, __file__, "--one", profile.name] + (["--no-hypothesis"] if args.no_hypothesis else [])
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            row = json.loads(out)
            rows.append(row)
            print(f"{row['profile']:<34} {row['states']:>9,} {row['edges']:>9,} {row['explore_s']:>7.2f}s "
                  f"{row['states_per_s'] or 0:>9,} {row['peak_rss_mib']:>8} "
                  f"{row.get('hypothesis_s', ''):>7} {row.get('examples_per_s', ''):>6}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
