"""Every modelled mode and its profiles, for parametrised tests."""

from __future__ import annotations

from typing import Any

from lambda_retry_properties.registry import modes

MODES = modes()
ALL_PROFILES = [(m, p) for m in MODES.values() for p in m.profiles]
ALL_VARIANTS = [(m, p) for m in MODES.values() for p in m.variant_profiles]


def profile_id(pair: tuple[Any, Any]) -> str:
    return str(pair[1].name)
