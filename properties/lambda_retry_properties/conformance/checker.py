"""Trace validation: is an observed trace a behaviour the model allows?

The observed events of a peer (an emulator, a test double, a real account) are
replayed through the mode's table.  Every rule either shows nothing (queueing,
waiting, the clock) or produces observable events (``observe.py`` of the mode);
the checker searches the model's runs from the scenario's starting world for
one whose observable events are exactly the trace's, in order, each within the
declared time tolerance.  If there is none, it reports the first observed event
no run can explain, what the model would have allowed there instead, and which
properties the trace breaks (found by forcing the table's rules past their
guards to reproduce the event, and judging the resulting step).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from lambda_retry.scenario import Setup, parse
from lambda_retry.settings import InputError
from lambda_retry.spec import Action, ModeSpec

from ..core import Kind, PropertySet, move_of

MAX_NODES = 500_000


@dataclass
class Verdict:
    allowed: bool
    events: int
    explained: int
    first_unexplained: dict[str, Any] | None = None
    expected: list[dict[str, Any]] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    note: str = ""

    def summary(self) -> str:
        if self.allowed:
            return f"allowed: the model explains all {self.events} observed events{self.note}"
        lines = [f"not allowed: the model explains the first {self.explained} of {self.events} observed events"]
        if self.first_unexplained is not None:
            lines.append(f"first event it does not allow (#{self.explained + 1}): {_show(self.first_unexplained)}")
        if self.expected:
            lines.append("the model would allow instead:")
            lines += [f"  {_show(e)}" for e in self.expected]
        if self.broken:
            lines.append(f"properties this trace breaks: {', '.join(self.broken)}")
        if self.note:
            lines.append(self.note.strip())
        return "\n".join(lines)


def _show(event: Mapping[str, Any]) -> str:
    parts = [f"t={event.get('t')}", str(event.get("kind"))]
    parts += [f"{k}={v}" for k, v in event.items() if k not in ("t", "kind", "detail") and v is not None]
    return " ".join(parts)


@dataclass(frozen=True)
class ModeHooks:
    spec: ModeSpec
    kinds: tuple[str, ...]
    observe: Callable[[tuple[str, ...], Any, Action, Any], list[dict[str, Any]]]
    config_for_trace: Callable[[Any, tuple[str, ...], Sequence[Mapping[str, Any]], int], Any]


def hooks(mode: str) -> ModeHooks:
    try:
        module: Any = import_module(f"lambda_retry.modes.{mode}.observe")
    except ModuleNotFoundError:
        raise InputError(f"mode {mode!r} has no trace projection yet") from None
    return ModeHooks(module.SPEC, module.KINDS, module.observe, module.config_for_trace)


def check_trace(
    scenario: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    props: PropertySet | None,
    *,
    tolerance: float = 1.0,
    drift: float = 0.0,
    time_scale: float = 1.0,
    observes: Iterable[str] | None = None,
    complete: bool = True,
    duplicates: int = 0,
) -> Verdict:
    """Judge ``events`` (already in scenario seconds) against the model of ``scenario``.

    ``duplicates``: how many duplicate deliveries per item the model may use to explain the
    trace (AWS delivers at least once; 0 makes extra runs divergences).  An observed time
    matches within ``tolerance + drift × t`` scenario seconds."""
    _mod, setup, _until = parse(scenario)
    h = hooks(str(scenario["mode"]))
    seen = set(observes) if observes is not None else set(h.kinds)
    arrivals = [e for e in events if e["kind"] == "arrival"]
    trace = [_scaled(e, time_scale) for e in events if e["kind"] in seen and e["kind"] in h.kinds]
    config = h.config_for_trace(setup.config, setup.names, trace, duplicates)
    problem = _check_arrivals(setup, arrivals, time_scale, tolerance)
    if problem is not None:
        return Verdict(False, len(trace), 0, problem, [], [], "")
    return _search(h, config, setup, trace, seen, props, Tolerance(tolerance, drift), complete)


def _scaled(event: Mapping[str, Any], scale: float) -> dict[str, Any]:
    out = dict(event)
    out["t"] = float(event["t"]) * scale
    return out


def _check_arrivals(setup: Setup, arrivals: Sequence[Mapping[str, Any]], scale: float,
                    tolerance: float) -> dict[str, Any] | None:
    at = {name: float(item.arrived_at) for name, item in zip(setup.names, setup.world.items, strict=True)
          if hasattr(item, "arrived_at")}
    for e in arrivals:
        if e["item"] not in setup.names:
            return dict(e)
        if e["item"] in at and abs(float(e["t"]) * scale - at[e["item"]]) > tolerance:
            return dict(e)
    return None


@dataclass(frozen=True)
class Tolerance:
    """How far an observed time may be from the model's: ``seconds + drift × t``."""

    seconds: float = 1.0
    drift: float = 0.0

    def allows(self, model_t: float, seen_t: float) -> bool:
        return abs(model_t - seen_t) <= self.seconds + self.drift * max(model_t, 0.0)


def matches(model: Mapping[str, Any], seen: Mapping[str, Any], tolerance: Tolerance | float) -> bool:
    tol = tolerance if isinstance(tolerance, Tolerance) else Tolerance(float(tolerance))
    if model["kind"] != seen["kind"] or not tol.allows(float(model["t"]), float(seen["t"])):
        return False
    for key, value in model.items():
        if key in ("t", "kind") or value is None:
            continue
        other = seen.get(key)
        if other is None and key in ("condition", "approximate_invoke_count", "failed_items"):
            continue  # the peer did not observe this detail
        if isinstance(value, list):
            if sorted(value) != sorted(other or []):
                return False
        elif value != other:
            return False
    return True


