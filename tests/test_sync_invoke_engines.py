"""sync_invoke on both engines: every profile proves every property with its pinned counts, and
every wrong variant is caught with its property ID by the explorer and by Hypothesis (ci settings,
derandomized, so these runs are reproducible)."""

from __future__ import annotations

import pytest

from lambda_retry.modes.sync_invoke.variants import VARIANTS
from lambda_retry_properties.profiles import Profile
from lambda_retry_properties.profiles.sync_invoke import PROFILES, VARIANT_PROFILES
from lambda_retry_properties.registry import Mode
from lambda_retry_properties.stateful import SETTINGS, run_machine
from lambda_retry_properties.sync_invoke import P
from lambda_retry_properties.verify import run_profile

MODE = Mode("sync_invoke", P.spec, P, PROFILES, VARIANT_PROFILES, VARIANTS)
"""Built here rather than through ``registry.modes()`` so a mode under construction elsewhere
cannot stop these tests."""


def _name(p: Profile) -> str:
    return p.name


@pytest.mark.parametrize("profile", PROFILES, ids=_name)
def test_profile_proves_every_property_with_its_pinned_counts(profile: Profile) -> None:
    report = run_profile(MODE, profile)
    assert report.ok, report.problems
    assert report.seconds < 10


@pytest.mark.parametrize("profile", PROFILES, ids=_name)
def test_profile_stays_small(profile: Profile) -> None:
    assert profile.states is not None and 0 < profile.states < 100_000


@pytest.mark.parametrize("profile", VARIANT_PROFILES, ids=_name)
def test_explorer_catches_the_variant(profile: Profile) -> None:
    broken = run_profile(MODE, profile).broken()
    assert all(pid in broken for pid in profile.must_break), (profile.must_break, broken)


@pytest.mark.parametrize("profile", VARIANT_PROFILES, ids=_name)
def test_hypothesis_catches_the_variant(profile: Profile) -> None:
    outcome = run_machine(profile.spec, MODE.properties, profile.cases, chosen=SETTINGS["ci"])
    found = outcome.broken | outcome.not_witnessed
    assert all(pid in found for pid in profile.must_break), (profile.must_break, outcome.report)


@pytest.mark.parametrize("profile", PROFILES, ids=_name)
def test_hypothesis_finds_nothing_wrong(profile: Profile) -> None:
    outcome = run_machine(profile.spec, MODE.properties, profile.cases, chosen=SETTINGS["ci"])
    assert not outcome.broken, outcome.report  # witnesses: the explorer proves reachability


def test_every_property_has_a_variant_and_the_issue_s_two_are_there() -> None:
    caught = {pid for p in VARIANT_PROFILES for pid in p.must_break}
    assert caught == {p.id for p in P}
    names = {v.name for v in VARIANTS}
    assert {"bug_lambda_retries_function_error", "bug_sdk_retries_function_error"} <= names


def test_variant_cases_are_tiny() -> None:
    for profile in VARIANT_PROFILES:
        assert len(profile.cases) == 1
        assert run_profile(MODE, profile).states < 5_000, profile.name
