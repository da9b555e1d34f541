"""The sqs_poll conformance drivers: the scenario contract they apply (``_sqs_contract``, held
against the model's own reading of a script), what the moto and MiniStack drivers make of it,
how they order what they see, and the statuses the kit reports for moto (deterministic on its
virtual clock)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lambda_retry.modes.sqs_poll.scenario import run_end
from lambda_retry.modes.sqs_poll.world import Phase
from lambda_retry.scenario import parse
from lambda_retry_properties.conformance.peers import UnsupportedScenarioError
from lambda_retry_properties.conformance.peers._common import Recorder, ScenarioClock, parse_scenario
from lambda_retry_properties.conformance.peers._sqs_contract import Entry, decide, report_for, split_reports

Events = Callable[..., list[dict[str, Any]]]
TS = 0.02


def sqs(config: dict[str, Any], items: list[dict[str, Any]], handler: dict[str, Any], until: float) -> dict[str, Any]:
    return {"mode": "sqs_poll", "config": config, "items": items, "handler": handler, "until": until}


def kinds(trace: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(kind, item or items) of every event, header excluded."""
    return [(e["kind"], e.get("item") or tuple(e.get("items") or ())) for e in trace[1:] if e["kind"] != "arrival"]


# -- the contract ------------------------------------------------------------------------------


def test_split_reports_takes_the_report_keys_out_and_keeps_their_places() -> None:
    raw = sqs({}, [{"id": "a"}], {"a": [{"result": "error", "report": "failed_only", "duration": 2}, "ok"],
                                  "default": {"result": "error", "report": "swallow"}}, until=10)
    stripped, reports = split_reports(raw)
    assert stripped["handler"]["a"] == [{"result": "error", "duration": 2}, "ok"]
    assert stripped["handler"]["default"] == [{"result": "error"}]
    assert raw["handler"]["a"][0]["report"] == "failed_only"  # the caller's scenario is left alone
    assert reports == {"a": ["failed_only", None], "default": ["swallow"]}
    assert report_for(reports, "a", 1) == "failed_only"
    assert report_for(reports, "a", 5) is None  # the last entry repeats
    assert report_for(reports, "b", 1) == "swallow"  # no list of its own: the default's
    parse_scenario(stripped, ["sqs_poll"], "test")  # what remains is the shared contract


