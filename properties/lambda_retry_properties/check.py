"""The exhaustive engine: explore every reachable world of a case and judge each property.

``always`` and ``step`` properties are checked as the breadth-first search finds
states and edges, so the first violation found is a shortest one.  ``sometimes``
needs a witness.  ``settles`` is checked on the networkx graph built from the
exploration: it must be acyclic and every world with no way out must satisfy the
predicate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from lambda_retry.explore import Exploration, explore
from lambda_retry.spec import Action, ModeSpec

from .core import Kind, PropertySet, move_of


@dataclass(frozen=True)
class Case:
    """One configuration and starting world of a profile."""

    label: str
    config: Any
    initial: Any
    names: tuple[str, ...]


@dataclass
class Violation:
    prop_id: str
    case: Case
    actions: list[Action]
    why: str

    def timeline(self, spec: ModeSpec, *, symmetry: bool) -> str:
        from .timeline import render_path

        return render_path(spec, self.case, self.actions, symmetry=symmetry)


@dataclass
class CaseResult:
    case: Case
    states: int
    edges: int
    depth: int
    truncated: bool
    seconds: float
    violations: dict[str, Violation] = field(default_factory=dict)
    witnessed: set[str] = field(default_factory=set)
    applicable: set[str] = field(default_factory=set)


def check_case(
    spec: ModeSpec,
    props: PropertySet,
    case: Case,
    *,
    symmetry: bool = True,
    max_states: int = 2_000_000,
    progress: Callable[[int, int], None] | None = None,
) -> CaseResult:
    config = case.config
    active = [p for p in props if p.applies(config)]
    always = [p for p in active if p.kind is Kind.ALWAYS]
    steps = [p for p in active if p.kind is Kind.STEP]
    sometimes = [p for p in active if p.kind is Kind.SOMETIMES]
    settles = [p for p in active if p.kind is Kind.SETTLES]
    bad_state: dict[str, int] = {}
    bad_edge: dict[str, tuple[int, Action]] = {}
    witness: dict[str, int] = {}

    def on_state(sid: int, world: Any) -> None:
        for p in always:
            if p.id not in bad_state and not p.holds(config, world):
                bad_state[p.id] = sid
        for p in sometimes:
            if p.id not in witness and p.holds(config, world):
                witness[p.id] = sid

    def on_edge(src: int, before: Any, action: Action, after: Any) -> None:
        if not steps:
            return
        move = move_of(spec, action)
        for p in steps:
            if p.id not in bad_edge and not p.holds(config, before, move, after):
                bad_edge[p.id] = (src, action)

    started = time.perf_counter()
    ex = explore(
        spec, config, case.initial, max_states=max_states, symmetry=symmetry,
        on_state=on_state, on_edge=on_edge, progress=progress,
    )
    result = CaseResult(
        case, len(ex.states), len(ex.edges), max(ex.depth), ex.truncated, 0.0,
        applicable={p.id for p in active},
    )
    for pid, sid in bad_state.items():
        result.violations[pid] = Violation(pid, case, ex.path_to(sid), "a reachable state breaks it")
    for pid, (src, action) in bad_edge.items():
        result.violations[pid] = Violation(pid, case, ex.path_to(src) + [action], "this step breaks it")
    result.witnessed = set(witness)
    for p in settles:
        problem = _settles_problem(ex, lambda w, p=p: p.holds(config, w))  # type: ignore[misc]
        if problem is not None:
            result.violations[p.id] = Violation(p.id, case, problem[0], problem[1])
    result.seconds = time.perf_counter() - started
    return result


def _settles_problem(ex: Exploration, holds: Callable[[Any], bool]) -> tuple[list[Action], str] | None:
    if ex.truncated:
        return [], "inconclusive: the exploration was cut off at its state bound"
    g = ex.graph()
    if not nx.is_directed_acyclic_graph(g):
        cycle = nx.find_cycle(g)
        entry = cycle[0][0]
        loop = [g.edges[e]["rule"] for e in cycle]
        actions = ex.path_to(entry)
        for u, v, key in cycle:
            actions.append((g.edges[u, v, key]["rule"], key[1]))
        return actions, f"a run can go round a cycle of {len(loop)} steps forever"
    for sid in ex.sinks():
        if not holds(ex.states[sid]):
            return ex.path_to(sid), "a run stops here without settling"
    return None

