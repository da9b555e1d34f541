"""Named bounded profiles: which configurations each engine checks, with pinned results.

A profile is the analogue of a TLA+ ``MC.cfg`` plus its manifest entry: a set of
cases (configuration and starting world) and what exploring them must give, the
number of distinct states and edges for a correct model, or the property IDs a
wrong variant must break.  Counts change only on purpose, in review.
"""

from __future__ import annotations

from dataclasses import dataclass

from lambda_retry.spec import ModeSpec

from ..check import Case


@dataclass(frozen=True)
class Profile:
    name: str
    spec: ModeSpec
    cases: tuple[Case, ...]
    states: int | None = None
    """Pinned number of distinct states over all cases (after the symmetry reduction)."""
    edges: int | None = None
    must_break: tuple[str, ...] = ()
    """For a wrong variant: property IDs the explorer must report broken."""
    symmetry: bool = True
    max_states: int = 1_000_000
    hypothesis: bool = True
    """Also run this profile's cases through the Hypothesis machine."""

    @property
    def mode(self) -> str:
        return self.spec.name

    @property
    def is_variant(self) -> bool:
        return bool(self.must_break)
