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


# -- the whole sync_invoke scenario contract -----------------------------------------------------------


def kinds(trace: list[dict[str, Any]], item: str = "c1") -> list[str]:
    """The compared kinds of one call, in order (``response`` and ``arrival`` left out)."""
    keep = ("request", "invocation", "throttle", "service_error", "outcome")
    return [e["kind"] for e in trace[1:] if e["kind"] in keep and item in (e.get("item"), *e.get("items", []))]


def test_502_set_up_error_is_retried_never_run(botocore_peer: ModuleType, events: Events) -> None:
    step = {"result": "service_error", "status_code": 502, "error_type": "ENILimitReachedException"}
    trace = botocore_peer.run_scenario(sync("legacy", [step]), time_scale=TS, deadline_seconds=30)
    assert kinds(trace) == ["request"] * 5 + ["outcome"]  # no run, and no service_error (that is the 500)
    assert {e["detail"]["status_code"] for e in events(trace, "request")} == {502}
    assert {e["detail"]["error_type"] for e in events(trace, "request")} == {"ENILimitReachedException"}
    (outcome,) = events(trace, "outcome")
    assert (outcome["status_code"], outcome["error"]) == (502, "ENILimitReachedException")


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "InvalidRequestContentException"),
        (404, "ResourceNotFoundException"),
        (408, "EFSMountTimeoutException"),
        (413, "RequestTooLargeException"),
        (415, "UnsupportedMediaTypeException"),
    ],
)
@pytest.mark.parametrize("mode", ["legacy", "standard"])
def test_4xx_request_errors_are_not_retried(
    botocore_peer: ModuleType, events: Events, mode: str, status: int, error_type: str
) -> None:
    trace = botocore_peer.run_scenario(
        sync(mode, [{"result": "service_error", "status_code": status}]), time_scale=TS, deadline_seconds=30
    )
    assert kinds(trace) == ["request", "outcome"]
    (outcome,) = events(trace, "outcome")
    assert (outcome["status_code"], outcome["error"]) == (status, error_type)  # the default type per status


def test_error_type_names_the_exception(botocore_peer: ModuleType, events: Events) -> None:
    step = {"result": "service_error", "status_code": 400, "error_type": "RecursiveInvocationException"}
    trace = botocore_peer.run_scenario(sync("standard", [step]), time_scale=TS, deadline_seconds=30)
    (outcome,) = events(trace, "outcome")
    assert outcome["error"] == "RecursiveInvocationException"


def test_handled_error_carries_its_error_type(botocore_peer: ModuleType, events: Events) -> None:
    trace = botocore_peer.run_scenario(
        sync("legacy", [{"result": "error", "error_type": "ValueError"}]), time_scale=TS, deadline_seconds=30
    )
    (inv,) = events(trace, "invocation", result="error")
    (outcome,) = events(trace, "outcome")
    assert outcome["function_error"] == "Handled" and inv["items"] == ["c1"]


def test_throttle_reason_reaches_the_caller(botocore_peer: ModuleType, events: Events) -> None:
    step = {"result": "throttle", "reason": "ReservedFunctionInvocationRateLimitExceeded"}
    trace = botocore_peer.run_scenario(sync("none", [step]), time_scale=TS, deadline_seconds=30)
    (outcome,) = events(trace, "outcome")
    assert outcome["error"] == "TooManyRequestsException"
    assert outcome["detail"]["reason"] == "ReservedFunctionInvocationRateLimitExceeded"
    default = botocore_peer.run_scenario(sync("none", ["throttle"]), time_scale=TS, deadline_seconds=30)
    assert events(default, "outcome")[0]["detail"]["reason"] == "ConcurrentInvocationLimitExceeded"


def test_500_after_a_run_records_the_run_then_the_error(botocore_peer: ModuleType, events: Events) -> None:
    steps = [{"result": "service_error", "ran": True}, "ok"]
    trace = botocore_peer.run_scenario(sync("standard", steps), time_scale=TS, deadline_seconds=30)
    assert kinds(trace) == ["request", "invocation", "service_error", "request", "invocation", "outcome"]
    first = events(trace, "invocation")[0]
    assert first["result"] == "ok" and first["detail"]["answered"] == 500
    assert events(trace, "outcome")[0]["status_code"] == 200


def test_500_without_ran_does_not_run(botocore_peer: ModuleType) -> None:
    trace = botocore_peer.run_scenario(
        sync("none", [{"result": "service_error", "ran": False}]), time_scale=TS, deadline_seconds=30
    )
    assert kinds(trace) == ["request", "service_error", "outcome"]


def test_service_exception_ran_yes_runs_before_every_500(botocore_peer: ModuleType) -> None:
    scenario = sync("none", ["service_error"])
    scenario["config"]["service_exception_ran"] = "yes"
    trace = botocore_peer.run_scenario(scenario, time_scale=TS, deadline_seconds=30)
    assert kinds(trace) == ["request", "invocation", "service_error", "outcome"]


