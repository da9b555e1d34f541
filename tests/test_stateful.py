"""The random engine: the Hypothesis machine generated from each table finds no violation on a
correct model, witnesses every reachability property, and catches every wrong variant."""

from __future__ import annotations

import pytest

from cases import ALL_PROFILES, ALL_VARIANTS, profile_id
from lambda_retry_properties.stateful import run_machine


@pytest.mark.parametrize("pair", [p for p in ALL_PROFILES if p[1].hypothesis], ids=profile_id)
def test_hypothesis_finds_no_violation(pair) -> None:  # type: ignore[no-untyped-def]
    mode, profile = pair
    outcome = run_machine(profile.spec, mode.properties, profile.cases)
    assert not outcome.broken, outcome.report
    assert not outcome.not_witnessed, f"never witnessed in {outcome.examples} runs: {outcome.not_witnessed}"


@pytest.mark.parametrize("pair", ALL_VARIANTS, ids=profile_id)
def test_hypothesis_catches_wrong_variant(pair) -> None:  # type: ignore[no-untyped-def]
    mode, profile = pair
    outcome = run_machine(profile.spec, mode.properties, profile.cases)
    found = outcome.broken | outcome.not_witnessed
    assert any(pid in found for pid in profile.must_break), (profile.must_break, outcome.broken, outcome.report)
