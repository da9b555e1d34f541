"""moto as an SQS peer (conformance-peers.md §2): what its queue decides."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from lambda_retry_properties.conformance.peers import PeerError, UnsupportedScenarioError

Events = Callable[..., list[dict[str, Any]]]
TS = 0.02  # 1 scenario second = 20 ms wall
SLACK = 1.5  # scenario seconds (30 ms wall) for the latency of one in-process boto3 call under load


def sqs(config: dict[str, Any], items: list[dict[str, Any]], handler: dict[str, Any], until: float) -> dict[str, Any]:
    return {"mode": "sqs_poll", "config": config, "items": items, "handler": handler, "until": until}


def test_redrive_happens_on_the_receive_after_max_receive_count(moto_peer: ModuleType, events: Events) -> None:
    """§2.3a: delivered exactly maxReceiveCount times, moved lazily on the next receive."""
    trace = moto_peer.run_scenario(
        sqs(
            {"visibility_timeout_seconds": 10, "max_receive_count": 2, "batch_size": 1},
            [{"id": "m1", "at": 0}],
            {"m1": ["error"]},
            until=40,
        ),
        time_scale=TS,
        deadline_seconds=20,
    )
    assert trace[0]["peer"].startswith("moto ")
    receives = events(trace, "receive", item="m1")
    assert [e["receive_count"] for e in receives] == [1, 2]
    assert [e["result"] for e in events(trace, "invocation")] == ["error", "error"]
    assert receives[1]["t"] - receives[0]["t"] >= 10 - SLACK  # came back after the visibility timeout
    (dlq,) = events(trace, "sink", sink="dlq")
    assert dlq["items"] == ["m1"]
    assert dlq["t"] >= receives[1]["t"] + 10 - SLACK  # moved on the 3rd receive, not right after the 2nd failure
    assert dlq["t"] < receives[1]["t"] + 2 * 10  # ...at the first receive after it turned visible
    # moto carries the receive count into the DLQ (2) and the driver's read adds one.
    assert dlq["detail"]["dlq_receive_count_after_driver_read"] == 3
    assert dlq["detail"]["dead_letter_queue_source_arn"] is None  # moto divergence: no source ARN
    assert not events(trace, "delete")


def test_fifo_group_is_blocked_while_its_head_is_in_flight(moto_peer: ModuleType, events: Events) -> None:
    trace = moto_peer.run_scenario(
        sqs(
            {"visibility_timeout_seconds": 20, "fifo": True, "batch_size": 1, "max_receive_count": 5},
            [
                {"id": "a1", "at": 0, "group": "g1"},
                {"id": "a2", "at": 0, "group": "g1"},
                {"id": "b1", "at": 1, "group": "g2"},
            ],
            {"a1": ["error", "ok"]},
            until=30,
        ),
        time_scale=TS,
        deadline_seconds=20,
    )
    # Positions in the trace: on the virtual clock a2 is received at the very instant a1 is deleted.
    position = {(e["kind"], e.get("item")): n for n, e in reversed(list(enumerate(trace[1:])))}
    deleted = {e["item"]: e["t"] for e in events(trace, "delete")}
    assert set(deleted) == {"a1", "a2", "b1"}
    assert position[("receive", "b1")] < position[("delete", "a1")]  # the other group is served meanwhile
    assert position[("receive", "a2")] > position[("delete", "a1")]  # a2 waits until a1 succeeded and was deleted
    assert deleted["a1"] >= 20  # a1 came back after its visibility timeout
    assert [e["receive_count"] for e in events(trace, "receive", item="a1")] == [1, 2]


def test_partial_batch_keeps_only_the_failed_message(moto_peer: ModuleType, events: Events) -> None:
    trace = moto_peer.run_scenario(
        sqs(
            {"visibility_timeout_seconds": 5, "batch_size": 3, "report_batch_item_failures": True},
            [{"id": "m1", "at": 0}, {"id": "m2", "at": 0}, {"id": "m3", "at": 0}],
            {"m2": ["error", "ok"]},
            until=20,
        ),
        time_scale=TS,
        deadline_seconds=20,
    )
    invs = events(trace, "invocation")
    assert invs[0]["result"] == "partial" and invs[0]["failed_items"] == ["m2"]
    assert sorted(invs[0]["items"]) == ["m1", "m2", "m3"]
    assert invs[1]["items"] == ["m2"] and invs[1]["result"] == "ok"
    assert invs[1]["t"] - invs[0]["t"] >= 5 - SLACK
    assert [e["item"] for e in events(trace, "delete")][-1] == "m2"
    assert sorted(e["item"] for e in events(trace, "delete")) == ["m1", "m2", "m3"]


def test_retention_quirk_is_visible(moto_peer: ModuleType, events: Events) -> None:
    """§2.1/§2.3c: moto never drops an expired message; it keeps counting hidden
    receives, so with a redrive policy it ends up in the DLQ after its retention
    period.  AWS would have deleted it at t=60 (an ``expired`` event)."""
    trace = moto_peer.run_scenario(
        sqs(
            {
                "visibility_timeout_seconds": 10,
                "message_retention_seconds": 60,
                "max_receive_count": 8,
                "batch_size": 1,
            },
            [{"id": "m1", "at": 0}],
            {"m1": ["error"]},
            until=120,
        ),
        time_scale=TS,
        deadline_seconds=20,
    )
    assert not events(trace, "expired")
    visible_receives = events(trace, "receive", item="m1")
    assert max(e["t"] for e in visible_receives) < 60  # never returned once expired...
    assert 1 <= len(visible_receives) < 8  # about 6: at 0, 10, ..., 50
    (dlq,) = events(trace, "sink", sink="dlq")
    assert dlq["t"] > 60  # ...but redriven after its retention period
    # The visible receives plus hidden ones (one per visibility timeout after
    # t=60) reach maxReceiveCount=8; the driver's DLQ read makes it 9.
    assert dlq["detail"]["dlq_receive_count_after_driver_read"] == 9


def test_throttled_batch_is_not_deleted(moto_peer: ModuleType, events: Events) -> None:
    trace = moto_peer.run_scenario(
        sqs(
            {"visibility_timeout_seconds": 5, "batch_size": 1},
            [{"id": "m1", "at": 0}],
            {"m1": ["throttle", "ok"]},
            until=20,
        ),
        time_scale=TS,
        deadline_seconds=20,
    )
    assert len(events(trace, "throttle", items=["m1"])) == 1
    assert [e["receive_count"] for e in events(trace, "receive")] == [1, 2]
    assert len(events(trace, "delete", item="m1")) == 1


def test_wall_clock_mode_needs_whole_wall_seconds(moto_peer: ModuleType, events: Events) -> None:
    scenario = sqs(
        {"visibility_timeout_seconds": 30, "max_receive_count": 1, "batch_size": 1},
        [{"id": "m1", "at": 0}],
        {"m1": ["error"]},
        until=60,
    )
    with pytest.raises(UnsupportedScenarioError, match="whole seconds"):
        moto_peer.run_scenario(scenario, time_scale=0.05, deadline_seconds=10, clock="wall")
    # 30 s x 1/30 = 1 wall second: moto's own clock, no patch.
    trace = moto_peer.run_scenario(scenario, time_scale=1 / 30, deadline_seconds=10, clock="wall")
    assert trace[0]["knobs"]["queue"]["VisibilityTimeout"] == 1
    (dlq,) = events(trace, "sink", sink="dlq")
    assert dlq["t"] >= 30 - 3


def test_scaled_mode_rejects_fractional_seconds(moto_peer: ModuleType) -> None:
    with pytest.raises(UnsupportedScenarioError, match="visibility_timeout_seconds"):
        moto_peer.run_scenario(
            sqs({"visibility_timeout_seconds": 2.5}, [], {}, until=1), time_scale=TS, deadline_seconds=5
        )


def test_refuses_a_run_longer_than_the_deadline(moto_peer: ModuleType) -> None:
    with pytest.raises(PeerError, match="deadline"):
        moto_peer.run_scenario(sqs({}, [], {}, until=1000), time_scale=0.1, deadline_seconds=5, clock="scaled")
    # The virtual clock takes no wall time per scenario second: the same run is quick.
    trace = moto_peer.run_scenario(sqs({}, [{"id": "m1"}], {}, until=1000), time_scale=0.1, deadline_seconds=5)
    assert [e["kind"] for e in trace[1:]] == ["arrival", "receive", "invocation", "delete"]


def test_virtual_clock_still_has_a_wall_deadline(moto_peer: ModuleType) -> None:
    with pytest.raises(PeerError, match="timed out"):
        moto_peer.run_scenario(
            sqs({"visibility_timeout_seconds": 1, "max_receive_count": 100000, "batch_size": 1},
                [{"id": "m1"}], {"m1": ["error"]}, until=10**6),
            time_scale=TS,
            deadline_seconds=0.5,
        )


def test_other_modes_are_unsupported(moto_peer: ModuleType) -> None:
    with pytest.raises(UnsupportedScenarioError, match="sqs_poll"):
        moto_peer.run_scenario({"mode": "async_invoke", "items": [], "until": 1}, time_scale=TS, deadline_seconds=5)
