"""Stream polling: every profile proves every property with its pinned counts, and every wrong
variant is caught with its expected ID by both engines (and not by the correct model)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lambda_retry.modes.stream_poll import SPEC
from lambda_retry.modes.stream_poll.variants import VARIANTS
from lambda_retry_properties.profiles import Profile
from lambda_retry_properties.profiles.stream_poll import PROFILES, VARIANT_PROFILES
from lambda_retry_properties.registry import Mode
from lambda_retry_properties.stateful import SETTINGS, run_machine
from lambda_retry_properties.stream_poll import P
from lambda_retry_properties.verify import run_profile

MODE = Mode("stream_poll", SPEC, P, PROFILES, VARIANT_PROFILES, VARIANTS)


def test_every_property_has_a_variant_and_every_variant_a_profile() -> None:
    expected = {pid for profile in VARIANT_PROFILES for pid in profile.must_break}
    assert expected == {p.id for p in P}
    assert {profile.name.split(".", 1)[1] for profile in VARIANT_PROFILES} == {v.name for v in VARIANTS}


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_profile_proves_every_property_with_pinned_counts(profile: Profile) -> None:
    report = run_profile(MODE, profile)
    assert report.ok, report.problems
    assert report.seconds < 10


@pytest.mark.parametrize("profile", VARIANT_PROFILES, ids=lambda p: p.name)
def test_explorer_catches_the_variant_and_not_the_correct_model(profile: Profile) -> None:
    report = run_profile(MODE, profile)
    assert report.ok, report.problems
    correct = run_profile(MODE, replace(profile, spec=SPEC, must_break=()))
    assert not set(profile.must_break) & set(correct.broken())


@pytest.mark.parametrize("profile", VARIANT_PROFILES, ids=lambda p: p.name)
def test_hypothesis_catches_the_variant(profile: Profile) -> None:
    outcome = run_machine(profile.spec, P, profile.cases, chosen=SETTINGS["ci"])
    for pid in profile.must_break:
        assert pid in outcome.broken or pid in outcome.not_witnessed, outcome.report


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_hypothesis_finds_nothing_wrong_with_the_correct_model(profile: Profile) -> None:
    outcome = run_machine(SPEC, P, profile.cases, chosen=SETTINGS["ci"])
    assert not outcome.broken, outcome.report  # witnesses: the explorer proves reachability
