"""The vocabulary every invocation mode is written in.

A mode is a declarative table (:class:`ModeSpec`): the phases one unit of work
(an event, a message, a record, a call) goes through, and the rules that move
units between phases.  A rule names its trigger, the phases it leaves and
enters, who decides it (the environment or the service), a named guard, a pure
effect, a one-line note and the source it encodes.

Rules act on a *world*: a frozen, hashable ``NamedTuple`` holding the virtual
clock (field ``clock``), every unit (field ``items``, each with a ``phase``)
and whatever the mode shares between units.  A rule may take a parameter (which
item, which batch, which run duration), like TLA+'s ``\\E m \\in Msgs``.

Time is virtual.  Every waiting unit stores a deadline; the special
``clock_advances`` rule (``time_passes=True``) jumps the clock to the earliest
pending deadline, and only when no urgent rule can fire (maximal progress), so
every timed rule fires exactly at its deadline and nothing ever sleeps.  Rules
marked ``urgent=False`` (a duplicate delivery) may happen at any time or never.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

Time = float
"""Virtual seconds since the start of a run (ints are used where possible)."""

Param = Any
"""A rule's parameter: an item index, a tuple of indices, or a tuple of an index and a choice."""
Action = tuple[int, Param]
"""An enabled action: the index of a rule in its table, and its parameter."""


class Actor(StrEnum):
    """Who decides that a rule fires."""

    ENVIRONMENT = "environment"
    """An outside choice: what the handler returns, a throttle, a duplicate delivery."""
    SERVICE = "service"
    """A decision Lambda, SQS or the poller makes by itself."""


class Item(Protocol):
    @property
    def phase(self) -> str: ...


class World(Protocol):
    @property
    def clock(self) -> Time: ...

    @property
    def items(self) -> Sequence[Item]: ...

    def _replace(self, **changes: Any) -> Any: ...


Guard = Callable[[Any, Any, Any], bool]
Effect = Callable[[Any, Any, Any], Any]
ParamsOf = Callable[[Any, Any, "Rule"], Iterable[Param]]
UnitsOf = Callable[[Param], tuple[int, ...]]


def always(config: Any, world: Any, param: Any) -> bool:
    """The guard of a rule that needs no condition beyond its source phase."""
    return True


def keep(config: Any, world: Any, param: Any) -> Any:
    """The effect of a rule that changes nothing."""
    return world


def each_item_in_source(config: Any, world: Any, rule: Rule) -> Iterable[Param]:
    """Default parameters: the index of every item whose phase the rule leaves."""
    return [k for k, item in enumerate(world.items) if item.phase in rule.source]


def no_params(config: Any, world: Any, rule: Rule) -> Iterable[Param]:
    return (None,)


def unit_is_param(param: Param) -> tuple[int, ...]:
    assert isinstance(param, int)
    return (param,)


def unit_is_first(param: Param) -> tuple[int, ...]:
    assert isinstance(param, tuple) and isinstance(param[0], int)
    return (param[0],)


def units_are_param(param: Param) -> tuple[int, ...]:
    assert isinstance(param, tuple)
    return tuple(int(k) for k in param)


def units_are_first(param: Param) -> tuple[int, ...]:
    assert isinstance(param, tuple) and isinstance(param[0], tuple)
    return tuple(int(k) for k in param[0])


def no_units(param: Param) -> tuple[int, ...]:
    return ()


@dataclass(frozen=True)
class Rule:
    """One row of a mode's table."""

    event: str
    """Trigger name: edge label, Hypothesis label and trace entry."""
    source: frozenset[str]
    """Phases a unit must be in for the rule to apply to it."""
    dest: str | None
    """Phase the unit is in afterwards; ``None`` for a rule that moves no unit."""
    actor: Actor
    guard: Guard
    effect: Effect
    note: str
    """One sentence for the docs table and diagram tooltip."""
    source_ref: str
    """The reference tag (see docs/index.md) of the fact this rule encodes."""
    params: ParamsOf = each_item_in_source
    units: UnitsOf = unit_is_param
    time_passes: bool = False
    """The clock rule: enabled only when no urgent rule is, jumps to the next deadline."""
    describe: Callable[[Param], str] | None = None
    """How a timeline shows the parameter beyond the item (a result, a duration)."""
    urgent: bool = True
    """An urgent rule must fire (or be disabled) before time may pass; a non-urgent one is an
    optional environment event (a duplicate delivery) that may happen at any time or never."""


def rule(
    event: str,
    source: Iterable[str],
    dest: str | None,
    actor: Actor,
    *,
    guard: Guard = always,
    effect: Effect = keep,
    note: str,
    ref: str,
    params: ParamsOf = each_item_in_source,
    units: UnitsOf = unit_is_param,
    describe: Callable[[Param], str] | None = None,
    urgent: bool = True,
) -> Rule:
    """Build a table row; keyword arguments keep the table readable."""
    return Rule(
        event=event,
        source=frozenset(source),
        dest=dest,
        actor=actor,
        guard=guard,
        effect=effect,
        note=note,
        source_ref=ref,
        params=params,
        units=units,
        describe=describe,
        urgent=urgent,
    )


CLOCK_NOTE = ("Virtual time jumps to the earliest pending deadline when no urgent rule can fire "
              "(optional environment events, such as a duplicate delivery, do not hold it back).")


