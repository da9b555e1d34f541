"""Stream polling: the table's structure, the shard lifecycle, a transitions differential, settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import networkx as nx
import pytest
from transitions import Machine

from lambda_retry.explore import explore
from lambda_retry.modes.stream_poll import (
    SHARD_LIFECYCLE,
    SPEC,
    Config,
    Environment,
    RecordSpec,
    initial_world,
    lane_phase,
)
from lambda_retry.modes.stream_poll.rules import lane_of
from lambda_retry.modes.stream_poll.shard import ShardPhase
from lambda_retry.settings import InputError, parse_config
from lambda_retry.spec import Rule, always, keep
from lambda_retry_properties.profiles.stream_poll import PROFILES


def _control_graph() -> nx.MultiDiGraph:
    g: nx.MultiDiGraph = nx.MultiDiGraph()
    g.add_nodes_from(p.value for p in SPEC.phases)
    for r in SPEC.unit_rules:
        for src in r.source:
            g.add_edge(str(src), str(r.dest), key=r.event)
    return g


def test_every_phase_is_reachable_and_terminal_phases_have_no_way_out() -> None:
    g = _control_graph()
    reachable = nx.descendants(g, SPEC.initial_phase) | {SPEC.initial_phase}
    assert reachable == {p.value for p in SPEC.phases}
    for phase in SPEC.phases:
        if phase in SPEC.terminal:
            assert g.out_degree(phase.value) == 0, phase
        else:
            assert any(dst != phase.value for _, dst in g.out_edges(phase.value)), phase


def test_rows_are_named_noted_and_sourced() -> None:
    guards = [r.guard.__name__ for r in SPEC.rules if not r.time_passes]
    effects = [r.effect.__name__ for r in SPEC.rules if not r.time_passes]
    assert len(set(guards)) == len(guards)
    assert len(set(effects)) == len(effects)
    for r in SPEC.rules:
        assert "<lambda>" not in (r.guard.__name__, r.effect.__name__)
        assert r.note and r.source_ref
        assert r.time_passes or (r.guard is not always and r.effect is not keep)


def test_shard_lifecycle_names_only_events_and_guards_of_the_table() -> None:
    events = {r.event for r in SPEC.rules}
    for row in SHARD_LIFECYCLE:
        assert row.event in events, row
        assert row.guard in {r.guard.__name__ for r in SPEC.rule_named(row.event)}, row
        assert row.source in set(ShardPhase) and row.dest in set(ShardPhase)
    assert {row.source for row in SHARD_LIFECYCLE} | {row.dest for row in SHARD_LIFECYCLE} == set(ShardPhase)
    assert {row.guard for row in SHARD_LIFECYCLE} == {r.guard.__name__ for r in SPEC.rules if not r.time_passes}


def _acted_lane(world: Any, rule_: Rule, param: Any) -> int | None:
    if rule_.time_passes:
        return None
    if isinstance(param, int):
        return lane_of(world, param)
    return int(param[1])


def _edges(limit_per_case: int = 3000) -> Iterator[tuple[Any, Any, Any, tuple[int, Any], Any]]:
    for profile in PROFILES:
        for case in profile.cases:
            ex = explore(SPEC, case.config, case.initial, symmetry=False)
            for src, dst, action in ex.edges[:limit_per_case]:
                yield case.config, ex.states[src], ex.states[dst], action, case.label


def test_every_explored_step_follows_the_shard_lifecycle() -> None:
    rows = {(row.source, row.event, row.guard, row.dest) for row in SHARD_LIFECYCLE}
    seen: set[tuple[str, str, str, str]] = set()
    for config, before, after, (index, param), label in _edges():
        r = SPEC.rules[index]
        li = _acted_lane(before, r, param)
        if li is None:
            continue
        key = (lane_phase(config, before, li), r.event, r.guard.__name__, lane_phase(config, after, li))
        assert key in rows, f"{label}: {key} is not in SHARD_LIFECYCLE"
        seen.add(key)
    # the parent row is reached through the parent's events; every other row must occur
    missing = rows - seen - {(ShardPhase.WAITING_FOR_PARENT, "handler_succeeds", "run_has_ended", ShardPhase.IDLE)}
    assert not missing


class _Driver:
    """A ``transitions`` machine built from the table: one transition per (row, source phase)."""

    def __init__(self) -> None:
        self.config: Any = None
        self.world: Any = None
        self.result: Any = None
        self.machine = Machine(model=self, states=[p.value for p in SPEC.phases], initial=SPEC.initial_phase,
                               auto_transitions=False, ignore_invalid_triggers=False)
        for r in SPEC.rules:
            if r.time_passes:
                continue
            for src in sorted(r.source):
                self.machine.add_transition(r.event, str(src), str(r.dest),
                                            conditions=[self._guard(r)], after=[self._effect(r)])

    def _guard(self, r: Rule) -> Callable[[Any], bool]:
        def condition(param: Any) -> bool:
            return bool(r.guard(self.config, self.world, param))

        condition.__name__ = r.guard.__name__
        return condition

    def _effect(self, r: Rule) -> Callable[[Any], None]:
        def effect(param: Any) -> None:
            self.result = r.effect(self.config, self.world, param)

        effect.__name__ = r.effect.__name__
        return effect

    def fire(self, config: Any, world: Any, event: str, param: Any, phase: str) -> Any:
        self.config, self.world, self.result = config, world, None
        self.machine.set_state(phase)
        assert self.trigger(event, param)  # type: ignore[attr-defined]
        return self.result


def test_transitions_machine_takes_the_explored_step_on_every_edge() -> None:
    driver = _Driver()
    for config, before, after, (index, param), label in _edges(limit_per_case=1500):
        r = SPEC.rules[index]
        if r.time_passes:
            continue
        phase = before.items[r.units(param)[0]].phase
        assert driver.fire(config, before, r.event, param, str(phase)) == after, (label, r.event, param)


@pytest.mark.parametrize(("raw", "needle"), [
    ({"source": "dynamodb", "retention_hours": 48}, "DynamoDB Streams keep records 24 hours"),
    ({"maximum_retry_attempts": -2}, "config.maximum_retry_attempts"),
    ({"maximum_record_age_seconds": 30}, "-1 (no limit) or an integer from 60 to 604800"),
    ({"batch_size": 0}, "config.batch_size"),
    ({"parallelization_factor": 11}, "an integer from 1 to 10"),
    ({"on_failure": "lambda"}, "null, \"sqs\", \"sns\" or \"s3\""),
    ({"retention_hours": 9000}, "config.retention_hours"),
    ({"retry_backoff_seconds": []}, "a list of 1 to 16 integers"),
    ({"visibility_timeout": 30}, "unknown key 'visibility_timeout'"),
])
def test_bad_settings_name_the_key_and_what_is_allowed(raw: dict[str, Any], needle: str) -> None:
    with pytest.raises(InputError, match=None) as err:
        parse_config(Config, raw)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_defaults_reproduce_the_seed_page() -> None:
    c = Config()
    assert (c.maximum_retry_attempts, c.maximum_record_age_seconds) == (-1, -1)
    assert (c.batch_size, c.maximum_batching_window_seconds, c.parallelization_factor) == (100, 0, 1)
    assert c.retention_hours == 24 and not c.bisect_batch_on_function_error and not c.report_batch_item_failures
    # retried until the data expires: a record that always fails expires when retention ends, never discarded
    config = Config(retry_backoff_seconds=(3600,), env=Environment(results=("error",)))
    ex = explore(SPEC, config, initial_world(config, [RecordSpec("s1")]))
    (end,) = [ex.states[s] for s in ex.sinks()]
    assert end.items[0].phase == "expired" and end.items[0].settled_at == 24 * 3600
