"""The MiniStack driver's stream_poll contract: what it can express, what it refuses, and how.

Unsupported scenarios must be refused with one line before MiniStack starts (never a peer
error); the handler's ``report`` keys of the stream contract must be accepted and played; each
scenario shard must get its own Kinesis shard.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from lambda_retry_properties.conformance.kit import TARGETS
from lambda_retry_properties.conformance.peers import UnsupportedScenarioError

Events = Callable[..., list[dict[str, Any]]]
TS = 1 / 30  # the kit's time scale for MiniStack


def stream(config: dict[str, Any], items: list[dict[str, Any]], handler: dict[str, Any], until: float = 30):
    return {"mode": "stream_poll", "config": config, "items": items, "handler": handler, "until": until}


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        (stream({}, [{"id": "r1", "at": 0}], {}, until=86_460), "horizon of 86460 s"),
        (
            stream({"source": "dynamodb"}, [{"id": "r1", "shard": "s1"}, {"id": "r2", "shard": "s2"}], {}),
            "DynamoDB table stream has one shard",
        ),
        (
            stream({}, [{"id": "p1", "shard": "p"}, {"id": "c1", "at": 5, "shard": "c", "parent_shard": "p"}], {}),
            "resharding",
        ),
        (stream({"on_failure": "s3"}, [{"id": "r1"}], {"r1": ["error"]}), "on_failure='s3'"),
        (stream({}, [{"id": "r1"}], {"r1": ["throttle", "ok"]}), "throttle"),
    ],
)
def test_inexpressible_scenarios_are_unsupported_in_one_line(
    ministack_peer: ModuleType, scenario: dict[str, Any], message: str
) -> None:
    with pytest.raises(UnsupportedScenarioError, match=message) as err:
        ministack_peer.run_scenario(scenario, time_scale=TS, deadline_seconds=90)
    assert "\n" not in str(err.value)


def test_bad_report_key_is_a_scenario_error(ministack_peer: ModuleType) -> None:
    with pytest.raises(ValueError, match="report"):
        ministack_peer.run_scenario(
            stream({}, [{"id": "r1"}], {"r1": [{"result": "error", "report": "maybe"}]}),
            time_scale=TS,
            deadline_seconds=90,
        )


def test_target_declares_what_ministack_sees_of_a_stream() -> None:
    assert TARGETS["ministack"].observes["stream_poll"] == ("invocation", "sink")


def test_report_keys_and_shards_are_played(ministack_peer: ModuleType, events: Events) -> None:
    """``report: true`` without the flag returns batchItemFailures (a ``partial`` run that Lambda
    ignores: no retry); ``report: "invalid"`` returns a malformed one; ``report: false`` throws.
    Two scenario shards are two Kinesis shards, and the records of one instant form one batch."""
    trace = ministack_peer.run_scenario(
        stream(
            {"batch_size": 10},
            [
                {"id": "a1", "at": 0, "shard": "s1"},
                {"id": "a2", "at": 0, "shard": "s1"},
                {"id": "b1", "at": 0, "shard": "s2"},
                {"id": "a3", "at": 10, "shard": "s1"},
            ],
            {
                "a2": [{"result": "error", "report": True}],
                "b1": [{"result": "error", "report": "invalid"}],
                "a3": [{"result": "error", "report": False}, "ok"],
            },
            until=100,
        ),
        time_scale=TS,
        deadline_seconds=60,
    )
    header = trace[0]["knobs"]
    assert header["shards"] == ["s1", "s2"]
    assert len(set(header["kinesis_shards"].values())) == 2
    runs = events(trace, "invocation")
    first = [e for e in runs if "a1" in e["items"]]
    assert [(e["items"], e["result"], e["failed_items"]) for e in first] == [(["a1", "a2"], "partial", ["a2"])]
    b1 = [e for e in runs if "b1" in e["items"]]
    assert [(e["items"], e["result"]) for e in b1] == [(["b1"], "partial")]
    assert b1[0]["detail"]["attempts"] == {"b1": 1}
    a3 = [e for e in runs if "a3" in e["items"]]
    assert [e["result"] for e in a3][:2] == ["error", "ok"]  # thrown, then retried (after MiniStack's 1 s)
    assert not events(trace, "sink")
