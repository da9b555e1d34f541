"""Differential test: the ``transitions`` machine built from each table and the pure step
function agree on every edge of the explored graph."""

from __future__ import annotations

import pytest

from cases import ALL_PROFILES, profile_id
from lambda_retry.explore import explore
from lambda_retry.modes.async_invoke import SPEC as ASYNC
from lambda_retry.modes.async_invoke import Config, initial_world
from lambda_retry.runtime import release, runner
from lambda_retry.spec import ModeSpec


def _disagreements(spec: ModeSpec, config: object, initial: object, symmetry: bool) -> list[str]:
    ex = explore(spec, config, initial, symmetry=symmetry)
    run = runner(spec, config, None)
    problems = []
    try:
        for src, _dst, action in ex.edges:
            world = ex.states[src]
            run.world = world
            chosen = run.fire(action)
            expected = spec.step(config, world, action)
            if chosen != action[0] or run.world != expected:
                rule = spec.rules[action[0]]
                problems.append(f"{rule.event} {action[1]!r}: transitions chose row {chosen}, table row {action[0]}")
    finally:
        release(run)
    return problems


@pytest.mark.parametrize("pair", ALL_PROFILES, ids=profile_id)
def test_transitions_runner_agrees_on_every_edge(pair) -> None:  # type: ignore[no-untyped-def]
    _mode, profile = pair
    for case in profile.cases:
        assert _disagreements(profile.spec, case.config, case.initial, profile.symmetry) == []


def test_overlapping_guards_are_caught() -> None:
    def run_has_ended_too(c, w, p):  # type: ignore[no-untyped-def]
        return True

    # handler_fails rows now overlap: transitions takes the first whose guard holds, the table both.
    overlapping = ASYNC.with_rule("handler_fails", "run_failed_with_retries_exhausted", guard=run_has_ended_too)
    problems = _disagreements(overlapping, Config(), initial_world([0]), True)
    assert problems
