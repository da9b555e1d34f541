"""MiniStack as a live peer (conformance-peers.md §3.8).

Each test starts its own MiniStack on 127.0.0.1 and stops it.  Where MiniStack
diverges from AWS the test pins what MiniStack does and says what AWS does, so
a MiniStack change shows up as a failure here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from lambda_retry_properties.conformance.peers import UnsupportedScenarioError

Events = Callable[..., list[dict[str, Any]]]
TS = 0.05  # 1 scenario second = 50 ms wall
DELAYS = [10, 20]  # scenario seconds: 0.5 s and 1 s wall
COLD_START = 12  # scenario seconds of slack for MiniStack's worker respawn after an error


def async_scenario(config: dict[str, Any], items: list[dict[str, Any]], handler: dict[str, Any]) -> dict[str, Any]:
    return {
        "mode": "async_invoke",
        "config": {"retry_delays_seconds": DELAYS, **config},
        "items": items,
        "handler": handler,
        "until": 70,
    }


def _assert_retry_spacing(invocations: list[dict[str, Any]]) -> None:
    assert len(invocations) == 3
    gaps = [b["t"] - a["t"] for a, b in itertools.pairwise(invocations)]
    for gap, delay in zip(gaps, DELAYS, strict=True):
        assert delay - 1 <= gap <= delay + COLD_START, (gaps, DELAYS)


def test_async_with_dlq_and_on_failure_reaches_only_on_failure(ministack_peer: ModuleType, events: Events) -> None:
    """AWS (and LocalStack) deliver to both the OnFailure destination and the DLQ;
    MiniStack delivers only to OnFailure.  MiniStack also sends no OnSuccess record."""
    trace = ministack_peer.run_scenario(
        async_scenario(
            {"dead_letter_queue": "sqs", "on_failure": "sqs", "on_success": "sqs"},
            [{"id": "e1", "at": 0}, {"id": "e2", "at": 0}],
            {"e1": ["error"], "e2": ["ok"]},
        ),
        time_scale=TS,
        deadline_seconds=30,
    )
    assert trace[0]["knobs"]["env"]["LAMBDA_ASYNC_RETRY_BASE_SECONDS"] == repr(DELAYS[0] * TS)
    _assert_retry_spacing(events(trace, "invocation", items=["e1"]))
    assert [e["result"] for e in events(trace, "invocation", items=["e1"])] == ["error"] * 3
    (failure,) = events(trace, "sink", sink="on_failure")
    assert failure["items"] == ["e1"]
    assert (failure["condition"], failure["approximate_invoke_count"]) == ("RetriesExhausted", 3)
    assert failure["t"] >= events(trace, "invocation", items=["e1"])[-1]["t"]
    assert events(trace, "sink", sink="dlq") == []  # divergence: AWS also writes the DLQ
    assert [e["result"] for e in events(trace, "invocation", items=["e2"])] == ["ok"]
    assert events(trace, "sink", sink="on_success") == []  # divergence: AWS sends a Success record


def test_async_dlq_alone_gets_an_invocation_record(ministack_peer: ModuleType, events: Events) -> None:
    """With only a DLQ, MiniStack does deliver there, but the body is a destination
    invocation record, where AWS puts the original event (with RequestID/ErrorCode
    /ErrorMessage attributes).  approximateInvokeCount is hard-coded 3: AWS says 2
    after one retry."""
    trace = ministack_peer.run_scenario(
        async_scenario(
            {"dead_letter_queue": "sqs", "maximum_retry_attempts": 1},
            [{"id": "e1", "at": 0}],
            {"e1": ["error"]},
        ),
        time_scale=TS,
        deadline_seconds=30,
    )
    invocations = events(trace, "invocation", items=["e1"])
    assert len(invocations) == 2
    (dlq,) = events(trace, "sink", sink="dlq")
    assert dlq["items"] == ["e1"]
    assert dlq["detail"]["body_shape"] == "invocation record"
    assert (dlq["condition"], dlq["approximate_invoke_count"]) == ("RetriesExhausted", 3)


def test_sqs_event_source_mapping_redrives_after_max_receive_count(ministack_peer: ModuleType, events: Events) -> None:
    trace = ministack_peer.run_scenario(
        {
            "mode": "sqs_poll",
            "config": {"visibility_timeout_seconds": 20, "max_receive_count": 2, "batch_size": 1},
            "items": [{"id": "m1", "at": 0}],
            "handler": {"m1": ["error"]},
            "until": 110,
        },
        time_scale=TS,
        deadline_seconds=30,
    )
    assert trace[0]["knobs"]["wall_values_sent"]["visibility_timeout_seconds"] == 1
    receives = events(trace, "receive", item="m1")
    assert [e["receive_count"] for e in receives] == [1, 2]
    assert [e["result"] for e in events(trace, "invocation")] == ["error", "error"]
    visible = events(trace, "visible", item="m1")
    assert len(visible) >= 1
    assert visible[0]["t"] - receives[0]["t"] >= 20 - 2  # back only after the visibility timeout
    (dlq,) = events(trace, "sink", sink="dlq")
    assert dlq["t"] > receives[1]["t"] + 20 - 2  # moved on the 3rd receive
    assert dlq["detail"]["dead_letter_queue_source_arn"].endswith(":src")
    assert dlq["detail"]["receive_count_in_sink"] == 2  # count carried into the DLQ
    assert not events(trace, "delete")


def test_sqs_event_source_mapping_deletes_on_success(ministack_peer: ModuleType, events: Events) -> None:
    trace = ministack_peer.run_scenario(
        {
            "mode": "sqs_poll",
            "config": {"visibility_timeout_seconds": 20, "batch_size": 10, "report_batch_item_failures": True},
            "items": [{"id": "m1", "at": 0}, {"id": "m2", "at": 0}],
            "handler": {"m2": ["error", "ok"]},
            "until": 60,
        },
        time_scale=TS,
        deadline_seconds=30,
    )
    deletes = {e["item"]: e["t"] for e in events(trace, "delete")}
    assert set(deletes) == {"m1", "m2"}
    assert deletes["m2"] - deletes["m1"] >= 20 - 2  # m2 came back after the visibility timeout
    m2 = [e for e in events(trace, "invocation") if "m2" in e["items"]]
    assert [e["result"] for e in m2] == ["partial", "ok"]
    assert m2[0]["failed_items"] == ["m2"]
    assert [e["receive_count"] for e in events(trace, "receive", item="m2")] == [1, 2]
    assert [e["receive_count"] for e in events(trace, "receive", item="m1")] == [1]


def test_dynamodb_stream_ignores_maximum_retry_attempts(ministack_peer: ModuleType, events: Events) -> None:
    """AWS: MaximumRetryAttempts=0 means one invocation, then an OnFailure record
    with condition RetryAttemptsExhausted.  MiniStack retries the batch (about
    once per wall second) until MaximumRecordAgeInSeconds, then sends
    ``MaxRecordAgeExceeded`` (AWS: ``RecordAgeExceeded``) with
    approximateInvokeCount 1."""
    trace = ministack_peer.run_scenario(
        {
            "mode": "stream_poll",
            "config": {
                "source": "dynamodb",
                "batch_size": 10,
                "maximum_retry_attempts": 0,
                "maximum_record_age_seconds": 60,
                "on_failure": "sqs",
            },
            "items": [{"id": "r1", "at": 0, "shard": "s1", "partition_key": "k1"}],
            "handler": {"r1": ["error"]},
            "until": 110,
        },
        time_scale=TS,
        deadline_seconds=30,
    )
    invocations = events(trace, "invocation")
    assert len(invocations) >= 2  # divergence: retried despite MaximumRetryAttempts=0
    assert all(e["items"] == ["r1"] and e["result"] == "error" for e in invocations)
    (failure,) = events(trace, "sink", sink="on_failure")
    assert failure["items"] == ["r1"]
    assert failure["condition"] == "MaxRecordAgeExceeded"
    assert failure["approximate_invoke_count"] == 1
    assert "DDBStreamBatchInfo" not in failure["detail"] and failure["detail"]["batch_info"]["batchSize"] == 1


def test_throttle_steps_are_unsupported(ministack_peer: ModuleType) -> None:
    with pytest.raises(UnsupportedScenarioError, match="throttle"):
        ministack_peer.run_scenario(
            async_scenario({}, [{"id": "e1", "at": 0}], {"e1": ["throttle"]}), time_scale=TS, deadline_seconds=10
        )


def test_async_event_age_gate_reports_retries_exhausted(ministack_peer: ModuleType, events: Events) -> None:
    """AWS (recorded by LocalStack, §1.3): MaximumEventAgeInSeconds=60 with the
    60 s first delay means no retry and ``EventAgeExceeded`` with count 1.
    MiniStack also gives up before the first retry, but reports
    ``RetriesExhausted`` with its hard-coded count 3."""
    trace = ministack_peer.run_scenario(
        {
            "mode": "async_invoke",
            "config": {"maximum_event_age_seconds": 60, "retry_delays_seconds": [60, 120], "on_failure": "sqs"},
            "items": [{"id": "e1", "at": 0}],
            "handler": {"e1": ["error"]},
            "until": 30,
        },
        time_scale=TS,
        deadline_seconds=30,
    )
    assert trace[0]["knobs"]["wall_values_sent"]["maximum_event_age_seconds"] == 3
    assert len(events(trace, "invocation")) == 1
    (failure,) = events(trace, "sink", sink="on_failure")
    assert (failure["condition"], failure["approximate_invoke_count"]) == ("RetriesExhausted", 3)
    assert failure["t"] < 10  # right after the first failure, without waiting out the age


def test_zero_reserved_concurrency_is_retried_like_a_function_error(ministack_peer: ModuleType, events: Events) -> None:
    """AWS: reserved concurrency 0 sends the event straight to the DLQ/OnFailure
    with no retries.  MiniStack throttles each attempt (the function never runs),
    retries with the function-error delays and reports RetriesExhausted, count 3."""
    trace = ministack_peer.run_scenario(
        async_scenario({"reserved_concurrency": 0, "on_failure": "sqs"}, [{"id": "e1", "at": 0}], {}),
        time_scale=TS,
        deadline_seconds=30,
    )
    assert events(trace, "invocation") == []
    (failure,) = events(trace, "sink", sink="on_failure")
    assert (failure["condition"], failure["approximate_invoke_count"]) == ("RetriesExhausted", 3)
    assert failure["t"] >= sum(DELAYS) - 1


def test_kinesis_blocks_in_order_and_ignores_maximum_retry_attempts(ministack_peer: ModuleType, events: Events) -> None:
    """AWS: MaximumRetryAttempts=1 means two invocations, then an OnFailure record
    (RetryAttemptsExhausted, count 2) and the shard moves on.  MiniStack's Kinesis
    poller retries the batch forever (and sends nothing), though it does keep
    the shard blocked in order: r2 never runs ahead of r1."""
    trace = ministack_peer.run_scenario(
        {
            "mode": "stream_poll",
            "config": {"source": "kinesis", "batch_size": 10, "maximum_retry_attempts": 1, "on_failure": "sqs"},
            "items": [{"id": "r1", "at": 0}, {"id": "r2", "at": 5}],
            "handler": {"r1": ["error"]},
            "until": 90,
        },
        time_scale=TS,
        deadline_seconds=30,
    )
    invocations = events(trace, "invocation")
    assert len(invocations) >= 3
    assert all(e["items"][0] == "r1" and e["result"] == "error" for e in invocations)
    assert events(trace, "sink") == []
