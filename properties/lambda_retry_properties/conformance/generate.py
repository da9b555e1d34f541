"""Scenarios generated from the model: a small set that together take every rule of a mode.

For every row of the table (and so every phase), the shortest path in the explored
graphs of the mode's profiles that fires it is turned into a scenario in the
contract's language (settings, arrivals, the handler's results), so any
implementation in any language can run it.  Each generated scenario is then run
through the simulator, and the rows it really fires are counted: the coverage
reported is what the scenarios do, not what the paths promised.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from lambda_retry.explore import explore, replay
from lambda_retry.scenario import parse, run

from ..registry import Mode


@dataclass
class Generated:
    scenarios: list[tuple[str, dict[str, Any]]]
    covered_rows: set[int]
    uncovered: dict[int, str] = field(default_factory=dict)
    """Row index → why no scenario takes it."""


def _row_name(mode: Mode, index: int) -> str:
    r = mode.spec.rules[index]
    return f"{r.event}[{r.guard.__name__}]"


def generate(mode: Mode, *, profiles: Iterable[str] | None = None) -> Generated:
    hook: Any = import_module(f"lambda_retry.modes.{mode.name}.scenario")
    chosen = [p for p in mode.profiles if profiles is None or p.name in set(profiles)]
    rows = [i for i, r in enumerate(mode.spec.rules) if not r.time_passes]
    best: dict[int, tuple[int, Any, list[Any]]] = {}
    for profile in chosen:
        for case in profile.cases:
            ex = explore(profile.spec, case.config, case.initial, symmetry=profile.symmetry)
            for src, _dst, action in ex.edges:
                index = action[0]
                length = ex.depth[src] + 1
                if index in rows and (index not in best or length < best[index][0]):
                    best[index] = (length, case, [*ex.path_to(src), action])
    scenarios: list[tuple[str, dict[str, Any]]] = []
    seen_json: set[str] = set()
    uncovered: dict[int, str] = {}
    covered: set[int] = set()
    for index in rows:
        if index in covered:
            continue
        if index not in best:
            uncovered[index] = "no profile reaches it"
            continue
        _length, case, actions = best[index]
        steps = replay(mode.spec, case.config, case.initial, actions, case.names, symmetry=True)
        scenario = hook.to_scenario(case.config, case.names, case.initial, steps)
        if scenario is None:
            uncovered[index] = "it needs an environment choice scenarios cannot express"
            continue
        key = json.dumps(scenario, sort_keys=True)
        if key in seen_json:
            continue
        fired = rows_fired(scenario)
        if index not in fired:
            uncovered[index] = "the scenario built from its path does not take it"
            continue
        seen_json.add(key)
        covered |= fired
        scenarios.append((f"{mode.name}-{len(scenarios) + 1:02d}-{mode.spec.rules[index].event}", scenario))
    for index in list(uncovered):
        if index in covered:
            del uncovered[index]
    return Generated(scenarios, covered, uncovered)


def rows_fired(scenario: dict[str, Any]) -> set[int]:
    """Rows of the table a scenario's simulation fires."""
    mod, setup, until = parse(scenario)
    _world, steps = run(mod, setup, until)
    return {s.action[0] for s in steps}


def coverage_table(mode: Mode, generated: Generated) -> list[tuple[str, str]]:
    out = []
    for index, r in enumerate(mode.spec.rules):
        if r.time_passes:
            continue
        status = "covered" if index in generated.covered_rows else generated.uncovered.get(index, "not covered")
        out.append((_row_name(mode, index), status))
    return out
