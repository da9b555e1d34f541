"""The exhaustive engine: every profile proves every property with its pinned counts, and every
wrong variant is caught with the property ID it was written against."""

from __future__ import annotations

import networkx as nx
import pytest

from cases import ALL_PROFILES, ALL_VARIANTS, MODES, profile_id
from lambda_retry.explore import explore
from lambda_retry_properties.verify import run_profile


@pytest.mark.parametrize("pair", ALL_PROFILES, ids=profile_id)
def test_profile_proves_every_property_with_pinned_counts(pair) -> None:  # type: ignore[no-untyped-def]
    mode, profile = pair
    report = run_profile(mode, profile)
    details = [f"{o.prop.id}: {o.violation.timeline(mode.spec, symmetry=profile.symmetry)}"
               for o in report.outcomes if o.violation is not None]
    assert report.ok, "\n".join(report.problems + details)


@pytest.mark.parametrize("pair", ALL_VARIANTS, ids=profile_id)
def test_explorer_catches_wrong_variant(pair) -> None:  # type: ignore[no-untyped-def]
    mode, profile = pair
    report = run_profile(mode, profile)
    broken = report.broken()
    assert all(pid in broken for pid in profile.must_break), (profile.must_break, broken)


@pytest.mark.parametrize("pair", ALL_PROFILES[:1], ids=profile_id)
def test_state_graph_is_acyclic_and_deterministic(pair) -> None:  # type: ignore[no-untyped-def]
    mode, profile = pair
    case = profile.cases[-1]
    first = explore(mode.spec, case.config, case.initial, symmetry=profile.symmetry)
    second = explore(mode.spec, case.config, case.initial, symmetry=profile.symmetry)
    assert first.states == second.states and first.edges == second.edges
    assert nx.is_directed_acyclic_graph(first.graph())


def test_symmetry_reduction_keeps_the_verdicts_and_shrinks_the_graph() -> None:


    mode = MODES["async_invoke"]
    profile = mode.profile("duplicates")
    case = profile.cases[0]
    reduced = explore(mode.spec, case.config, case.initial, symmetry=True)
    full = explore(mode.spec, case.config, case.initial, symmetry=False)
    assert len(reduced.states) < len(full.states)
    assert {mode.spec.settled(full.states[s]) for s in full.sinks()} == {True}
