"""Every mode the project knows, with its table, properties, profiles and wrong variants."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import import_module

from lambda_retry.spec import ModeSpec
from lambda_retry.variants import Variant

from .core import PropertySet
from .profiles import Profile

MODE_NAMES = ("sync_invoke", "async_invoke", "stream_poll", "sqs_poll")
"""One stem per mode, everywhere: model/…/modes/<stem>, properties/…/<stem>.py, diagrams/<stem>.dot."""


@dataclass(frozen=True)
class Mode:
    name: str
    spec: ModeSpec
    properties: PropertySet
    profiles: tuple[Profile, ...]
    variant_profiles: tuple[Profile, ...]
    variants: tuple[Variant, ...]

    def profile(self, name: str) -> Profile:
        for p in self.profiles + self.variant_profiles:
            if p.name == name or p.name == f"{self.name}.{name}":
                return p
        raise KeyError(name)


def _load(name: str) -> Mode | None:
    """A mode whose three modules exist; ``None`` for a mode not built (yet)."""
    wanted = (f"lambda_retry_properties.{name}", f"lambda_retry_properties.profiles.{name}",
              f"lambda_retry.modes.{name}.variants")
    try:
        props, profiles, variants = (import_module(m) for m in wanted)
    except ModuleNotFoundError as err:
        if err.name in wanted:
            return None
        raise
    return Mode(name, props.P.spec, props.P, profiles.PROFILES, profiles.VARIANT_PROFILES, variants.VARIANTS)


def modes() -> dict[str, Mode]:
    """The modes that exist, in the project's canonical order.

    ``LAMBDA_RETRY_MODES`` (comma-separated stems) limits the set, e.g. for a CI matrix."""
    only = [m.strip() for m in os.environ.get("LAMBDA_RETRY_MODES", "").split(",") if m.strip()]
    found = {}
    for name in MODE_NAMES:
        if only and name not in only:
            continue
        mode = _load(name)
        if mode is not None:
            found[name] = mode
    return found