def _search(h: ModeHooks, config: Any, setup: Setup, trace: list[dict[str, Any]], seen: set[str],
            props: PropertySet | None, tolerance: Tolerance, complete: bool) -> Verdict:
    spec = h.spec
    names = setup.names
    start = setup.world
    Node = tuple[Any, int, frozenset[tuple[str, str]]]
    stack: list[Node] = [(start, 0, frozenset())]
    visited: set[Node] = {(start, 0, frozenset())}
    best = 0
    frontier: list[Any] = [start]
    ends_early: list[Any] = []
    while stack:
        if len(visited) > MAX_NODES:
            return Verdict(False, len(trace), best, trace[best] if best < len(trace) else None, [], [],
                           f"\ninconclusive: more than {MAX_NODES:,} model states searched")
        world, pos, promised = stack.pop()
        if pos > best:
            best, frontier = pos, [world]
        elif pos == best:
            frontier.append(world)
        if pos == len(trace) and (not complete or spec.settled(world)):
            return Verdict(True, len(trace), pos)
        for action in spec.enabled(config, world):
            after = spec.step(config, world, action)
            advanced = _advance(h.observe(names, world, action, after), trace, pos, promised, seen, tolerance)
            if advanced is not None:
                node = (after, *advanced)
                if node not in visited:
                    visited.add(node)
                    stack.append(node)
        if pos == len(trace) and not spec.settled(world):
            ends_early.append(world)
    if best == len(trace):
        expected = _expected(h, config, names, ends_early or frontier, seen)
        return Verdict(False, len(trace), best, None, expected, [],
                       "\nthe trace ends before every item has settled; "
                       "the model still requires one of the events above")
    expected = _expected(h, config, names, frontier, seen)
    broken = _broken(h, config, names, frontier, trace[best], props, tolerance) if props else []
    return Verdict(False, len(trace), best, trace[best], expected, broken)


def _advance(shown: list[dict[str, Any]], trace: Sequence[Mapping[str, Any]], pos: int,
             promised: frozenset[tuple[str, str]], seen: set[str],
             tolerance: Tolerance) -> tuple[int, frozenset[tuple[str, str]]] | None:
    """Match a step's observable events against the trace from ``pos``; None if they do not match.

    A ``pending`` result is matched with any result and remembered; the ``resolve`` event
    that decides it later must agree with what the trace said.
    """
    for e in shown:
        if e["kind"] == "resolve":
            told = dict(promised).get(e["key"])
            if told is not None:
                if told != e["result"]:
                    return None
                promised = promised - {(e["key"], told)}
            continue
        if e["kind"] not in seen:
            continue
        if pos >= len(trace):
            return None
        pending = e.get("result") if isinstance(e.get("result"), dict) else None
        probe = {**e, "result": None} if pending else e
        if not matches(probe, trace[pos], tolerance):
            return None
        if pending:
            promised = promised | {(pending["pending"], str(trace[pos].get("result")))}
        pos += 1
    return pos, promised


def _expected(h: ModeHooks, config: Any, names: tuple[str, ...], worlds: Sequence[Any],
              seen: set[str]) -> list[dict[str, Any]]:
    """The next observable events the model allows from ``worlds`` (through silent steps)."""
    found: dict[str, dict[str, Any]] = {}
    todo = list(worlds)
    visited = set(todo)
    while todo and len(visited) < 20_000:
        world = todo.pop()
        for action in h.spec.enabled(config, world):
            after = h.spec.step(config, world, action)
            shown = [e for e in h.observe(names, world, action, after) if e["kind"] in seen]
            if shown:
                first = {k: (None if isinstance(v, dict) else v) for k, v in shown[0].items()}
                found.setdefault(_show(first), first)
            elif after not in visited:
                visited.add(after)
                todo.append(after)
    return sorted(found.values(), key=lambda e: (float(e["t"]), _show(e)))[:8]


def _broken(h: ModeHooks, config: Any, names: tuple[str, ...], worlds: Sequence[Any], event: Mapping[str, Any],
            props: PropertySet, tolerance: Tolerance) -> list[str]:
    """Properties broken by forcing the table to produce ``event`` (guards ignored, up to two steps)."""
    spec = h.spec
    broken: set[str] = set()
    for world in worlds[:50]:
        at = world._replace(clock=max(world.clock, float(event["t"])))
        for first in _forced(spec, config, at):
            mid = spec.step(config, at, first) if not spec.rules[first[0]].time_passes else at
            for second in [None, *_forced(spec, config, mid)]:
                steps = [(at, first, mid)]
                end = mid
                if second is not None:
                    end = spec.step(config, mid, second)
                    steps.append((mid, second, end))
                before, action, after = steps[-1]
                shown = [{k: (None if isinstance(v, dict) else v) for k, v in e.items()}
                         for e in h.observe(names, before, action, after) if e["kind"] != "resolve"]
                if not any(matches(e, event, tolerance) for e in shown):
                    continue
                for b, a, c in steps:
                    move = move_of(spec, a)
                    for p in props:
                        if not p.applies(config):
                            continue
                        if p.kind is Kind.STEP and not p.holds(config, b, move, c):
                            broken.add(p.id)
                        if p.kind is Kind.ALWAYS and not p.holds(config, c):
                            broken.add(p.id)
    return sorted(broken)


def _forced(spec: ModeSpec, config: Any, world: Any) -> list[Action]:
    out: list[Action] = []
    for index, r in enumerate(spec.rules):
        if r.time_passes:
            continue
        out += [(index, p) for p in r.params(config, world, r)]
    return out
