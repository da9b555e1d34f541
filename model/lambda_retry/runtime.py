"""The table as a ``transitions`` state machine: a second, independent interpreter.

One ``Machine`` is built per mode (and cached); a :class:`Runner` holds a world
and the phase of the unit being moved.  Firing an action sets the runner to the
unit's phase and calls the rule's trigger: ``transitions`` then picks, among the
rows with that trigger and that source, the first whose guard holds, and runs
its effect as an ``after`` callback.  The differential test checks that this
gives the same successor as the pure step function on every explored edge, so a
table whose rows overlap, or an effect that ignores its row's phases, is caught.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from transitions import EventData, Machine

from .spec import Action, ModeSpec, Rule


class _Guard:
    def __init__(self, spec: ModeSpec, rule: Rule) -> None:
        self.spec, self.rule = spec, rule
        self.__name__ = rule.guard.__name__

    def __call__(self, event: EventData) -> bool:
        runner: Runner = event.model  # type: ignore[assignment]
        if self.rule.time_passes:
            return self.spec.next_deadline(runner.config, runner.world) is not None
        return bool(self.rule.guard(runner.config, runner.world, event.kwargs["param"]))


class _Effect:
    def __init__(self, spec: ModeSpec, index: int) -> None:
        self.spec, self.index = spec, index
        self.__name__ = spec.rules[index].effect.__name__

    def __call__(self, event: EventData) -> None:
        runner: Runner = event.model  # type: ignore[assignment]
        runner.world = self.spec.step(runner.config, runner.world, (self.index, event.kwargs["param"]))
        runner.fired = self.index


class Runner:
    """A ``transitions`` model: ``state`` is the phase of the unit the last trigger moved."""

    state: str

    def __init__(self, spec: ModeSpec, config: Any, world: Any) -> None:
        self.spec, self.config, self.world = spec, config, world
        self.fired: int | None = None

    def fire(self, action: Action) -> int:
        """Fire ``action`` by its trigger name; return the index of the row transitions chose."""
        index, param = action
        r = self.spec.rules[index]
        machine = machine_for(self.spec)
        units = r.units(param)
        phase = self.world.items[units[0]].phase if units else self.spec.initial_phase
        machine.set_state(str(phase), model=self)
        self.fired = None
        if not self.trigger(r.event, param=param):  # type: ignore[attr-defined]
            raise AssertionError(f"{self.spec.name}: trigger {r.event} did not fire in phase {phase}")
        assert self.fired is not None
        return self.fired


@cache
def machine_for(spec: ModeSpec) -> Machine:
    """The mode's ``Machine``, with strict settings: no auto transitions, invalid triggers raise."""
    transitions: list[dict[str, Any]] = []
    for index, r in enumerate(spec.rules):
        row: dict[str, Any] = {
            "trigger": r.event,
            "conditions": [_Guard(spec, r)],
            "after": [_Effect(spec, index)],
        }
        if r.dest is None:
            row.update(source="*", dest=None)
        else:
            row.update(source=sorted(str(p) for p in r.source), dest=str(r.dest))
        transitions.append(row)
    return Machine(
        model=None,
        states=[str(p.value) for p in spec.phases],
        transitions=transitions,
        initial=str(spec.initial_phase),
        auto_transitions=False,
        ignore_invalid_triggers=False,
        send_event=True,
        model_override=False,
    )


def runner(spec: ModeSpec, config: Any, world: Any) -> Runner:
    r = Runner(spec, config, world)
    machine_for(spec).add_model(r)
    return r


def release(r: Runner) -> None:
    machine_for(r.spec).remove_model(r)
