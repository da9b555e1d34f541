"""SQS polling: settings validation, the scenario contract and the §13 items, checked directly."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lambda_retry.modes.sqs_poll import Config, initial_world
from lambda_retry.modes.sqs_poll.rules import deadlines, next_batch
from lambda_retry.scenario import load, simulate
from lambda_retry.settings import InputError, parse_config

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "docs" / "scenarios" / "sqs_poll"


def run(config: dict[str, Any], items: list[dict[str, Any]], handler: dict[str, Any] | None = None) -> dict[str, Any]:
    return simulate({"mode": "sqs_poll", "config": config, "items": items, "handler": handler or {}})


def ids(*names: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"id": n, "at": 0, **extra} for n in names]


# -- settings ------------------------------------------------------------------------------------


def test_function_timeout_above_visibility_is_rejected_naming_both_values_13_4() -> None:
    with pytest.raises(InputError) as err:
        run({"visibility_timeout_seconds": 30, "function_timeout_seconds": 60}, ids("m1"))
    message = str(err.value)
    assert "\n" not in message
    assert "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds" in message
    assert message.startswith("config: InvalidParameterValueException")


def test_equal_timeouts_are_accepted_and_the_switch_accepts_a_larger_function_timeout() -> None:
    assert parse_config(Config, {"visibility_timeout_seconds": 30, "function_timeout_seconds": 30})
    config = parse_config(Config, {"visibility_timeout_seconds": 30, "function_timeout_seconds": 60,
                                   "function_timeout_validated": False})
    assert config.function_timeout_seconds == 60


@pytest.mark.parametrize(("raw", "fragment"), [
    ({"batch_size": 11}, "maximum_batching_window_seconds of at least 1"),
    ({"fifo": True, "batch_size": 11, "maximum_batching_window_seconds": 1}, "too large for a FIFO queue"),
    ({"fifo": True, "maximum_batching_window_seconds": 1}, "does not support a batching window"),
    ({"visibility_timeout_seconds": 43201}, "visibility_timeout_seconds: 43201 is out of range"),
    ({"message_retention_seconds": 59}, "message_retention_seconds: 59 is out of range"),
    ({"max_receive_count": 0}, "max_receive_count: 0 is out of range"),
    ({"maximum_concurrency": 1}, "maximum_concurrency: 1 is out of range"),
    ({"maximum_retry_attempts": 2}, "unknown key 'maximum_retry_attempts'"),
])
def test_settings_lambda_refuses_are_refused_in_one_line(raw: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InputError) as err:
        parse_config(Config, raw)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_defaults_are_aws_defaults() -> None:
    c = Config()
    assert (c.visibility_timeout_seconds, c.message_retention_seconds, c.batch_size) == (30, 345600, 10)
    assert (c.maximum_batching_window_seconds, c.function_timeout_seconds) == (0, 3)
    assert c.max_receive_count is None and c.maximum_concurrency is None and not c.report_batch_item_failures
    assert c.concurrency_cap == 1000


def test_effective_visibility_when_window_and_timeout_exceed_it() -> None:
    assert Config(maximum_batching_window_seconds=20, function_timeout_seconds=20).effective_visibility_seconds == 70
    assert Config(maximum_batching_window_seconds=5).effective_visibility_seconds == 30


# -- the scenario contract -----------------------------------------------------------------------------


@pytest.mark.parametrize(("config", "items", "handler", "fragment"), [
    ({"fifo": True}, ids("a"), {}, "items[0].group: a FIFO queue needs"),
    ({}, ids("a", group="g1"), {}, "items[0].group: only a FIFO queue has message groups"),
    ({}, ids("a"), {"a": [{"result": "error", "report": "later"}]}, "handler.a[0].report: 'later'"),
    ({}, ids("a"), {"a": [{"result": "ok", "report": "throw"}]}, "only an \"error\" result has a report"),
])
def test_bad_scenario_input_is_one_line(config: dict[str, Any], items: list[dict[str, Any]],
                                         handler: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InputError) as err:
        run(config, items, handler)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_report_has_the_contract_keys() -> None:
    report = run({}, ids("m1"))
    item = report["items"]["m1"]
    for key in ("outcome", "receive_count", "executions", "execution_times", "settled_at"):
        assert key in item
    assert report["invocations"] == [{"t": 0, "items": ["m1"], "result": "ok"}]


def test_every_receive_uses_one_script_entry_throttled_or_not() -> None:
    report = run({}, ids("m1"), {"m1": ["throttle", "error", "ok"]})
    assert report["items"]["m1"]["receive_count"] == 3
    assert report["items"]["m1"]["execution_times"] == [30, 60]


def test_until_leaves_messages_pending() -> None:
    report = simulate({"mode": "sqs_poll", "items": ids("m1"), "handler": {"m1": ["error"]}, "until": 10})
    assert report["items"]["m1"]["outcome"] == "pending (invisible)"


# -- semantics ------------------------------------------------------------------------------------


def test_redrive_is_lazy_on_the_receive_after_max_receive_count() -> None:
    report = run({"max_receive_count": 2, "visibility_timeout_seconds": 40}, ids("m1"), {"m1": ["error"]})
    m1 = report["items"]["m1"]
    assert m1["outcome"] == "dead_lettered" and m1["receive_count"] == 2
    assert m1["execution_times"] == [0, 40] and m1["settled_at"] == 80  # not at the second failure (40)


def test_without_a_redrive_policy_a_failing_message_expires() -> None:
    report = run({"message_retention_seconds": 100}, ids("m1"), {"m1": ["error"]})
    assert report["items"]["m1"]["outcome"] == "expired" and report["items"]["m1"]["settled_at"] == 100
    assert report["lost"] == ["m1"]


def test_a_batch_is_full_or_waits_for_its_window() -> None:
    report = run({"batch_size": 3, "maximum_batching_window_seconds": 5},
                 [{"id": "m1", "at": 0}, {"id": "m2", "at": 1}, {"id": "m3", "at": 2}, {"id": "m4", "at": 3}])
    assert [(i["t"], i["items"]) for i in report["invocations"]] == [(2, ["m1", "m2", "m3"]), (8, ["m4"])]


def test_maximum_concurrency_caps_the_batches_in_flight() -> None:
    report = run({"batch_size": 1, "maximum_concurrency": 2}, ids("m1", "m2", "m3"),
                 {"default": [{"result": "ok", "duration": 2}]})
    assert [i["t"] for i in report["invocations"]] == [0, 0, 2]


def test_reserved_concurrency_zero_never_runs_anything() -> None:
    report = run({"reserved_concurrency": 0, "max_receive_count": 1}, ids("m1", "m2"))
    assert all(i["outcome"] == "dead_lettered" and i["executions"] == 0 for i in report["items"].values())
    assert report["invocations"] == []


def test_service_error_switch_counts_a_run() -> None:
    handler = {"m1": ["service_error", "ok"]}
    assert run({}, ids("m1"), handler)["items"]["m1"]["executions"] == 1
    assert run({"service_error_runs_function": True}, ids("m1"), handler)["items"]["m1"]["executions"] == 2


def test_fifo_batch_mixes_groups_in_group_order() -> None:
    report = run({"fifo": True, "batch_size": 10},
                 [{"id": "a1", "group": "a"}, {"id": "b1", "group": "b"}, {"id": "a2", "group": "a"}])
    assert report["invocations"][0]["items"] == ["a1", "a2", "b1"]


def test_receive_waits_for_sqs_timers_due_at_the_same_instant() -> None:
    config = Config(max_receive_count=1)
    world = initial_world([0, 0])
    world = world._replace(items=tuple(m._replace(receive_count=1) for m in world.items))
    assert next_batch(config, world) == ()  # both are due to move to the DLQ first
    assert 345600 in deadlines(config, world)


def test_every_message_settles_in_the_largest_scenario() -> None:
    report = simulate(load(SCENARIOS / "01-low-reserved-concurrency-dead-letters-valid-messages-13.2.json"))
    assert {i["outcome"] for i in report["items"].values()} == {"deleted", "dead_lettered"}


# -- the §13 items ------------------------------------------------------------------------------------

SECTION_13_ITEMS = (2, 3, 4, 9, 10, 11, 18, 21)


@pytest.mark.parametrize("item", SECTION_13_ITEMS)
def test_each_sqs_item_of_section_13_has_a_scenario(item: int) -> None:
    named = [p for p in SCENARIOS.glob("*.json")
             if not p.name.endswith(".expect.json") and re.search(rf"-13\.{item}\.json$", p.name)]
    assert named, f"no scenario reproduces §13 item {item}"


def test_item_2_valid_messages_reach_the_dlq_without_running_and_maximum_concurrency_fixes_it() -> None:
    low = simulate(load(SCENARIOS / "01-low-reserved-concurrency-dead-letters-valid-messages-13.2.json"))
    never_ran = [n for n, i in low["items"].items() if i["outcome"] == "dead_lettered" and i["executions"] == 0]
    assert never_ran
    fixed = simulate(load(SCENARIOS / "02-maximum-concurrency-prevents-throttle-redrive-13.2.json"))
    assert all(i["outcome"] == "deleted" and i["receive_count"] == 1 for i in fixed["items"].values())


def test_item_11_both_contracts() -> None:
    buggy = simulate(load(SCENARIOS / "08-fifo-response-lists-only-the-failure-loses-the-next-13.11.json"))
    assert buggy["items"]["b"]["outcome"] == "deleted" and buggy["items"]["b"]["successes"] == 0
    assert buggy["lost"] == ["b"]
    correct = simulate(load(SCENARIOS / "09-fifo-response-lists-the-rest-of-the-group-13.11.json"))
    assert correct["lost"] == [] and correct["items"]["b"]["successes"] == 1
    runs = [i["items"] for i in correct["invocations"]]
    assert runs == [["a", "b", "c"], ["a", "b"]]


def test_scenario_files_are_valid_json_with_expectations() -> None:
    for path in SCENARIOS.glob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))
        if not path.name.endswith(".expect.json"):
            assert path.with_name(path.stem + ".expect.json").exists(), path.name


def test_a_large_partial_batch_is_simulated_without_enumerating_failure_sets() -> None:
    report = run({"batch_size": 500, "maximum_batching_window_seconds": 1, "report_batch_item_failures": True,
                  "max_receive_count": 3},
                 [{"id": f"m{k}"} for k in range(300)], {"m3": ["error", "ok"], "m150": ["error"]})
    first = report["invocations"][0]
    assert (first["t"], len(first["items"]), first["reported"]) == (1, 300, ["m3", "m150"])
    assert report["items"]["m150"]["outcome"] == "dead_lettered"
