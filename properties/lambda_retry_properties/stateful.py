"""The random engine: a Hypothesis ``RuleBasedStateMachine`` generated from a mode's table.

One rule, ``step``, draws among the actions enabled in the current world (a
precondition-per-rule machine wastes most test cases on disabled rules).  Every
``always`` property becomes an ``@invariant``; every ``step`` property is checked
right after each step; a ``sometimes`` property that holds is reported with
``hypothesis.event`` (it is not asserted: random runs prove no reachability);
``settles`` properties are checked in ``teardown`` after running the world to the
end with the first enabled action each time (the graph of every mode is acyclic,
so this terminates).

Settings profiles ``dev``, ``ci`` and ``thorough`` are chosen with the
environment variable ``LAMBDA_RETRY_HYPOTHESIS`` (default ``ci``).  ``ci`` is
derandomized, so the same code gives the same examples (``dev`` is a quicker random
run, ``thorough`` a long one); every failure prints a
``@reproduce_failure`` blob and the timeline of the failing run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from lambda_retry.explore import Step
from lambda_retry.spec import ModeSpec
from lambda_retry.timeline import entries, render

from .check import Case
from .core import Kind, Property, PropertySet, move_of

SETTINGS = {
    "dev": settings(max_examples=60, stateful_step_count=60, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow]),
    "ci": settings(max_examples=150, stateful_step_count=80, deadline=None, print_blob=True,
                   derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]),
    "thorough": settings(max_examples=1000, stateful_step_count=200, deadline=None, print_blob=True,
                         suppress_health_check=[HealthCheck.too_slow]),
}
ENV_VAR = "LAMBDA_RETRY_HYPOTHESIS"


def chosen_settings() -> settings:
    name = os.environ.get(ENV_VAR, "ci")
    if name not in SETTINGS:
        raise ValueError(f"{ENV_VAR}={name!r}; allowed: {', '.join(SETTINGS)}")
    return SETTINGS[name]


class PropertyFailed(AssertionError):
    pass


WITNESSED: set[str] = set()
"""IDs of ``sometimes`` properties some run has witnessed since the last :func:`run_machine`."""
PROPERTY_ID = re.compile(r"\b[A-Z]+-[STRL]\d\d\b")


@dataclass
class Outcome:
    """What one Hypothesis run found."""

    broken: set[str]
    """IDs of the properties a run broke (from the failure report)."""
    not_witnessed: set[str]
    """``sometimes`` properties that applied to some case but no run witnessed."""
    report: str
    examples: int


def run_machine(
    spec: ModeSpec, props: PropertySet, cases: Sequence[Case], *, chosen: settings | None = None
) -> Outcome:
    """Run the generated machine; collect broken property IDs instead of raising."""
    machine = make_state_machine(spec, props, cases)
    WITNESSED.clear()
    counter = {"n": 0}
    original = machine.__init__

    def counting_init(self: Any) -> None:
        counter["n"] += 1
        original(self)

    machine.__init__ = counting_init  # type: ignore[method-assign]
    report = ""
    broken: set[str] = set()
    try:
        run_state_machine_as_test(machine, settings=chosen or chosen_settings())
    except (AssertionError, ExceptionGroup) as err:
        report = _describe(err)
        broken = set(PROPERTY_ID.findall(report.split("\n")[0])) | _ids(err)
    applicable = {p.id for p in props.of_kind(Kind.SOMETIMES) if any(p.applies(c.config) for c in cases)}
    not_witnessed = set() if broken else applicable - WITNESSED
    return Outcome(broken, not_witnessed, report, counter["n"])


def _ids(err: BaseException) -> set[str]:
    if isinstance(err, BaseExceptionGroup):
        return set().union(*(_ids(e) for e in err.exceptions))
    if isinstance(err, PropertyFailed):
        return set(PROPERTY_ID.findall(str(err).split("\n")[0]))
    return set()


def _describe(err: BaseException) -> str:
    if isinstance(err, BaseExceptionGroup):
        return "\n\n".join(_describe(e) for e in err.exceptions)
    return f"{type(err).__name__}: {err}"


def make_state_machine(spec: ModeSpec, props: PropertySet, cases: Sequence[Case]) -> type[RuleBasedStateMachine]:
    """A state machine class that runs ``spec`` from one of ``cases`` and checks ``props``."""
    always = props.of_kind(Kind.ALWAYS)
    steps = props.of_kind(Kind.STEP)
    sometimes = props.of_kind(Kind.SOMETIMES)
    settles = props.of_kind(Kind.SETTLES)
    case_list = list(cases)

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.case: Case | None = None
            self.world: Any = None
            self.names: tuple[str, ...] = ()
            self.history: list[Step] = []

        @initialize(case=st.sampled_from(case_list))
        def start(self, case: Case) -> None:
            self.case = case
            self.world = case.initial
            self.names = case.names

        def _enabled(self) -> list[Any]:
            assert self.case is not None
            return spec.enabled(self.case.config, self.world)

        @precondition(lambda self: self.case is not None)
        @rule(data=st.data())
        def step(self, data: st.DataObject) -> None:
            actions = self._enabled()
            if not actions:
                return  # settled: nothing can happen any more
            action = data.draw(st.sampled_from(actions), label="action")
            self._fire(action)

        def _fire(self, action: Any) -> None:
            assert self.case is not None
            config = self.case.config
            before = self.world
            after = spec.step(config, before, action)
            r = spec.rules[action[0]]
            units = tuple(self.names[u] for u in r.units(action[1]))
            self.history.append(Step(before, action, after, units, self.names))
            move = move_of(spec, action)
            for p in steps:
                if p.applies(config) and not p.holds(config, before, move, after):
                    self._fail(p)
            self.world = after
            for p in sometimes:
                if p.applies(config) and p.holds(config, after):
                    event(f"{p.id} witnessed")
                    WITNESSED.add(p.id)

        def _fail(self, p: Property) -> None:
            assert self.case is not None
            trace = render(entries(spec, self.history)) or "(the initial state)"
            raise PropertyFailed(
                f"{p.id} {p.name} broken in case {self.case.label}:\n{p.statement}\n{trace}"
            )

        def teardown(self) -> None:
            if self.case is None:
                return
            config = self.case.config
            for _ in range(100_000):
                actions = self._enabled()
                if not actions:
                    break
                self._fire(actions[0])
                for p in always:
                    if p.applies(config) and not p.holds(config, self.world):
                        self._fail(p)
            for p in settles:
                if p.applies(config) and not p.holds(config, self.world):
                    self._fail(p)

    for p in always:
        def check(self: Any, p: Property = p) -> None:
            if self.case is not None and p.applies(self.case.config) and not p.holds(self.case.config, self.world):
                self._fail(p)

        check.__name__ = f"{p.id.replace('-', '_').lower()}_{p.name}"
        setattr(Machine, check.__name__, invariant()(check))

    Machine.__name__ = Machine.__qualname__ = f"{spec.name}_machine"
    return Machine
