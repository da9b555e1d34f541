"""Deliberately wrong models: each must be caught by the property it was written against."""

from __future__ import annotations

from dataclasses import dataclass

from .spec import ModeSpec


@dataclass(frozen=True)
class Variant:
    name: str
    """``bug_<what>``, used in profile names."""
    description: str
    spec: ModeSpec
