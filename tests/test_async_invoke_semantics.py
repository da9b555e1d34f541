"""Facts of asynchronous invocation checked through the scenario runner, beyond docs/scenarios."""

from __future__ import annotations

from typing import Any

from lambda_retry.scenario import simulate


def run(config: dict[str, Any], handler: list[Any], items: int = 1) -> dict[str, Any]:
    return simulate({"mode": "async_invoke", "config": config,
                     "items": [{"id": f"e{k + 1}", "at": 0} for k in range(items)],
                     "handler": {"default": handler}})


def test_switch_off_sends_failures_to_on_failure_only() -> None:
    both = run({"dead_letter_queue": "sqs", "on_failure": "sqs"}, ["error"])["items"]["e1"]
    one = run({"dead_letter_queue": "sqs", "on_failure": "sqs", "failure_to_both_sinks": False}, ["error"])
    assert both["sinks"] == ["dlq", "on_failure"]
    assert one["items"]["e1"]["sinks"] == ["on_failure"]


def test_when_due_age_check_fails_the_event_when_the_retry_comes_due() -> None:
    ahead = run({"maximum_event_age_seconds": 60}, [{"result": "error", "duration": 1}])["items"]["e1"]
    due = run({"maximum_event_age_seconds": 60, "event_age_check": "when_due"},
              [{"result": "error", "duration": 1}])["items"]["e1"]
    assert (ahead["settled_at"], ahead["condition"]) == (1, "EventAgeExceeded")
    assert (due["settled_at"], due["condition"], due["executions"]) == (61, "EventAgeExceeded", 1)


def test_retry_delay_anchor_at_attempt_start() -> None:
    slow = [{"result": "timeout", "duration": 30}]
    failure = run({}, slow)["items"]["e1"]["execution_times"]
    start = run({"retry_delay_anchor": "attempt_start"}, slow)["items"]["e1"]["execution_times"]
    assert failure == [0, 90, 240]
    assert start == [0, 60, 180]


def test_zero_retries_runs_once() -> None:
    item = run({"maximum_retry_attempts": 0, "on_failure": "lambda"}, ["error"])["items"]["e1"]
    assert (item["executions"], item["outcome"], item["condition"]) == (1, "dead_lettered", "RetriesExhausted")


def test_backoff_doubles_from_one_second_to_five_minutes() -> None:
    report = run({"maximum_event_age_seconds": 3600}, ["throttle"])
    times = [t["t"] for t in report["trace"] if t["rule"] == "lambda_rejects_invocation"]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[:9] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert set(gaps[9:]) == {300}


def test_on_success_delivery_failure_is_counted_but_the_event_succeeds() -> None:
    report = run({"on_success": "sns", "failing_sinks": ["on_success"]}, ["ok"])
    assert report["items"]["e1"]["outcome"] == "succeeded"
    assert report["metrics"]["DestinationDeliveryFailures"] == 1


def test_until_stops_the_clock() -> None:
    report = simulate({"mode": "async_invoke", "items": [{"id": "e1"}], "handler": {"e1": ["error"]},
                       "until": 100})
    assert report["items"]["e1"]["outcome"] == "pending (retry_wait)"
    assert report["items"]["e1"]["execution_times"] == [0, 60]
