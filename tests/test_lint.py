"""Structural lints on every mode's table, and proof that the lints can fire."""

from __future__ import annotations

from dataclasses import replace

from lambda_retry.graphs import control_graph, lint
from lambda_retry.modes.async_invoke import SPEC as ASYNC
from lambda_retry.modes.async_invoke.world import Phase
from lambda_retry_properties.registry import Mode


def test_every_table_is_well_formed(mode: Mode) -> None:
    assert lint(mode.spec) == []


def test_control_graph_has_every_phase_and_unit_rule(mode: Mode) -> None:
    g = control_graph(mode.spec)
    assert set(g.nodes) == {p.value for p in mode.spec.phases}
    assert g.number_of_edges() == sum(len(r.source) for r in mode.spec.unit_rules)


def test_lint_finds_an_unreachable_phase_and_a_dead_end() -> None:
    without_routing = replace(ASYNC, rules=tuple(r for r in ASYNC.rules if r.event != "lambda_routes_failure"))
    problems = lint(without_routing)
    assert any("'failed' is not terminal but has no way out" in p for p in problems)
    assert any("'dead_lettered' is not reachable" in p for p in problems)


def test_lint_finds_a_terminal_phase_with_a_way_out() -> None:
    leaky = ASYNC.with_rule("queue_delivers_duplicate", "duplicate_delivery_allowed",
                            source=frozenset({Phase.SUCCEEDED}), dest=Phase.RUNNING)
    assert any("terminal phase 'succeeded' has a way out" in p for p in lint(leaky))


def test_lint_finds_anonymous_guards_and_missing_sources() -> None:
    anonymous = ASYNC.with_rule("handler_succeeds", "run_has_ended", guard=lambda c, w, p: True, source_ref="")
    problems = lint(anonymous)
    assert any("guard is anonymous" in p for p in problems)
    assert any("no source tag" in p for p in problems)
