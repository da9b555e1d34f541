"""The trace file format: round trip and one-line errors with line numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lambda_retry_properties.conformance.peers import PeerError, UnsupportedScenarioError
from lambda_retry_properties.conformance.peers.trace_io import read_trace, validate_trace, write_trace

HEADER: dict[str, Any] = {
    "format": "lambda-retry-trace",
    "version": 1,
    "mode": "sqs_poll",
    "peer": "test 0",
    "time_scale": 0.05,
    "knobs": {},
}
EVENTS: list[dict[str, Any]] = [
    {"t": 0.0, "kind": "arrival", "item": "m1"},
    {"t": 0.1, "kind": "receive", "item": "m1", "receive_count": 1},
    {"t": 0.1, "kind": "invocation", "items": ["m1"], "result": "partial", "failed_items": ["m1"]},
    {
        "t": 2.0,
        "kind": "sink",
        "items": ["m1"],
        "sink": "dlq",
        "condition": None,
        "approximate_invoke_count": None,
        "detail": {"why": "redrive"},
    },
]


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_trace(path, HEADER, EVENTS)
    header, events = read_trace(path)
    assert header == HEADER
    assert events == EVENTS
    assert len(path.read_text().splitlines()) == 1 + len(EVENTS)


def _write_lines(path: Path, records: list[Any]) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))


@pytest.mark.parametrize(
    ("records", "line", "words"),
    [
        ([{**HEADER, "version": 2}, *EVENTS], 1, "version"),
        ([HEADER, EVENTS[0], "{not json", *EVENTS[1:]], 3, "not valid JSON"),
        ([HEADER, {"t": 1.0, "kind": "arrival"}], 2, "lacks 'item'"),
        ([HEADER, EVENTS[1], EVENTS[0]], 3, "time order"),
        ([HEADER, {"t": 0.0, "kind": "teleport", "item": "m1"}], 2, "unknown kind"),
        ([HEADER, {**EVENTS[0], "itme": "typo"}], 2, "unknown key"),
        ([HEADER, {"t": 0.0, "kind": "invocation", "items": ["m1"], "result": "partial"}], 2, "failed_items"),
        ([HEADER, {"t": 0.0, "kind": "receive", "item": "m1", "receive_count": 0}], 2, "receive_count"),
        ([HEADER, {**EVENTS[3], "sink": "bin"}], 2, "sink"),
    ],
)
def test_read_trace_names_line_and_problem(tmp_path: Path, records: list[Any], line: int, words: str) -> None:
    path = tmp_path / "bad.jsonl"
    _write_lines(path, records)
    with pytest.raises(ValueError) as info:
        read_trace(path)
    message = str(info.value)
    assert "\n" not in message
    assert f":{line}:" in message
    assert words in message


def test_write_trace_refuses_an_invalid_trace(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="record 2"):
        write_trace(tmp_path / "x.jsonl", HEADER, [{"t": -1.0, "kind": "arrival", "item": "m1"}])
    assert not (tmp_path / "x.jsonl").exists()


def test_validate_trace_accepts_every_kind() -> None:
    events = [
        {"t": 0.0, "kind": "arrival", "item": "a"},
        {"t": 0.0, "kind": "invocation", "items": ["a"], "result": "ok"},
        {"t": 0.0, "kind": "throttle", "items": ["a"]},
        {"t": 0.0, "kind": "service_error", "items": ["a"]},
        {"t": 0.0, "kind": "receive", "item": "a", "receive_count": 1},
        {"t": 0.0, "kind": "delete", "item": "a"},
        {"t": 0.0, "kind": "visible", "item": "a"},
        {
            "t": 0.0,
            "kind": "sink",
            "items": ["a"],
            "sink": "on_failure",
            "condition": "RetriesExhausted",
            "approximate_invoke_count": 3,
        },
        {"t": 0.0, "kind": "expired", "item": "a"},
        {"t": 0.0, "kind": "checkpoint", "shard": "s1", "item": "a"},
        {"t": 0.0, "kind": "request", "item": "a", "attempt": 1},
        {"t": 0.0, "kind": "response", "item": "a", "status_code": 200, "function_error": None},
        {
            "t": 0.0,
            "kind": "outcome",
            "item": "a",
            "status_code": None,
            "function_error": None,
            "error": "ReadTimeoutError",
        },
    ]
    validate_trace([HEADER, *events])


def test_errors_are_one_line() -> None:
    assert str(PeerError("a\n  b")) == "a b"
    assert isinstance(UnsupportedScenarioError("x"), PeerError)


def test_a_peer_trace_survives_write_and_read(tmp_path: Path, botocore_peer: Any) -> None:
    trace = botocore_peer.run_scenario(
        {
            "mode": "sync_invoke",
            "config": {"client": {"retry_mode": "standard", "read_timeout_seconds": 5}},
            "items": [{"id": "c1", "at": 0}, {"id": "c2", "at": 1}],
            "handler": {"c1": ["throttle", "ok"], "default": ["error"]},
            "until": 2,
        },
        time_scale=0.05,
        deadline_seconds=20,
    )
    path = tmp_path / "peer.jsonl"
    write_trace(path, trace[0], trace[1:])
    header, events = read_trace(path)
    assert header == trace[0] and events == trace[1:]
    assert {e["kind"] for e in events} >= {"arrival", "request", "throttle", "invocation", "response", "outcome"}
