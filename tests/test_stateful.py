"""The random engine: the Hypothesis machine generated from each table finds no violation on a
correct model, and catches every wrong variant.

Random runs prove no reachability, so on a correct model a ``sometimes`` property that no run
happened to witness is reported, not failed (the explorer proves every one).  On a wrong variant
a ``sometimes`` property counts as caught when no run witnesses it; the explorer then checks that
the correct model does reach it from the same cases, so the miss is the bug's doing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from cases import ALL_PROFILES, ALL_VARIANTS, profile_id
from lambda_retry_properties.stateful import run_machine
from lambda_retry_properties.verify import run_profile


@pytest.mark.parametrize("pair", [p for p in ALL_PROFILES if p[1].hypothesis], ids=profile_id)
def test_hypothesis_finds_no_violation(pair) -> None:  # type: ignore[no-untyped-def]
    mode, profile = pair
    outcome = run_machine(profile.spec, mode.properties, profile.cases)
    assert not outcome.broken, outcome.report
    if outcome.not_witnessed:
        print(f"{profile.name}: not witnessed in {outcome.examples} random runs: {sorted(outcome.not_witnessed)}")


@pytest.mark.parametrize("pair", ALL_VARIANTS, ids=profile_id)
def test_hypothesis_catches_wrong_variant(pair) -> None:  # type: ignore[no-untyped-def]
    mode, profile = pair
    outcome = run_machine(profile.spec, mode.properties, profile.cases)
    caught = [pid for pid in profile.must_break if pid in outcome.broken | outcome.not_witnessed]
    assert caught, (profile.must_break, outcome.broken, outcome.report)
    by_absence = [pid for pid in caught if pid not in outcome.broken]
    if by_absence:
        correct = run_profile(mode, replace(profile, spec=mode.spec, must_break=()))
        reached = {o.prop.id for o in correct.outcomes if o.result == "witnessed"}
        assert set(by_absence) <= reached, f"the correct model does not reach {by_absence} from these cases"