def clock_rule(note: str = CLOCK_NOTE, ref: str = "architecture.md") -> Rule:
    """The ``clock_advances`` row every timed mode puts at the end of its table."""
    return Rule(
        event="clock_advances",
        source=frozenset(),
        dest=None,
        actor=Actor.SERVICE,
        guard=no_urgent_rule_can_fire,
        effect=keep,
        note=note,
        source_ref=ref,
        params=no_params,
        units=no_units,
        time_passes=True,
    )


def no_urgent_rule_can_fire(config: Any, world: Any, param: Any) -> bool:
    """Guard of ``clock_advances``; evaluated by :meth:`ModeSpec.enabled` itself."""
    return True


Deadlines = Callable[[Any, Any], Iterable[Time]]
Canonical = Callable[[Any], tuple[Any, tuple[int, ...]]]


@dataclass(frozen=True)
class ModeSpec:
    """A mode's whole table plus the few functions the engines need."""

    name: str
    title: str
    phases: type[StrEnum]
    initial_phase: str
    terminal: frozenset[str]
    rules: tuple[Rule, ...]
    deadlines: Deadlines
    """Every pending deadline of a world; the clock only ever jumps to one of these."""
    canonical: Canonical | None = None
    """Symmetry reduction: maps a world to a representative and the item order used."""
    lifecycle: str = "unit"
    """What one unit is called in diagrams and docs: event, message, record, call."""
    _by_phase: dict[str, tuple[int, ...]] = field(init=False, compare=False, repr=False)
    _rank: dict[str, int] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        by_phase: dict[str, list[int]] = {p.value: [] for p in self.phases}
        for index, r in enumerate(self.rules):
            if r.params is each_item_in_source:
                for phase in r.source:
                    by_phase.setdefault(phase, []).append(index)
        object.__setattr__(self, "_by_phase", {p: tuple(v) for p, v in by_phase.items()})
        object.__setattr__(self, "_rank", {p.value: n for n, p in enumerate(self.phases)})

    def with_rule(self, event: str, guard_name: str, /, **changes: Any) -> ModeSpec:
        """A copy with the row (``event``, guard named ``guard_name``) changed: how wrong variants are made."""
        rows = [r for r in self.rules if r.event == event and r.guard.__name__ == guard_name]
        if len(rows) != 1:
            raise KeyError(f"{self.name}: no single row {event} [{guard_name}]")
        rules = tuple(replace(r, **changes) if r is rows[0] else r for r in self.rules)
        return replace(self, rules=rules)

    # -- semantics ---------------------------------------------------------------------------

    def enabled(self, config: Any, world: Any) -> list[Action]:
        """Every (rule, parameter) that may fire in ``world``, in table order."""
        found: list[Action] = []
        clock_index = -1
        present = {item.phase for item in world.items}
        for index, r in enumerate(self.rules):
            if r.time_passes:
                clock_index = index
                continue
            if r.params is each_item_in_source or (r.source and r.source.isdisjoint(present)):
                continue
            for param in r.params(config, world, r):
                if r.guard(config, world, param):
                    found.append((index, param))
        for k, item in enumerate(world.items):
            for index in self._by_phase.get(item.phase, ()):
                if self.rules[index].guard(config, world, k):
                    found.append((index, k))
        if len(found) > 1:
            found.sort(key=_rule_index)  # stable: parameters keep their generated order
        if (
            clock_index >= 0
            and not any(self.rules[index].urgent for index, _ in found)
            and self.next_deadline(config, world) is not None
        ):
            found.append((clock_index, None))
        return found

    def next_deadline(self, config: Any, world: Any) -> Time | None:
        later = [t for t in self.deadlines(config, world) if t > world.clock]
        return min(later) if later else None

    def step(self, config: Any, world: Any, action: Action) -> Any:
        """Fire one enabled action; pure."""
        index, param = action
        r = self.rules[index]
        if r.time_passes:
            nxt = self.next_deadline(config, world)
            assert nxt is not None, "clock_advances fired with no pending deadline"
            return world._replace(clock=nxt)
        return r.effect(config, world, param)

    def phase_rank(self, phase: str) -> int:
        """A phase's position in declaration order: how tables and diagrams list phases."""
        return self._rank[phase]

    def settled(self, world: Any) -> bool:
        return all(item.phase in self.terminal for item in world.items)

    def rule_named(self, event: str) -> list[Rule]:
        return [r for r in self.rules if r.event == event]

    @property
    def unit_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.dest is not None)


def _rule_index(action: Action) -> int:
    return action[0]


def set_item(world: Any, index: int, item: Any) -> Any:
    """Return ``world`` with item ``index`` replaced (worlds are immutable)."""
    items = list(world.items)
    items[index] = item
    return world._replace(items=tuple(items))


def sort_items(world: Any) -> tuple[Any, tuple[int, ...]]:
    """Symmetry reduction for modes whose items are interchangeable.

    Items are ordered by value (so every item field must be orderable: ints,
    strings, tuples; never ``None`` or sets), and two worlds that differ only in which position
    holds which item map to the same representative.  Returns the representative
    and ``order`` with ``order[new] = old``.
    """
    items = world.items
    order = tuple(sorted(range(len(items)), key=items.__getitem__))
    if order == tuple(range(len(items))):
        return world, order
    return world._replace(items=tuple(items[k] for k in order)), order
