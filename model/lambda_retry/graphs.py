"""The control graph of a mode (phases and rules, as networkx) and the structural lints on it."""

from __future__ import annotations

import networkx as nx

from .spec import ModeSpec, always, keep

_ANONYMOUS = ("<lambda>", "<locals>")


def control_graph(spec: ModeSpec) -> nx.MultiDiGraph:
    """Nodes are phases (in declaration order); one edge per (rule, source phase)."""
    g: nx.MultiDiGraph = nx.MultiDiGraph(name=spec.name)
    for phase in spec.phases:
        g.add_node(phase.value, initial=phase.value == spec.initial_phase, terminal=phase.value in spec.terminal)
    for index, r in enumerate(spec.rules):
        if r.dest is None:
            continue
        for source in sorted(r.source, key=spec.phase_rank):
            g.add_edge(
                source, r.dest, key=index, event=r.event, guard=r.guard.__name__,
                effect=r.effect.__name__, actor=r.actor.value, note=r.note, source_ref=r.source_ref,
            )
    return g


def lint(spec: ModeSpec) -> list[str]:
    """Structural problems of a mode's table; an empty list means it is well formed."""
    problems: list[str] = []
    g = control_graph(spec)
    phases = [p.value for p in spec.phases]
    if spec.initial_phase not in phases:
        problems.append(f"initial phase {spec.initial_phase!r} is not a phase")
        return problems
    reachable = nx.descendants(g, spec.initial_phase) | {spec.initial_phase}
    for phase in phases:
        if phase not in reachable:
            problems.append(f"phase {phase!r} is not reachable from {spec.initial_phase!r}")
    for phase in phases:
        leaving = [d for _, d in g.out_edges(phase) if d != phase]
        if phase in spec.terminal and g.out_degree(phase):
            problems.append(f"terminal phase {phase!r} has a way out")
        if phase not in spec.terminal and not leaving:
            problems.append(f"phase {phase!r} is not terminal but has no way out")
    if not spec.terminal:
        problems.append("no terminal phase")
    for t in spec.terminal:
        if t not in phases:
            problems.append(f"terminal {t!r} is not a phase")
    for r in spec.rules:
        for phase in r.source:
            if phase not in phases:
                problems.append(f"rule {r.event}: source {phase!r} is not a phase")
        if r.dest is not None and r.dest not in phases:
            problems.append(f"rule {r.event}: dest {r.dest!r} is not a phase")
        if not r.note.strip():
            problems.append(f"rule {r.event}: no note")
        if not r.source_ref.strip():
            problems.append(f"rule {r.event}: no source tag")
        for what, fn in (("guard", r.guard), ("effect", r.effect)):
            name = getattr(fn, "__qualname__", "")
            if any(a in name for a in _ANONYMOUS):
                problems.append(f"rule {r.event}: {what} is anonymous ({name}); name it")
        if not r.time_passes and r.dest is None:
            problems.append(f"rule {r.event}: moves no unit but is not the clock rule")
    guards: dict[str, str] = {}
    for r in spec.rules:
        if r.guard is always or r.time_passes:
            continue
        name = r.guard.__name__
        if name in guards and guards[name] != r.event:
            problems.append(f"guard {name} is used by {guards[name]} and {r.event}: one name, one meaning")
        guards[name] = r.event
        if r.effect is keep and r.dest is not None and r.source == frozenset({r.dest}):
            problems.append(f"rule {r.event}: a self-loop that changes nothing")
    rows: dict[tuple[str, str], int] = {}
    for r in spec.rules:
        rows[(r.event, r.guard.__name__)] = rows.get((r.event, r.guard.__name__), 0) + 1
    for (event, guard), n in rows.items():
        if n > 1:
            problems.append(f"{n} rows of {event} share the guard {guard}")
    if sum(1 for r in spec.rules if r.time_passes) > 1:
        problems.append("more than one clock rule")
    return problems
