"""Exhaustive breadth-first exploration of a mode's world states.

The hot loop uses plain lists and a dict from world to id: no ``transitions``
machine and no networkx per state.  The networkx graph is built afterwards from
the arrays (:meth:`Exploration.graph`).  With a symmetry reduction (the mode's
``canonical``), worlds that differ only in which position holds which
interchangeable item are stored once.  Breadth-first order makes every path from
the initial world found through ``parent`` a shortest one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from .spec import Action, ModeSpec


class ModelError(AssertionError):
    """The table contradicts itself (an effect that ignores its rule's phases, a dead end)."""


@dataclass
class Exploration:
    spec: ModeSpec
    config: Any
    states: list[Any]
    edges: list[tuple[int, int, Action]]
    parent: list[tuple[int, Action] | None]
    depth: list[int]
    truncated: bool
    symmetry: bool
    out_degree: list[int] = field(default_factory=list)

    @property
    def initial(self) -> Any:
        return self.states[0]

    def path_to(self, state_id: int) -> list[Action]:
        """Actions of a shortest path from the initial world to ``state_id``."""
        actions: list[Action] = []
        while (link := self.parent[state_id]) is not None:
            state_id, action = link
            actions.append(action)
        actions.reverse()
        return actions

    def graph(self) -> nx.MultiDiGraph:
        """The reachable state graph: nodes are state ids, edges keyed by rule event."""
        g: nx.MultiDiGraph = nx.MultiDiGraph()
        for sid, world in enumerate(self.states):
            g.add_node(sid, depth=self.depth[sid], settled=self.spec.settled(world))
        for src, dst, (index, param) in self.edges:
            g.add_edge(src, dst, key=(self.spec.rules[index].event, param), rule=index)
        return g

    def sinks(self) -> list[int]:
        return [sid for sid, n in enumerate(self.out_degree) if n == 0]


def explore(
    spec: ModeSpec,
    config: Any,
    initial: Any,
    *,
    max_states: int = 2_000_000,
    symmetry: bool = True,
    on_state: Callable[[int, Any], None] | None = None,
    on_edge: Callable[[int, Any, Action, Any], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Exploration:
    """Breadth-first search over every world reachable from ``initial``.

    ``on_state(id, world)`` is called once per new state and ``on_edge(src_id,
    before, action, after)`` once per edge, in breadth-first order, so callers
    can check properties as states are found.  ``after`` is the successor before
    the symmetry reduction, so item positions match ``before`` and ``action``.
    """
    canonical = spec.canonical if symmetry and spec.canonical is not None else None
    start = canonical(initial)[0] if canonical else initial
    index: dict[Any, int] = {start: 0}
    states: list[Any] = [start]
    parent: list[tuple[int, Action] | None] = [None]
    depth = [0]
    edges: list[tuple[int, int, Action]] = []
    out_degree: list[int] = []
    truncated = False
    rules = spec.rules
    if on_state:
        on_state(0, start)
    head = 0
    while head < len(states):
        world = states[head]
        actions = spec.enabled(config, world)
        out_degree.append(len(actions))
        for action in actions:
            nxt = spec.step(config, world, action)
            r = rules[action[0]]
            if r.dest is not None:
                _check_phases(spec, world, nxt, action)
            if on_edge:
                on_edge(head, world, action, nxt)
            key = canonical(nxt)[0] if canonical else nxt
            dst = index.get(key)
            if dst is None:
                if len(states) >= max_states:
                    truncated = True
                    continue
                dst = len(states)
                index[key] = dst
                states.append(key)
                parent.append((head, action))
                depth.append(depth[head] + 1)
                if on_state:
                    on_state(dst, key)
            edges.append((head, dst, action))
        head += 1
        if progress and head % 50_000 == 0:
            progress(head, len(states))
    return Exploration(spec, config, states, edges, parent, depth, truncated, canonical is not None, out_degree)


def _check_phases(spec: ModeSpec, before: Any, after: Any, action: Action) -> None:
    r = spec.rules[action[0]]
    for unit in r.units(action[1]):
        was, now = before.items[unit].phase, after.items[unit].phase
        if was not in r.source or now != r.dest:
            raise ModelError(
                f"{spec.name}: rule {r.event} moved item {unit} from {was} to {now}, "
                f"but its row says {sorted(r.source)} -> {r.dest}"
            )


@dataclass(frozen=True)
class Step:
    """One step of a replayed path, with items named as the caller named them."""

    before: Any
    action: Action
    after: Any
    units: tuple[str, ...]
    names_after: tuple[str, ...]


def replay(
    spec: ModeSpec, config: Any, initial: Any, actions: list[Action], names: tuple[str, ...], *, symmetry: bool
) -> list[Step]:
    """Re-run ``actions`` (found on canonical worlds) and keep track of each item's name."""
    canonical = spec.canonical if symmetry and spec.canonical is not None else None
    world = initial
    if canonical:
        world, order = canonical(world)
        names = tuple(names[k] for k in order)
    steps: list[Step] = []
    for action in actions:
        nxt = spec.step(config, world, action)
        units = tuple(names[u] for u in spec.rules[action[0]].units(action[1]))
        new_names = names
        if canonical:
            nxt, order = canonical(nxt)
            new_names = tuple(names[k] for k in order)
        steps.append(Step(world, action, nxt, units, new_names))
        world, names = nxt, new_names
    return steps
