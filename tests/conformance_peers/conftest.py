"""Fixtures for the peer-driver tests: each peer fixture skips with the peer's
own ``available()`` message when the peer is not installed."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest


def _peer(name: str) -> ModuleType:
    module = importlib.import_module(f"lambda_retry_properties.conformance.peers.{name}")
    missing = module.available()
    if missing:
        pytest.skip(missing)
    return module


@pytest.fixture
def moto_peer() -> ModuleType:
    return _peer("moto_sqs")


@pytest.fixture
def ministack_peer() -> ModuleType:
    return _peer("ministack")


@pytest.fixture
def botocore_peer() -> ModuleType:
    return _peer("botocore_sync")


def of_kind(trace: list[dict[str, Any]], kind: str, **match: Any) -> list[dict[str, Any]]:
    """Events of one kind (header excluded) whose fields equal ``match``."""
    return [e for e in trace[1:] if e["kind"] == kind and all(e.get(k) == v for k, v in match.items())]


@pytest.fixture
def events() -> Callable[..., list[dict[str, Any]]]:
    return of_kind
