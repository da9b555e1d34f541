"""SQS polling on both engines: every property is caught, by its own ID, by the explorer and by the
Hypothesis machine (derandomized ``ci`` settings) on some wrong variant; the correct profiles
prove and witness everything."""

from __future__ import annotations

import pytest

from lambda_retry.explore import explore
from lambda_retry_properties.core import Kind
from lambda_retry_properties.registry import modes
from lambda_retry_properties.stateful import SETTINGS, run_machine
from lambda_retry_properties.verify import run_profile

MODE = modes()["sqs_poll"]


def test_every_property_is_caught_by_both_engines_under_its_own_id() -> None:
    explorer: set[str] = set()
    hypothesis: set[str] = set()
    for profile in MODE.variant_profiles:
        broken = run_profile(MODE, profile).broken()
        assert all(pid in broken for pid in profile.must_break), (profile.name, broken)
        explorer |= set(profile.must_break)
        outcome = run_machine(profile.spec, MODE.properties, profile.cases, chosen=SETTINGS["ci"])
        found = outcome.broken | outcome.not_witnessed
        assert found & set(profile.must_break), (profile.name, found, outcome.report[:2000])
        hypothesis |= found & set(profile.must_break)
    every = {p.id for p in MODE.properties}
    assert explorer == every
    assert hypothesis == every, f"never caught by Hypothesis under its own ID: {every - hypothesis}"


@pytest.mark.parametrize("profile", MODE.profiles, ids=lambda p: p.name)
def test_correct_profile_under_ci_settings(profile) -> None:  # type: ignore[no-untyped-def]
    outcome = run_machine(profile.spec, MODE.properties, profile.cases, chosen=SETTINGS["ci"])
    assert not outcome.broken, outcome.report  # witnesses: the explorer proves reachability


def test_every_sometimes_property_is_witnessed_by_some_profile() -> None:
    witnessed = set()
    for profile in MODE.profiles:
        report = run_profile(MODE, profile)
        witnessed |= {o.prop.id for o in report.outcomes if o.result == "witnessed"}
    assert witnessed == {p.id for p in MODE.properties.of_kind(Kind.SOMETIMES)}


def test_every_always_and_step_property_applies_to_some_profile() -> None:
    proved = set()
    for profile in MODE.profiles:
        report = run_profile(MODE, profile)
        proved |= {o.prop.id for o in report.outcomes if o.result == "proved"}
    assert proved == {p.id for p in MODE.properties if p.kind is not Kind.SOMETIMES}


def test_the_graphs_are_acyclic_and_every_table_row_is_taken() -> None:
    taken: set[int] = set()
    for profile in MODE.profiles:
        for case in profile.cases:
            ex = explore(profile.spec, case.config, case.initial)
            taken |= {action[0] for _src, _dst, action in ex.edges}
    assert taken == set(range(len(MODE.spec.rules)))


def test_redriving_one_receive_early_is_a_short_counterexample() -> None:
    profile = MODE.profile("bug_redrives_one_receive_early")
    report = run_profile(MODE, profile)
    violation = next(o.violation for o in report.outcomes if o.prop.id == "SQS-T05")
    assert violation is not None
    timeline = violation.timeline(profile.spec, symmetry=True)
    assert "sqs_moves_message_to_dlq" in timeline and timeline.count("poller_receives_batch") == 1