@pytest.mark.parametrize(("invocation_type", "status"), [("Event", 202), ("DryRun", 204)])
def test_event_and_dry_run_are_answered_at_once_without_a_run(
    botocore_peer: ModuleType, events: Events, invocation_type: str, status: int
) -> None:
    scenario = sync("legacy", [{"result": "error", "duration": 500}])
    scenario["items"][0]["invocation_type"] = invocation_type
    trace = botocore_peer.run_scenario(scenario, time_scale=TS, deadline_seconds=30)
    assert kinds(trace) == ["request", "outcome"]
    (request,) = events(trace, "request")
    assert request["detail"]["invocation_type"] == invocation_type  # what the stub read off the wire
    (outcome,) = events(trace, "outcome")
    assert (outcome["status_code"], outcome["function_error"], outcome["error"]) == (status, None, None)
    assert outcome["t"] - request["t"] < 2  # the run's 500 s duration does not apply


def test_event_call_throttled_then_accepted(botocore_peer: ModuleType, events: Events) -> None:
    scenario = sync("standard", ["throttle", "ok"])
    scenario["items"][0]["invocation_type"] = "Event"
    trace = botocore_peer.run_scenario(scenario, time_scale=TS, deadline_seconds=30)
    assert kinds(trace) == ["request", "throttle", "request", "outcome"]
    assert events(trace, "outcome")[0]["status_code"] == 202


def test_duration_on_an_invocation_error_is_ignored(botocore_peer: ModuleType, events: Events) -> None:
    trace = botocore_peer.run_scenario(
        sync("none", [{"result": "throttle", "duration": 400}], read_timeout=60), time_scale=TS, deadline_seconds=30
    )
    (request,) = events(trace, "request")
    (outcome,) = events(trace, "outcome")
    assert outcome["status_code"] == 429 and outcome["t"] - request["t"] < 2


def test_answers_are_not_held_back_by_the_socket(botocore_peer: ModuleType, events: Events) -> None:
    """At the kit's 1:100 every exchange must fit well inside the 2 s tolerance: Nagle + delayed ACK
    on a reused loopback connection alone cost ~40 ms wall (4 scenario seconds) per answer, and calls
    that start together must not pay botocore's first-call loading (~20 ms wall)."""
    scenario = sync("legacy", ["throttle"] * 2 + ["ok"], read_timeout=60)  # backoffs 0.5 and 1 s: 5 and 10 ms wall
    scenario["items"] = [{"id": f"c{i}", "at": 0} for i in range(3)]
    scenario["handler"] = {"default": ["throttle"] * 2 + ["ok"]}
    trace = botocore_peer.run_scenario(scenario, time_scale=0.01, deadline_seconds=30)
    firsts = sorted(e["t"] for e in events(trace, "request", attempt=1))
    assert firsts[1] < 1.5, firsts
    spans = sorted(
        o["t"] - min(r["t"] for r in events(trace, "request", item=o["item"])) for o in events(trace, "outcome")
    )
    assert spans[1] < 1.5 + 2, spans  # three exchanges and 1.5 s of backoff each


@pytest.mark.parametrize(
    ("mode", "jitter", "step", "delays"),
    [
        ("standard", 0.3, "throttle", [0.3, 0.6]),
        ("legacy", 0.25, "service_error", [0.25, 0.5, 1.0, 2.0]),
        ("legacy", None, "throttle", [0.5, 1.0, 2.0, 4.0]),  # the contract's default 0.5
        ("standard", 0.0, "service_error", [0.0, 0.0]),
    ],
)
def test_backoff_jitter_is_botocores_random_draw(
    botocore_peer: ModuleType, events: Events, mode: str, jitter: float | None, step: str, delays: list[float]
) -> None:
    import random

    draw = random.random
    scenario = sync(mode, [step])
    if jitter is not None:
        scenario["config"]["client"]["backoff_jitter"] = jitter
    trace = botocore_peer.run_scenario(scenario, time_scale=TS, deadline_seconds=30)
    (outcome,) = events(trace, "outcome")
    assert outcome["detail"]["backoff_seconds"] == delays
    assert random.random is draw  # nothing global was patched
    times = [e["t"] for e in events(trace, "request")]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(abs(g - d) < 1.5 for g, d in zip(gaps, delays, strict=True))  # and the retries came that late