@pytest.mark.parametrize(("step", "match"), [
    ({"result": "error", "report": "loud"}, "not one of"),
    ({"result": "ok", "report": "throw"}, "only an \"error\""),
])
def test_split_reports_rejects_what_the_model_rejects(step: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        split_reports(sqs({}, [{"id": "a"}], {"a": [step]}, until=1))


ENTRIES: dict[str, Any] = {
    "ok": "ok",
    "slow": {"result": "ok", "duration": 2},
    "error": "error",
    "throw": {"result": "error", "report": "throw"},
    "invalid": {"result": "error", "report": "invalid"},
    "failed_only": {"result": "error", "report": "failed_only"},
    "rest": {"result": "error", "report": "failed_and_rest_of_group"},
    "swallow": {"result": "error", "report": "swallow"},
    "timeout": "timeout",
    "too_long": {"result": "ok", "duration": 9},
    "oom": "oom",
}


def _model_reading(rbif: bool, fifo: bool, script: tuple[str, ...]) -> tuple[str, list[str], list[str]]:
    """What the model's scenario.run_end makes of one batch of a, b, c: (result, failed, deleted)."""
    names = ("a", "b", "c")
    items = [{"id": n, "at": 0, **({"group": "g1" if n != "c" else "g2"} if fifo else {})} for n in names]
    config = {"report_batch_item_failures": rbif, "fifo": fifo, "function_timeout_seconds": 5}
    _mod, setup, _until = parse(sqs(config, items, {n: [ENTRIES[s]] for n, s in zip(names, script, strict=True)}, 1))
    world = setup.world._replace(items=tuple(m._replace(phase=Phase.PROCESSING, receive_count=1, batch=1)
                                             for m in setup.world.items))
    batch = (0, 1, 2)
    event, param = run_end(setup, world, batch, 1)
    if event == "handler_fails":
        return {"invalid_response": "partial"}.get(param[2], param[2]), [], []
    if event == "handler_succeeds":
        return "ok", [], list(names)
    failed = [names[k] for k in param[2]]
    listed = {names[k] for k in param[3]}
    return "partial", failed, [n for n in names if not rbif or n not in listed]


CASES = [(rbif, fifo, script) for rbif in (False, True) for fifo in (False, True)
         for script in itertools.product(ENTRIES, repeat=3)
         if sum(s != "ok" for s in script) <= 2]


@pytest.mark.parametrize(("rbif", "fifo"), [(False, False), (False, True), (True, False), (True, True)])
def test_decide_reads_a_batch_as_the_model_does(rbif: bool, fifo: bool) -> None:
    """Every batch of three messages (at most two of them not plain ``ok``): the drivers' contract
    gives the result, the failed messages and the deletes the model's scenario reading gives."""
    stripped_entries = {name: split_reports(sqs({}, [], {"x": [raw]}, 1)) for name, raw in ENTRIES.items()}
    checked = 0
    for _rbif, _fifo, script in (c for c in CASES if c[:2] == (rbif, fifo)):
        entries = {}
        for item, name in zip("abc", script, strict=True):
            stripped, reports = stripped_entries[name]
            step = stripped["handler"]["x"][0]
            result = step if isinstance(step, str) else step["result"]
            duration = 0.0 if isinstance(step, str) else float(step.get("duration") or 0)
            entries[item] = Entry(result, duration, reports["x"][0])
        d = decide(list("abc"), entries, report_batch_item_failures=rbif, function_timeout=5,
                   groups={"a": "g1", "b": "g1", "c": "g2"} if fifo else None, order={"a": 0, "b": 1, "c": 2})
        deleted = d.delete if d.result not in ("error", "timeout", "oom") else []
        mine = (d.result, d.failed if d.result == "partial" and d.response == "listed" else [], deleted)
        model = _model_reading(rbif, fifo, script)
        if d.result == "partial" and d.response == "invalid":
            mine = (d.result, [], deleted)  # the model does not say which messages an invalid response named
            model = (model[0], [], model[2])
        assert mine == model, (rbif, fifo, script, d)
        checked += 1
    assert checked > 300


def test_decide_rejections_come_before_the_run() -> None:
    entries = {"a": Entry("error"), "b": Entry("service_error"), "c": Entry("throttle")}
    assert decide(list("abc"), entries, report_batch_item_failures=True, function_timeout=3).kind == "throttle"
    entries["c"] = Entry("ok")
    assert decide(list("abc"), entries, report_batch_item_failures=True, function_timeout=3).kind == "service_error"


# -- moto --------------------------------------------------------------------------------------


def test_moto_throttles_beyond_reserved_concurrency_and_the_receive_counts(moto_peer: ModuleType,
                                                                           events: Events) -> None:
    trace = moto_peer.run_scenario(
        sqs({"batch_size": 1, "reserved_concurrency": 1, "function_timeout_seconds": 10},
            [{"id": "m1"}, {"id": "m2"}], {"default": [{"result": "ok", "duration": 10}]}, until=90),
        time_scale=TS, deadline_seconds=20)
    assert kinds(trace)[:4] == [("receive", "m1"), ("invocation", ("m1",)), ("receive", "m2"), ("throttle", ("m2",))]
    assert [(e["t"], e["receive_count"]) for e in events(trace, "receive", item="m2")] == [(0, 1), (30.001, 2)]
    assert [e["t"] for e in events(trace, "delete", item="m1")] == [10]
    assert trace[0]["knobs"]["throttled_batches"] == 1


def test_moto_maximum_concurrency_holds_the_third_batch(moto_peer: ModuleType, events: Events) -> None:
    trace = moto_peer.run_scenario(
        sqs({"batch_size": 1, "maximum_concurrency": 2, "function_timeout_seconds": 10},
            [{"id": "m1"}, {"id": "m2"}, {"id": "m3"}], {"default": [{"result": "ok", "duration": 10}]}, until=60),
        time_scale=TS, deadline_seconds=20)
    assert not events(trace, "throttle")
    assert [e["t"] for e in events(trace, "invocation")] == [0, 0, 10]
    assert kinds(trace)[4:7] == [("delete", "m1"), ("delete", "m2"), ("receive", "m3")]


def test_moto_dlq_move_is_recorded_before_the_receive_that_made_it(moto_peer: ModuleType, events: Events) -> None:
    """moto moves the head of a FIFO group to the DLQ inside the ReceiveMessage that then returns
    the next message of the group: the sink comes first, as in one instant of the model."""
    trace = moto_peer.run_scenario(
        sqs({"fifo": True, "batch_size": 1, "max_receive_count": 1},
            [{"id": "a", "group": "g"}, {"id": "b", "group": "g"}], {"a": ["error"]}, until=60),
        time_scale=TS, deadline_seconds=20)
    assert kinds(trace)[2:4] == [("sink", ("a",)), ("receive", "b")]
    (sink,) = events(trace, "sink")
    assert sink["t"] == events(trace, "receive", item="b")[0]["t"] == 30.001
    assert sink["detail"]["dead_letter_queue_source_arn"] is None  # moto: no DeadLetterQueueSourceArn


@pytest.mark.parametrize(("report", "deleted"), [("failed_only", ["b", "c"]), ("failed_and_rest_of_group", ["c"])])
def test_moto_partial_response_in_a_fifo_group(moto_peer: ModuleType, events: Events, report: str,
                                               deleted: list[str]) -> None:
    """The handler stops group g1 at a's failure: failed_only loses b (deleted unprocessed),
    the documented response returns it with a."""
    trace = moto_peer.run_scenario(
        sqs({"fifo": True, "batch_size": 3, "report_batch_item_failures": True},
            [{"id": "a", "group": "g1"}, {"id": "b", "group": "g1"}, {"id": "c", "group": "g2"}],
            {"a": [{"result": "error", "report": report}, "ok"]}, until=20),
        time_scale=TS, deadline_seconds=20)
    (first, *_) = events(trace, "invocation")
    assert (first["result"], first["failed_items"]) == ("partial", ["a"])
    assert [e["item"] for e in events(trace, "delete") if e["t"] == 0] == deleted


@pytest.mark.parametrize(("report", "rbif", "result", "deleted_at_once"), [
    ("invalid", True, "partial", []),
    ("invalid", False, "partial", ["m1", "m2"]),
    ("swallow", True, "ok", ["m1", "m2"]),
    ("throw", True, "error", []),
])
def test_moto_handler_answers(moto_peer: ModuleType, events: Events, report: str, rbif: bool, result: str,
                              deleted_at_once: list[str]) -> None:
    trace = moto_peer.run_scenario(
        sqs({"batch_size": 2, "report_batch_item_failures": rbif}, [{"id": "m1"}, {"id": "m2"}],
            {"m1": [{"result": "error", "report": report}, "ok"]}, until=40),
        time_scale=TS, deadline_seconds=20)
    assert events(trace, "invocation")[0]["result"] == result
    assert [e["item"] for e in events(trace, "delete") if e["t"] == 0] == deleted_at_once


def test_moto_fifo_group_comes_back_out_of_order(moto_peer: ModuleType) -> None:
    """The catalogued divergence fifo_group_served_out_of_order_after_visibility_timeout, on moto
    alone: two messages of one group visible again together, and a receive returns the second."""
    import boto3
    from moto import mock_aws

    clock = moto_peer.VirtualClock(1.0, 10, "moto")
    with mock_aws(), moto_peer._patched_moto_clock(clock):
        client = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        url = client.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "5"})[
            "QueueUrl"]
        for body in ("a", "b"):
            client.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=body)
        assert [m["Body"] for m in client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == [
            "a", "b"]
        clock.sleep_until(6)
        again = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in again] == ["b"]  # AWS: ["a", "b"], the group in order


