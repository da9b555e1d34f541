"""AWS settings as data: name, AWS's range and default, and the source they come from.

Each mode's ``Config`` is a frozen dataclass whose fields are declared with
:func:`setting`.  The same declaration validates scenario input (one clear line
naming the key and what is allowed), fills in AWS's defaults, and renders the
parameter table of the mode's docs page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar


class InputError(ValueError):
    """Bad input from a user: reported as one line on stderr with exit status 2."""


Check = Callable[[Any], Any]
"""Converts a raw JSON value to the field's value, or raises ``ValueError``."""


@dataclass(frozen=True)
class Setting:
    check: Check
    allowed: str
    """What a user may give, in words (shown in errors and docs)."""
    aws: str
    """The AWS API name, or ``""`` for a modelling switch or a setting outside AWS."""
    doc: str
    ref: str
    switch: bool = False
    """A modelling switch for an undocumented (⚠) behaviour, not an AWS setting."""


def setting(
    default: Any,
    check: Check,
    allowed: str,
    *,
    aws: str = "",
    doc: str,
    ref: str,
    switch: bool = False,
) -> Any:
    """Declare one field of a mode's ``Config``."""
    meta = {"setting": Setting(check, allowed, aws, doc, ref, switch)}
    if isinstance(default, list | dict | set):
        raise TypeError("defaults must be immutable")
    return dataclasses.field(default=default, metadata=meta)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def int_range(low: int, high: int | None, *, also: Sequence[int] = (), nullable: bool = False) -> Check:
    def check(value: Any) -> Any:
        if value is None and nullable:
            return None
        if not _is_int(value):
            raise ValueError("must be an integer")
        if value in also or (value >= low and (high is None or value <= high)):
            return value
        raise ValueError("is out of range")

    return check


def number_range(low: float, high: float | None) -> Check:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        if value < low or (high is not None and value > high):
            raise ValueError("is out of range")
        return value

    return check


def boolean(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def one_of(*values: str, nullable: bool = False) -> Check:
    def check(value: Any) -> Any:
        if value is None and nullable:
            return None
        if value not in values:
            raise ValueError("is not one of the allowed values")
        return value

    return check


def subset_of(*values: str) -> Check:
    def check(value: Any) -> Any:
        if not isinstance(value, list | tuple) or any(v not in values for v in value):
            raise ValueError("must be a list drawn from the allowed values")
        return tuple(sorted(set(value)))

    return check


def int_list(low: int, high: int, *, min_len: int, max_len: int) -> Check:
    def check(value: Any) -> Any:
        if not isinstance(value, list | tuple) or not all(_is_int(v) for v in value):
            raise ValueError("must be a list of integers")
        if not min_len <= len(value) <= max_len or any(not low <= v <= high for v in value):
            raise ValueError("is out of range")
        return tuple(value)

    return check


def settings_of(cls: type) -> list[tuple[str, Any, Setting]]:
    """(name, default, setting) for every declared field of a ``Config`` class."""
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get("setting")
        if meta is not None:
            out.append((f.name, f.default, meta))
    return out


C = TypeVar("C")


def parse_config(cls: type[C], raw: Any, *, where: str = "config") -> C:
    """Build a validated ``Config`` from JSON; raise :class:`InputError` on any problem."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: must be an object with setting names as keys")
    known = {name: s for name, _, s in settings_of(cls)}
    values: dict[str, Any] = {}
    for key in raw:
        if key not in known:
            raise InputError(
                f"{where}: unknown key {key!r}; allowed keys: {', '.join(sorted(known))}"
            )
        try:
            values[key] = known[key].check(raw[key])
        except ValueError as err:
            raise InputError(
                f"{where}.{key}: {raw[key]!r} {err}; allowed: {known[key].allowed}"
            ) from None
    config = cls(**values)
    validate = getattr(config, "validate", None)
    if validate is not None:
        problem = validate()
        if problem:
            raise InputError(f"{where}: {problem}")
    return config


def non_default_settings(config: Any) -> dict[str, Any]:
    """The settings of ``config`` that differ from AWS's defaults, as scenario JSON."""
    return {name: as_json(getattr(config, name)) for name, default, _ in settings_of(type(config))
            if getattr(config, name) != default}


def as_json(value: Any) -> Any:
    """A setting's value as it is written in a scenario file."""
    if isinstance(value, tuple):
        return [as_json(v) for v in value]
    return value
