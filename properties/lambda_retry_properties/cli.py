"""``lambda-retry``: verify the model, draw it, document it, and run scenarios on it.

Exit status: 0 when everything holds, 1 when a property is broken (or a pinned
count moved, or a generated file is stale), 2 for bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from lambda_retry.scenario import load, simulate, to_text
from lambda_retry.settings import InputError

from . import artifacts
from .core import Kind
from .registry import MODE_NAMES, Mode, modes
from .verify import ProfileReport, run_profile


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(f"{self.prog}: {message}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="lambda-retry", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    v = sub.add_parser("verify", help="explore every profile exhaustively and check every property")
    v.add_argument("--mode", choices=MODE_NAMES)
    v.add_argument("--profile", help="one profile, e.g. async_invoke.small")
    v.add_argument("--variants", action="store_true", help="also run the wrong variants (each must be caught)")
    v.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    d = sub.add_parser("diagrams", help="write diagrams/<mode>.dot and .svg from the tables")
    d.add_argument("--out", default="diagrams")
    d.add_argument("--check", action="store_true", help="only check that the committed DOT files are fresh")

    g = sub.add_parser("docs", help="regenerate the generated blocks of docs/modes/*.md")
    g.add_argument("--check", action="store_true", help="only check that the pages are fresh")

    s = sub.add_parser("simulate", help="run a scenario file on the virtual clock")
    s.add_argument("file")
    s.add_argument("--format", choices=("text", "json"), default="text")

    c = sub.add_parser("check-trace", help="is an observed trace (JSON Lines) a behaviour the model allows?")
    c.add_argument("file")
    c.add_argument("--scenario", required=True, help="the scenario the trace was recorded from")
    c.add_argument("--tolerance", type=float, default=1.0, help="seconds an observed time may be off (default 1)")
    c.add_argument("--drift", type=float, default=0.0,
                   help="plus this fraction of the time since the start (default 0)")
    c.add_argument("--time-scale", type=float, default=1.0,
                   help="multiply observed times by this first (a peer that runs 60 s delays as 1 s: 60)")
    c.add_argument("--observes", help="comma-separated event kinds the peer can see (default: all the mode has)")
    c.add_argument("--prefix", action="store_true", help="the trace may stop before every item has settled")
    c.add_argument("--duplicates", type=int, default=0,
                   help="duplicate deliveries per item the model may use to explain the trace (default 0)")

    k = sub.add_parser("conform", help="run the scenarios on a real implementation and compare with the model")
    k.add_argument("--target", required=True, choices=("model", "moto", "ministack", "botocore"))
    k.add_argument("--mode", choices=MODE_NAMES)
    k.add_argument("--report", default="reports", help="directory for the JSON report (default: reports/)")
    k.add_argument("--only", action="append", help="run only scenarios whose name contains this (repeatable)")

    try:
        args = parser.parse_args(argv)
        if args.command == "verify":
            return _verify(args)
        if args.command == "diagrams":
            return _diagrams(args)
        if args.command == "docs":
            return _docs(args)
        if args.command == "check-trace":
            return _check_trace(args)
        if args.command == "conform":
            return _conform(args)
        return _simulate(args)
    except InputError as err:
        print(f"lambda-retry: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - output piped into head
        sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt:  # pragma: no cover
        print("lambda-retry: interrupted", file=sys.stderr)
        return 130


# -- verify ----------------------------------------------------------------------------------


def _verify(args: argparse.Namespace) -> int:
    known = modes()
    if args.mode and args.mode not in known:
        raise InputError(f"--mode: {args.mode!r} is not modelled yet; modelled: {', '.join(known)}")
    selected = [known[args.mode]] if args.mode else list(known.values())
    progress = None if args.quiet else _Progress()
    chosen: dict[str, list[Any]] = {}
    for mode in selected:
        profiles = list(mode.profiles) + (list(mode.variant_profiles) if args.variants else [])
        if args.profile:
            profiles = [p for p in mode.profiles + mode.variant_profiles
                        if args.profile in (p.name, p.name.split(".", 1)[1])]
        if profiles:
            chosen[mode.name] = profiles
    if args.profile and not chosen:
        names = ", ".join(p.name for m in selected for p in m.profiles + m.variant_profiles)
        raise InputError(f"--profile: {args.profile!r} is not a profile; profiles: {names}")
    failed = False
    for mode in selected:
        if mode.name not in chosen:
            continue
        reports = [run_profile(mode, p, progress=progress) for p in chosen[mode.name]]
        if progress:
            progress.clear()
        failed |= _print_mode(mode, reports)
    return 1 if failed else 0


class _Progress:
    """One overwritten status line on stderr, at most every half second."""

    def __init__(self) -> None:
        self.last = 0.0
        self.shown = False

    def __call__(self, message: str) -> None:
        now = time.monotonic()
        if now - self.last >= 0.5 and sys.stderr.isatty():
            print(f"\r\x1b[K{message[:150]}", end="", file=sys.stderr, flush=True)
            self.last, self.shown = now, True

    def clear(self) -> None:
        if self.shown:
            print("\r\x1b[K", end="", file=sys.stderr, flush=True)
            self.shown = False


def _print_mode(mode: Mode, reports: list[ProfileReport]) -> bool:
    plain = [r for r in reports if not r.profile.is_variant]
    variants = [r for r in reports if r.profile.is_variant]
    print(f"\n== {mode.name}: {mode.spec.title} ==")
    failed = False
    if plain:
        print(f"{'profile':<34} {'cases':>5} {'states':>9} {'edges':>9} {'time':>8}  pinned")
        for r in plain:
            pinned = "ok" if not any(p.startswith("pinned") for p in r.problems) else "MOVED"
            print(f"{r.profile.name:<34} {len(r.cases):>5} {r.states:>9,} {r.edges:>9,} {r.seconds:>7.2f}s  {pinned}")
        print()
        print(f"{'property':<11} {'kind':<9} {'result':<15} {'states':>9} {'time':>8}  statement")
        for index, prop in enumerate(mode.properties):
            outcomes = [(r, r.outcomes[index]) for r in plain if r.outcomes[index].result != "n/a"]
            states = sum(r.states for r, _ in outcomes)
            seconds = sum(r.seconds for r, _ in outcomes)
            results = {o.result for _, o in outcomes}
            bad = [o for _, o in outcomes if o.result in ("violated", "not witnessed", "inconclusive")]
            if bad:
                result = bad[0].result
            elif not results:
                result = "n/a"
            elif prop.kind is Kind.SOMETIMES:
                result = "witnessed"
            else:
                result = "proved" if results == {"proved"} else "held (bounded)"
            print(f"{prop.id:<11} {prop.kind.value:<9} {result:<15} {states:>9,} {seconds:>7.2f}s  "
                  f"{_short(prop.statement)}")
        for r in plain:
            for problem in r.problems:
                failed = True
                print(f"\nFAIL {r.profile.name}: {problem}")
            for o in r.outcomes:
                if o.violation is not None:
                    print(f"\n{o.prop.id} {o.prop.name}: {o.violation.why}\n  {o.prop.statement}")
                    print(o.violation.timeline(mode.spec, symmetry=r.profile.symmetry))
    if variants:
        width = max(len(r.profile.name) for r in variants) + 1
        print(f"\n{'wrong variant':<{width}} {'must break':<22} {'caught':<8} {'states':>8}")
        for r in variants:
            ok = r.ok
            failed |= not ok
            print(f"{r.profile.name:<{width}} {', '.join(r.profile.must_break):<22} {'yes' if ok else 'NO':<8} "
                  f"{r.states:>8,}")
    return failed


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# -- diagrams and docs ------------------------------------------------------------------------


def _diagrams(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if args.check:
        stale = []
        for mode in modes().values():
            for name, source in artifacts.diagram_files(mode).items():
                path = out / name
                if not path.exists() or path.read_text(encoding="utf-8") != source:
                    stale.append(str(path))
        if stale:
            print(f"stale diagrams (run `lambda-retry diagrams`): {', '.join(stale)}", file=sys.stderr)
            return 1
        print("diagrams are fresh")
        return 0
    written, svg_missing = artifacts.write_diagrams(out)
    for path in written:
        print(path)
    if svg_missing:
        print("notice: graphviz's `dot` is not installed; wrote DOT only (apt-get install graphviz for SVG)",
              file=sys.stderr)
    return 0


def _docs(args: argparse.Namespace) -> int:
    stale = []
    for path, text in artifacts.doc_pages(Path.cwd()).items():
        if path.read_text(encoding="utf-8") != text:
            stale.append(str(path))
            if not args.check:
                path.write_text(text, encoding="utf-8")
                print(path)
    if args.check and stale:
        print(f"stale docs (run `lambda-retry docs`): {', '.join(stale)}", file=sys.stderr)
        return 1
    if not stale:
        print("docs are fresh")
    return 0


# -- simulate ----------------------------------------------------------------------------------


def _simulate(args: argparse.Namespace) -> int:
    data = load(args.file)
    report: dict[str, Any] = simulate(data)
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(to_text(report))
    return 0


# -- check-trace -------------------------------------------------------------------------------


def _check_trace(args: argparse.Namespace) -> int:
    from .conformance.checker import check_trace
    from .conformance.peers.trace_io import read_trace

    scenario = load(args.scenario)
    try:
        header, events = read_trace(args.file)
    except OSError as err:
        raise InputError(f"{args.file}: cannot read: {err.strerror}") from None
    except ValueError as err:
        raise InputError(str(err)) from None
    if header["mode"] != scenario.get("mode"):
        raise InputError(f"{args.file}: trace mode {header['mode']!r} but scenario mode {scenario.get('mode')!r}")
    if args.tolerance < 0 or args.drift < 0 or args.time_scale <= 0 or args.duplicates < 0:
        raise InputError("--tolerance, --drift and --duplicates must be >= 0 and --time-scale > 0")
    mode = modes().get(header["mode"])
    observes = [k.strip() for k in args.observes.split(",")] if args.observes else None
    verdict = check_trace(scenario, events, mode.properties if mode else None, tolerance=args.tolerance,
                          drift=args.drift,
                          time_scale=args.time_scale, observes=observes, complete=not args.prefix,
                          duplicates=args.duplicates)
    print(verdict.summary())
    return 0 if verdict.allowed else 1


# -- conform -----------------------------------------------------------------------------------


def _conform(args: argparse.Namespace) -> int:
    from .conformance.kit import TARGETS, conform
    from .conformance.peers import PeerError

    target = TARGETS[args.target]
    known = modes()
    wanted = [args.mode] if args.mode else [m for m in target.modes if m in known]
    if args.mode and (args.mode not in target.modes or args.mode not in known):
        raise InputError(f"--mode: {args.target} runs {', '.join(m for m in target.modes if m in known)}; "
                         f"not {args.mode}")
    out = Path(args.report)
    failed = False
    for mode_name in wanted:
        try:
            report = conform(args.target, mode_name, only=args.only)
        except PeerError as err:
            print(f"lambda-retry: error: {err}", file=sys.stderr)
            return 2
        print(f"\n== conformance of {args.target} on {mode_name} ==")
        width = max([len(r.name) for r in report.results] + [10])
        for r in report.results:
            extra = f"  [{r.divergence}]" if r.divergence else ""
            print(f"{r.name:<{width}}  {r.status:<19} {r.seconds:6.1f}s  {r.detail}{extra}")
        counts: dict[str, int] = {}
        for r in report.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        print("summary: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"conformance-{args.target}-{mode_name}.json"
        path.write_text(json.dumps(report.as_json(), indent=2) + "\n", encoding="utf-8")
        print(f"report: {path}")
        failed |= not report.ok
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