def test_moto_runs_are_deterministic_on_the_virtual_clock(moto_peer: ModuleType) -> None:
    scenario = sqs({"batch_size": 2, "max_receive_count": 2, "report_batch_item_failures": True},
                   [{"id": "m1"}, {"id": "m2", "at": 3}, {"id": "m3", "at": 3}],
                   {"m2": ["error"], "m3": [{"result": "error", "report": "invalid"}, "ok"]}, until=120)

    def strip(trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k != "detail"} for e in trace[1:]]

    first = moto_peer.run_scenario(scenario, time_scale=TS, deadline_seconds=20)
    assert strip(first) == strip(moto_peer.run_scenario(scenario, time_scale=TS, deadline_seconds=20))
    assert first[0]["knobs"]["ended_at"] < 120  # stopped once every message was deleted or moved


FIFO_ORDER = "fifo_group_served_out_of_order_after_visibility_timeout"
MOTO_DIVERGENCES = {
    "sqs_poll-04-handler_fails": "expired_message_kept",
    "sqs_poll-05-handler_fails": "expired_message_kept",
    "sqs_poll-06-handler_reports_failures": "expired_message_kept",
    "sqs_poll-08-lambda_deletes_unreported_messages": "expired_message_kept",
    "docs/09-fifo-response-lists-the-rest-of-the-group-13.11": FIFO_ORDER,
    "docs/12-no-dlq-retried-until-retention-expires": "expired_message_kept",
}


