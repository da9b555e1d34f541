"""sync_invoke: the table's shape, Lambda's request lifecycle, the transitions runner, and settings input."""

from __future__ import annotations

from typing import Any

import pytest

from lambda_retry.explore import explore
from lambda_retry.graphs import lint
from lambda_retry.modes import sync_invoke
from lambda_retry.modes.sync_invoke import REQUEST_LIFECYCLE, SPEC, Config, Environment, initial_world
from lambda_retry.modes.sync_invoke.config import parse_sync_config
from lambda_retry.modes.sync_invoke.rules import RECEIVED
from lambda_retry.modes.sync_invoke.world import TERMINAL, RequestPhase
from lambda_retry.runtime import release, runner
from lambda_retry.scenario import simulate
from lambda_retry.settings import InputError
from lambda_retry_properties.profiles.sync_invoke import PROFILES

REQUEST_PHASES = {p.value for p in RequestPhase}


def test_table_is_well_formed() -> None:
    assert lint(SPEC) == []
    assert SPEC.canonical is None, "calls are referred to by position from requests: no symmetry reduction"


def test_request_lifecycle_names_only_events_and_guards_of_the_table() -> None:
    rows = {(r.event, r.guard.__name__): r for r in SPEC.rules}
    for source, event, guard, dest, note in REQUEST_LIFECYCLE:
        assert event in {r.event for r in SPEC.rules}, event
        assert (event, guard) in rows, (event, guard)
        assert source == RECEIVED or source in REQUEST_PHASES, source
        assert dest in REQUEST_PHASES, dest
        assert note


def test_request_lifecycle_is_exported_for_the_diagram() -> None:
    assert sync_invoke.REQUEST_LIFECYCLE is REQUEST_LIFECYCLE
    assert all(len(row) == 5 for row in REQUEST_LIFECYCLE)


def _request_moves(before: Any, after: Any) -> set[tuple[str, str]]:
    """(from, to) for every request an edge created (from ``received``) or moved."""
    old = {(r.call, r.attempt): r.phase for r in before.requests}
    moves = set()
    for r in after.requests:
        was = old.get((r.call, r.attempt), RECEIVED)
        if was != r.phase:
            moves.add((str(was), str(r.phase)))
    return moves


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_every_explored_request_move_is_a_row_of_the_request_lifecycle(profile: Any) -> None:
    rows = {(str(s), e, g, str(d)) for s, e, g, d, _ in REQUEST_LIFECYCLE}
    used = set()
    for case in profile.cases:
        ex = explore(SPEC, case.config, case.initial)
        for src, dst, action in ex.edges:
            r = SPEC.rules[action[0]]
            for was, now in _request_moves(ex.states[src], ex.states[dst]):
                row = (was, r.event, r.guard.__name__, now)
                assert row in rows, row
                used.add(row)
    if profile.name == "sync_invoke.lambda_side":
        assert used >= {row for row in rows if row[1] != "client_read_times_out"}


def test_every_row_of_the_request_lifecycle_is_reached() -> None:
    rows = {(str(s), e, g, str(d)) for s, e, g, d, _ in REQUEST_LIFECYCLE}
    used = set()
    for profile in PROFILES:
        for case in profile.cases:
            ex = explore(SPEC, case.config, case.initial)
            for src, dst, action in ex.edges:
                r = SPEC.rules[action[0]]
                for was, now in _request_moves(ex.states[src], ex.states[dst]):
                    used.add((was, r.event, r.guard.__name__, now))
    assert used == rows


def test_transitions_runner_agrees_with_the_table_on_the_overlap_profile() -> None:
    profile = next(p for p in PROFILES if p.name == "sync_invoke.overlap")
    for case in profile.cases:
        ex = explore(SPEC, case.config, case.initial)
        run = runner(SPEC, case.config, None)
        try:
            for src, _dst, action in ex.edges:
                run.world = ex.states[src]
                assert run.fire(action) == action[0]
                assert run.world == SPEC.step(case.config, ex.states[src], action)
        finally:
            release(run)


def test_every_phase_of_the_call_is_used_and_every_outcome_reached() -> None:
    seen: set[str] = set()
    for profile in PROFILES:
        for case in profile.cases:
            ex = explore(SPEC, case.config, case.initial)
            seen |= {c.phase for w in ex.states for c in w.items}
    assert seen == {p.value for p in SPEC.phases}
    assert TERMINAL <= seen


def test_lambda_never_retries_a_synchronous_request() -> None:
    """Every request in every explored world belongs to exactly one client attempt."""
    for profile in PROFILES:
        for case in profile.cases:
            ex = explore(SPEC, case.config, case.initial)
            for w in ex.states:
                for k, call in enumerate(w.items):
                    attempts = sorted(r.attempt for r in w.requests if r.call == k)
                    assert attempts == list(range(1, call.attempts + 1))


