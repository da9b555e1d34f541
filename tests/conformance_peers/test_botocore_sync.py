"""botocore's retry handler against a stub Invoke endpoint (conformance-peers.md §3.9)."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from lambda_retry_properties.conformance.peers import PeerError

Events = Callable[..., list[dict[str, Any]]]
TS = 0.05


def sync(mode: str, steps: list[Any], read_timeout: float = 2.0, max_attempts: int | None = None) -> dict[str, Any]:
    client: dict[str, Any] = {"retry_mode": mode, "read_timeout_seconds": read_timeout}
    if max_attempts is not None:
        client["max_attempts"] = max_attempts
    return {
        "mode": "sync_invoke",
        "config": {"function_timeout_seconds": 30, "client": client},
        "items": [{"id": "c1", "at": 0}],
        "handler": {"c1": steps},
        "until": 1,
    }


SLOW = [{"result": "ok", "duration": 10}]


@pytest.mark.parametrize(("mode", "requests"), [("legacy", 5), ("standard", 3)])
def test_slow_function_is_executed_once_per_client_attempt(
    botocore_peer: ModuleType, events: Events, mode: str, requests: int
) -> None:
    trace = botocore_peer.run_scenario(sync(mode, SLOW), time_scale=TS, deadline_seconds=30)
    assert [e["attempt"] for e in events(trace, "request")] == list(range(1, requests + 1))
    assert len(events(trace, "invocation", result="ok")) == requests  # duplicate executions
    (outcome,) = events(trace, "outcome")
    assert outcome["error"] == "ReadTimeoutError" and outcome["status_code"] is None
    assert len(outcome["detail"]["backoff_seconds"]) == requests - 1
    gone = [e for e in events(trace, "response") if e["detail"].get("client_gone")]
    assert all(e["status_code"] == 200 for e in gone)


@pytest.mark.parametrize("mode", ["legacy", "standard"])
def test_function_error_is_not_retried(botocore_peer: ModuleType, events: Events, mode: str) -> None:
    trace = botocore_peer.run_scenario(sync(mode, ["error"]), time_scale=TS, deadline_seconds=30)
    assert len(events(trace, "request")) == 1
    (outcome,) = events(trace, "outcome")
    assert (outcome["status_code"], outcome["function_error"], outcome["error"]) == (200, "Handled", None)
    (resp,) = events(trace, "response")
    assert resp["function_error"] == "Handled"


@pytest.mark.parametrize(("mode", "requests"), [("legacy", 5), ("standard", 3), ("none", 1)])
def test_throttles_are_retried_by_the_client(
    botocore_peer: ModuleType, events: Events, mode: str, requests: int
) -> None:
    trace = botocore_peer.run_scenario(sync(mode, ["throttle"]), time_scale=TS, deadline_seconds=30)
    assert len(events(trace, "throttle", items=["c1"])) == requests
    assert not events(trace, "invocation")
    (outcome,) = events(trace, "outcome")
    assert (outcome["status_code"], outcome["error"]) == (429, "TooManyRequestsException")


def test_service_error_then_success(botocore_peer: ModuleType, events: Events) -> None:
    trace = botocore_peer.run_scenario(
        sync("standard", ["service_error", "ok"], max_attempts=2), time_scale=TS, deadline_seconds=30
    )
    assert [e["kind"] for e in trace[1:] if e["kind"] in ("service_error", "invocation")] == [
        "service_error",
        "invocation",
    ]
    (outcome,) = events(trace, "outcome")
    assert (outcome["status_code"], outcome["error"]) == (200, None)
    assert outcome["detail"]["retry_attempts"] == 1


def test_function_timeout_is_unhandled(botocore_peer: ModuleType, events: Events) -> None:
    scenario = sync("standard", ["timeout"], read_timeout=60)
    scenario["config"]["function_timeout_seconds"] = 3
    trace = botocore_peer.run_scenario(scenario, time_scale=TS, deadline_seconds=30)
    (inv,) = events(trace, "invocation")
    assert inv["result"] == "timeout"
    (outcome,) = events(trace, "outcome")
    assert outcome["function_error"] == "Unhandled"
    assert outcome["t"] - inv["t"] >= 3 - 0.5


def test_never_waits_past_the_deadline(botocore_peer: ModuleType) -> None:
    scenario = sync("none", [{"result": "ok", "duration": 1000}], read_timeout=1000)
    start = time.monotonic()
    with pytest.raises(PeerError, match="timed out"):
        botocore_peer.run_scenario(scenario, time_scale=TS, deadline_seconds=1.5)
    assert time.monotonic() - start < 8