@pytest.mark.conformance
def test_moto_conformance_statuses(moto_peer: ModuleType) -> None:
    """moto on its virtual clock is deterministic: every scenario's status is pinned."""
    from lambda_retry_properties.conformance.kit import conform

    report = conform("moto", "sqs_poll")
    got = {r.name: (r.status, r.divergence) for r in report.results}
    for name, (status, divergence) in got.items():
        if name in MOTO_DIVERGENCES:
            assert (status, divergence) == ("expected divergence", MOTO_DIVERGENCES[name]), name
        elif status == "unsupported":
            assert "function_timeout_validated" in next(r.detail for r in report.results if r.name == name)
        else:
            assert status == "agree", (name, status)
    assert set(MOTO_DIVERGENCES) <= set(got)
    assert sum(s == "agree" for s, _ in got.values()) >= 15


# -- MiniStack, without a server ----------------------------------------------------------------


@pytest.mark.parametrize(("config", "until", "match"), [
    ({"visibility_timeout_seconds": 5}, 60, "whole wall seconds"),
    ({"message_retention_seconds": 70}, 130, "at least 60 wall seconds"),
])
def test_ministack_says_what_it_cannot_express(config: dict[str, Any], until: float, match: str) -> None:
    from lambda_retry_properties.conformance.peers import ministack

    with pytest.raises(UnsupportedScenarioError, match=match):
        ministack._check_sqs_expressible(parse_scenario(sqs(config, [{"id": "m1"}], {}, until), ["sqs_poll"], "t"),
                                         1 / 30)


def test_ministack_runs_a_short_retention_that_cannot_matter() -> None:
    """A retention below MiniStack's 60 wall seconds is raised; that is only allowed when no message
    can reach it before the run ends."""
    from lambda_retry_properties.conformance.peers import ministack

    ministack._check_sqs_expressible(
        parse_scenario(sqs({"message_retention_seconds": 70}, [{"id": "m1"}], {}, 60), ["sqs_poll"], "t"), 1 / 30)


def _fake_run(tmp_path: Path, scenario: dict[str, Any]) -> Any:
    from lambda_retry_properties.conformance.peers import ministack

    clock = ScenarioClock(0.1, 60, "ministack")
    run = ministack._Run(parse_scenario(scenario, ["sqs_poll"], "t"), clock, None, Recorder(), {},  # type: ignore[arg-type]
                         str(tmp_path), {})
    run.function_timeout_wall = 0.3
    return run, clock