def test_backoff_bounds_follow_botocore() -> None:
    legacy, standard = Config(), Config(retry_mode="standard")
    assert [legacy.backoff_bound(n, throttled=False) for n in (1, 2, 3, 4, 6)] == [1, 2, 4, 8, 32]
    assert [standard.backoff_bound(n, throttled=False) for n in (1, 2, 5, 6, 9)] == [1, 2, 16, 20, 20]
    new = Config(retry_mode="standard", new_retries_2026=True)
    assert new.backoff_bound(1, throttled=True) == 1 and new.backoff_bound(1, throttled=False) == 0.05
    assert (standard.retry_cost(throttled=True, timed_out=False), standard.retry_cost(False, True)) == (5, 10)
    assert (new.retry_cost(throttled=True, timed_out=False), new.retry_cost(False, True)) == (5, 14)
    assert [Config(retry_mode=m).total_attempts for m in ("none", "legacy", "standard", "adaptive")] == [1, 5, 3, 3]


def test_a_tie_between_the_answer_and_the_read_timeout_is_a_timeout() -> None:
    config = Config(function_timeout_seconds=120, retry_mode="none",
                    env=Environment(results=("ok",), run_durations=(60,)))
    ex = explore(SPEC, config, initial_world((0,)))
    final = [w for w in ex.states if SPEC.settled(w)]
    assert len(final) == 1 and final[0].items[0].phase == "failed"


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"function_timeout_seconds": 901},
         "config: function_timeout_seconds: 901 is out of range; allowed: an integer from 1 to 900"),
        ({"function_timeout_seconds": 0}, "config.function_timeout_seconds: 0 is out of range"),
        ({"retry_mode": "legacy"}, "config: unknown key 'retry_mode' (it belongs in config.client)"),
        ({"client": {"retry_mode": "fast"}},
         "config.client.retry_mode: 'fast' is not one of the allowed values; allowed: \"none\", \"legacy\""),
        ({"client": {"max_attempts": 0}}, "config.client.max_attempts: 0 is out of range"),
        ({"client": {"retry_mode": "none", "max_attempts": 3}},
         "config: client.max_attempts: 3 contradicts retry_mode \"none\""),
        ({"client": {"timeout": 1}}, "config.client: unknown key 'timeout'; allowed keys: retry_mode, max_attempts"),
        ({"client": {"backoff_jitter": 1}}, "config.client.backoff_jitter: 1 is out of range"),
        ({"client": 3}, "config.client: must be an object"),
        ({"service_exception_ran": "maybe"}, "config.service_exception_ran: 'maybe' is not one of the allowed"),
    ],
)
def test_bad_config_is_one_clear_line(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as err:
        parse_sync_config(raw)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_timeouts_past_900_need_their_switch() -> None:
    config, _ = parse_sync_config({"function_timeout_seconds": 1800, "allow_timeouts_past_900": True})
    assert config.function_timeout_seconds == 1800


@pytest.mark.parametrize(
    "items, handler, message",
    [
        ([{"id": "c1", "invocation_type": "Async"}], None, "items[0].invocation_type: 'Async' is not an invocation"),
        ([{"id": "c1"}], {"c1": [{"result": "ok", "status_code": 500}]},
         "handler.c1[0].status_code: only a \"service_error\" result takes a status_code"),
        ([{"id": "c1"}], {"c1": [{"result": "service_error", "status_code": 503}]},
         "handler.c1[0].status_code: 503 is not an invocation error status"),
        ([{"id": "c1", "invocation_type": "DryRun"}], {"c1": [{"result": "service_error", "ran": True}]},
         "handler.c1[0].ran: a DryRun request never runs the function here"),
        ([{"id": "c1"}], {"c1": [{"result": "throttle", "reason": "Busy"}]},
         "handler.c1[0].reason: 'Busy' is not a reason"),
    ],
)
def test_bad_scenario_input_is_one_clear_line(items: list[Any], handler: Any, message: str) -> None:
    with pytest.raises(InputError) as err:
        simulate({"mode": "sync_invoke", "items": items, "handler": handler})
    assert message in str(err.value)


def test_ran_must_agree_with_its_switch() -> None:
    with pytest.raises(InputError, match="contradicts service_exception_ran 'no'"):
        simulate({"mode": "sync_invoke", "config": {"service_exception_ran": "no"}, "items": [{"id": "c1"}],
                  "handler": {"c1": [{"result": "service_error", "ran": True}]}})
