"""Shared fixtures."""

from __future__ import annotations

import pytest

from cases import MODES
from lambda_retry_properties.registry import Mode


@pytest.fixture(params=list(MODES.values()), ids=list(MODES))
def mode(request: pytest.FixtureRequest) -> Mode:
    return request.param  # type: ignore[no-any-return]