def test_retry_quota_drains_across_calls(botocore_peer: ModuleType, events: Events) -> None:
    """botocore's client-wide quota (500 tokens, 5 a retry): 100 retries in all, then none."""
    scenario = sync("standard", ["service_error"])
    scenario["items"] = [{"id": f"c{i:02d}", "at": 2 * i} for i in range(52)]
    scenario["handler"] = {"default": ["service_error"]}
    trace = botocore_peer.run_scenario(scenario, time_scale=0.01, deadline_seconds=30)
    retries = {e["item"]: e["detail"]["retry_attempts"] for e in events(trace, "outcome")}
    assert sum(retries.values()) == 100
    assert retries["c50"] == retries["c51"] == 0
    assert len(events(trace, "request")) == 152


@pytest.mark.parametrize("client", [{"retry_mode": "legacy"}, {"retry_mode": "standard", "max_attempts": 1}])
def test_a_drained_quota_is_irrelevant_without_quota_retries(
    botocore_peer: ModuleType, events: Events, client: dict[str, Any]
) -> None:
    scenario = sync("standard", ["service_error", "ok"])
    scenario["config"]["client"] = {**client, "retry_quota_tokens": 0}
    trace = botocore_peer.run_scenario(scenario, time_scale=TS, deadline_seconds=30)
    assert len(events(trace, "request")) == (2 if client["retry_mode"] == "legacy" else 1)


def test_adaptive_without_a_throttle_runs(botocore_peer: ModuleType, events: Events) -> None:
    trace = botocore_peer.run_scenario(
        sync("adaptive", ["service_error", {"result": "service_error", "status_code": 502}, "ok"]),
        time_scale=TS,
        deadline_seconds=30,
    )
    assert kinds(trace) == ["request", "service_error", "request", "request", "invocation", "outcome"]


def test_adaptive_after_a_throttle_runs_unscaled(botocore_peer: ModuleType, events: Events) -> None:
    """At time_scale 1 the limiter's wall clock is scenario time: the retry waits for a token."""
    scenario = sync("adaptive", ["throttle", "ok"], read_timeout=60)
    scenario["config"]["client"]["backoff_jitter"] = 0.0
    trace = botocore_peer.run_scenario(scenario, time_scale=1.0, deadline_seconds=30)
    first, second = (e["t"] for e in events(trace, "request"))
    assert events(trace, "outcome")[0]["detail"]["backoff_seconds"] == [0.0]
    assert 0.2 < second - first <= 2.2  # no backoff, but a token wait of at most 1 / 0.5 s for one waiter


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client": {"retry_mode": "standard", "retry_quota_tokens": 12}}, "retry quota always starts at 500"),
        ({"client": {"retry_mode": "adaptive"}, "handler": ["ok", "throttle"]}, "rate limiter"),
        (
            {
                "client": {"retry_mode": "adaptive"},
                "handler": [{"result": "service_error", "status_code": 502, "error_type": "EC2ThrottledException"}],
            },
            "EC2ThrottledException",
        ),
        ({"new_retries_2026": True}, "model-only switch"),
    ],
)
def test_what_botocore_cannot_express_is_unsupported(
    botocore_peer: ModuleType, change: dict[str, Any], message: str
) -> None:
    from lambda_retry_properties.conformance.peers import UnsupportedScenarioError

    scenario = sync("standard", ["ok"])
    for key, value in change.items():
        if key == "handler":
            scenario["handler"] = {"c1": value}
        else:
            scenario["config"][key] = value
    start = time.monotonic()
    with pytest.raises(UnsupportedScenarioError, match=message):
        botocore_peer.run_scenario(scenario, time_scale=TS, deadline_seconds=30)
    assert time.monotonic() - start < 2  # refused before anything starts


def test_unreleased_new_retries_in_the_process_is_unsupported(
    botocore_peer: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.configprovider

    from lambda_retry_properties.conformance.peers import UnsupportedScenarioError

    monkeypatch.setattr(botocore.configprovider, "NEW_RETRIES_ENABLED", True)
    with pytest.raises(UnsupportedScenarioError, match="AWS_NEW_RETRIES_2026"):
        botocore_peer.run_scenario(sync("standard", ["ok"]), time_scale=TS, deadline_seconds=30)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"result": "ok", "status_code": 502}, 'only a "service_error" result takes a status_code'),
        ({"result": "service_error", "status_code": 502, "ran": True}, "only a 500"),
        ({"result": "service_error", "reason": "CallerRateLimitExceeded"}, 'only a "throttle"'),
        ({"result": "service_error", "status_code": 429}, "other than 429"),
    ],
)
def test_malformed_contract_keys_are_one_clear_line(botocore_peer: ModuleType, step: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        botocore_peer.run_scenario(sync("standard", [step]), time_scale=TS, deadline_seconds=30)


def test_unknown_invocation_type_is_refused(botocore_peer: ModuleType) -> None:
    scenario = sync("standard", ["ok"])
    scenario["items"][0]["invocation_type"] = "Async"
    with pytest.raises(ValueError, match="invocation_type 'Async'"):
        botocore_peer.run_scenario(scenario, time_scale=TS, deadline_seconds=30)