def _log(tmp_path: Path, *lines: dict[str, Any]) -> None:
    with open(tmp_path / "log.jsonl", "a", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")


def test_ministack_observations_are_put_in_the_order_of_one_instant(tmp_path: Path) -> None:
    from lambda_retry_properties.conformance.peers import ministack

    run, clock = _fake_run(tmp_path, sqs({"batch_size": 1}, [{"id": "m1"}, {"id": "m2"}], {"m2": ["error"]}, 60))
    wall = clock.start.__add__

    def start(item: str, count: int, at: float, rid: str) -> dict[str, Any]:
        return {"phase": "start", "wall": wall(at * 0.1), "request_id": rid, "attempts": {item: count},
                "items": [{"id": item, "handle": f"h-{item}", "receive_count": count}],
                "steps": {item: {"result": "ok", "duration": None, "report": None}},
                "decision": {"response": "ok"}}

    # Two batches received within one peek: the second's handler started first.
    _log(tmp_path, start("m2", 1, 0.3, "r2"), start("m1", 1, 0.5, "r1"),
         {"phase": "end", "wall": wall(1.0 * 0.1), "start": wall(0.3 * 0.1), "request_id": "r2", "outcome": "error",
          "failed": ["m2"]},
         {"phase": "end", "wall": wall(2.0 * 0.1), "start": wall(0.5 * 0.1), "request_id": "r1", "outcome": "ok",
          "failed": []},
         start("m2", 2, 31.0, "r3"),
         {"phase": "end", "wall": wall(31.5 * 0.1), "start": wall(31.0 * 0.1), "request_id": "r3", "outcome": "error",
          "failed": ["m2"]})
    for item in ("m1", "m2"):
        run.record_receive(0.6, item, 1, {"peek_t": 0.6})
    raw = Recorder()
    raw.add(0.0, "arrival", item="m1")
    raw.add(0.0, "arrival", item="m2")
    raw.add(2.6, "delete", item="m1", detail={"last_seen_t": 2.2})  # seen present after its run ended
    ministack._assemble_sqs_trace(run, raw.events())
    got = [(round(e["t"], 3), e["kind"], e.get("item") or tuple(e["items"])) for e in run.recorder.events()]
    assert got == [
        (0.0, "arrival", "m1"),
        (0.0, "arrival", "m2"),
        (0.3, "receive", "m1"),  # send order, at the earliest sign of either receive
        (0.3, "invocation", ("m1",)),
        (0.3, "receive", "m2"),
        (0.3, "invocation", ("m2",)),
        (2.2, "delete", "m1"),  # after its run ended and after the last peek that saw it
        (31.0, "visible", "m2"),  # inferred: SQS made it visible before it was received again
        (31.0, "receive", "m2"),
        (31.0, "invocation", ("m2",)),
    ]
    assert run.recorder.events()[7]["detail"]["inferred"]
    assert run.knobs["inferred_visible"] == 1


# -- MiniStack, live ---------------------------------------------------------------------------

MS_TS = 0.05


def test_ministack_answers_the_contract_and_drops_an_invalid_response(ministack_peer: ModuleType,
                                                                    events: Events) -> None:
    """failed_only in a FIFO group loses b (as AWS would, and as the model says); an invalid
    response makes MiniStack delete the whole batch (AWS: nothing deleted)."""
    trace = ministack_peer.run_scenario(
        sqs({"fifo": True, "batch_size": 3, "report_batch_item_failures": True, "visibility_timeout_seconds": 20},
            [{"id": "a", "group": "g1"}, {"id": "b", "group": "g1"}, {"id": "c", "group": "g2"}],
            {"a": [{"result": "error", "report": "failed_only"}, "ok"]}, until=60),
        time_scale=MS_TS, deadline_seconds=30)
    first = events(trace, "invocation")[0]
    assert (first["items"], first["result"], first["failed_items"]) == (["a", "b", "c"], "partial", ["a"])
    assert first["detail"]["listed"] == ["a"]
    deletes = [e["item"] for e in events(trace, "delete")]
    assert sorted(deletes[:2]) == ["b", "c"] and deletes[2:] == ["a"]
    position = [k for k in kinds(trace) if k[0] != "visible"]
    assert position[:4] == [("receive", "a"), ("receive", "b"), ("receive", "c"), ("invocation", ("a", "b", "c"))]
    assert trace[0]["knobs"]["ended_at"] < 40  # stopped once the queue was empty and no handler ran

    trace = ministack_peer.run_scenario(
        sqs({"batch_size": 2, "report_batch_item_failures": True, "visibility_timeout_seconds": 20},
            [{"id": "m1"}, {"id": "m2"}], {"m2": [{"result": "error", "report": "invalid"}]}, until=40),
        time_scale=MS_TS, deadline_seconds=30)
    (only,) = events(trace, "invocation")
    assert (only["result"], only["failed_items"]) == ("partial", ["m2"])
    assert sorted(e["item"] for e in events(trace, "delete")) == ["m1", "m2"]  # divergence: AWS deletes none
    assert not events(trace, "receive", receive_count=2)


def test_ministack_caps_batches_at_reserved_concurrency_and_pauses_after_a_failure(ministack_peer: ModuleType,
                                                                                  events: Events) -> None:
    """Reserved concurrency 1: MiniStack runs one batch at a time and never receives beyond it
    (AWS: the second batch is received and throttled, its receive counts).  After m3's failed
    batch the mapping pauses a wall second (20 scenario seconds here) before m4 is received."""
    trace = ministack_peer.run_scenario(
        sqs({"batch_size": 1, "reserved_concurrency": 1, "visibility_timeout_seconds": 40,
             "function_timeout_seconds": 10},
            [{"id": "m1"}, {"id": "m2"}, {"id": "m3", "at": 20}, {"id": "m4", "at": 22}],
            {"m1": [{"result": "ok", "duration": 6}], "m3": ["error", "ok"]}, until=80),
        time_scale=MS_TS, deadline_seconds=30)
    assert {e["receive_count"] for e in events(trace, "receive") if e["item"] != "m3"} == {1}
    m1_end = events(trace, "delete", item="m1")[0]["t"]
    assert events(trace, "receive", item="m2")[0]["t"] >= m1_end - 0.5  # waited for m1's run: no throttle
    failed_at = events(trace, "invocation", items=["m3"])[0]["t"]
    m4 = events(trace, "receive", item="m4")[0]["t"]
    assert m4 - failed_at >= 1 / MS_TS - 2  # the one-wall-second pause, not scaled
    assert trace[0]["knobs"]["warm_workers"] == 1
