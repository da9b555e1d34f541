"""Run the exhaustive engine over named profiles and summarise per property."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .check import CaseResult, Violation, check_case
from .core import Kind, Property
from .profiles import Profile
from .registry import Mode


@dataclass
class PropertyOutcome:
    prop: Property
    result: str
    """``proved``, ``violated``, ``witnessed``, ``not witnessed``, ``inconclusive`` or ``n/a``."""
    violation: Violation | None = None


@dataclass
class ProfileReport:
    profile: Profile
    cases: list[CaseResult]
    outcomes: list[PropertyOutcome]
    seconds: float
    states: int = 0
    edges: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def broken(self) -> list[str]:
        return [o.prop.id for o in self.outcomes if o.result in ("violated", "not witnessed", "inconclusive")]


def run_profile(
    mode: Mode, profile: Profile, *, progress: Callable[[str], None] | None = None
) -> ProfileReport:
    started = time.perf_counter()
    results: list[CaseResult] = []
    for index, case in enumerate(profile.cases):
        if progress:
            progress(f"{profile.name}: case {index + 1}/{len(profile.cases)} {case.label}")

        def tick(done: int, found: int, _label: str = case.label) -> None:
            if progress:
                progress(f"{profile.name}: {_label}: {done:,} expanded, {found:,} found")

        results.append(
            check_case(profile.spec, mode.properties, case, symmetry=profile.symmetry,
                       max_states=profile.max_states, progress=tick)
        )
    outcomes = [_outcome(p, results) for p in mode.properties]
    report = ProfileReport(profile, results, outcomes, time.perf_counter() - started)
    report.states = sum(r.states for r in results)
    report.edges = sum(r.edges for r in results)
    broken = report.broken()
    if profile.must_break:
        missing = [pid for pid in profile.must_break if pid not in broken]
        if missing:
            report.problems.append(f"wrong variant not caught: expected {', '.join(missing)} to break")
    else:
        if broken:
            report.problems.append(f"properties broken: {', '.join(broken)}")
        if profile.states is not None and report.states != profile.states:
            report.problems.append(f"pinned states {profile.states}, explored {report.states}")
        if profile.edges is not None and report.edges != profile.edges:
            report.problems.append(f"pinned edges {profile.edges}, explored {report.edges}")
        if any(r.truncated for r in results):
            report.problems.append("exploration truncated at the state bound")
    return report


def _outcome(p: Property, results: list[CaseResult]) -> PropertyOutcome:
    applicable = [r for r in results if p.id in r.applicable]
    if not applicable:
        return PropertyOutcome(p, "n/a")
    for r in applicable:
        if p.id in r.violations:
            v = r.violations[p.id]
            return PropertyOutcome(p, "inconclusive" if not v.actions and r.truncated else "violated", v)
    if p.kind is Kind.SOMETIMES:
        if any(p.id in r.witnessed for r in applicable):
            return PropertyOutcome(p, "witnessed")
        return PropertyOutcome(p, "not witnessed")
    if any(r.truncated for r in applicable) and p.kind is not Kind.SETTLES:
        return PropertyOutcome(p, "held (bounded)")
    return PropertyOutcome(p, "proved")
