"""Stream polling scenarios: the documented examples (§13 items 1, 9, 12, 13, 15 among them), and
the scenario contract's input errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lambda_retry.scenario import load, simulate, to_text
from lambda_retry.settings import InputError

HERE = Path(__file__).resolve().parent.parent / "docs" / "scenarios" / "stream_poll"
PAIRS = sorted(p for p in HERE.glob("*.json") if not p.name.endswith(".expect.json"))


def _subset(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Differences between ``expected`` and ``actual``: objects compare as subsets, the rest exactly."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        out: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{where}.{key}: missing")
            else:
                out.extend(_subset(value, actual[key], f"{where}.{key}"))
        return out
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.stem)
def test_scenario_matches_its_expectation(path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expect.json").read_text(encoding="utf-8"))
    report = simulate(load(path))
    assert not _subset(expected, report)
    assert to_text(report)


def test_the_section_13_items_are_reproduced() -> None:
    names = " ".join(p.name for p in PAIRS)
    for item in ("item01", "item09", "item12", "item13", "item15"):
        assert f"s13-{item}-" in names


def _run(name: str) -> dict[str, Any]:
    (path,) = [p for p in PAIRS if p.name.startswith(name)]
    return simulate(load(path))


def test_poison_pill_blocks_its_shard_until_retention_and_its_neighbours_expire() -> None:
    report = _run("01-")
    day = 24 * 3600
    items = report["items"]
    assert items["poison"]["outcome"] == "expired" and items["poison"]["settled_at"] == day
    assert report["blocked"] == [{"shard": "s1", "from": 0, "until": day, "batch": ["poison"]}]
    # nothing behind the poison record ran while it blocked the shard
    assert all(t >= day for name in ("r2", "r6") for t in items[name]["execution_times"])
    # records written within a minute of it expire behind the backlog
    assert [items[n]["outcome"] for n in ("r3", "r4", "r5")] == ["expired"] * 3
    # the other shard was never blocked
    assert items["other1"]["execution_times"] == [0] and items["other2"]["execution_times"] == [60]


def test_partial_failure_counts_and_reaches_on_failure_with_aws_invoke_count() -> None:
    report = _run("03-")
    assert report["items"]["r2"]["approximate_invoke_count"] == 3
    (record,) = report["on_failure"]
    assert record["condition"] == "RetryAttemptsExhausted" and "records" not in record


def test_checkpoint_resumes_at_the_lowest_reported_failure() -> None:
    invocations = _run("04-")["invocations"]
    assert [i["items"] for i in invocations] == [["s1", "s2", "s3", "s4", "s5"], ["s3", "s4", "s5"]]


BASE: dict[str, Any] = {"mode": "stream_poll", "items": [{"id": "r1", "at": 0, "shard": "s1"}]}


@pytest.mark.parametrize(("change", "needle"), [
    ({"config": {"source": "sqs"}}, "config.source: 'sqs' is not one of the allowed values"),
    ({"items": [{"id": "r1", "shard": ""}]}, "items[0].shard"),
    ({"items": [{"id": "r1", "stream": "x"}]}, "unknown key 'stream'"),
    ({"items": [{"id": "r1", "shard": "a", "parent_shard": "a"}]}, "items[0].parent_shard"),
    ({"items": [{"id": "r1", "shard": "a", "parent_shard": "b"}, {"id": "r2", "shard": "b", "parent_shard": "a"}]},
     "form a cycle"),
    ({"items": [{"id": "r1", "shard": "a", "parent_shard": "b"}, {"id": "r2", "shard": "a"}]},
     "every record of a shard names the same parent"),
    ({"handler": {"r1": [{"result": "ok", "report": True}]}}, "applies to \"error\" results only"),
    ({"handler": {"r1": [{"result": "error", "report": "yes"}]}}, "allowed: true, false or \"invalid\""),
])
def test_bad_scenarios_are_one_clear_line(change: dict[str, Any], needle: str) -> None:
    with pytest.raises(InputError) as err:
        simulate({**BASE, **change})
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_report_flag_variants_drive_the_right_outcome() -> None:
    items = [{"id": f"r{k}", "at": 0, "shard": "s1"} for k in (1, 2, 3)]
    config = {"report_batch_item_failures": True, "maximum_retry_attempts": 0, "on_failure": "s3"}
    thrown = simulate({"mode": "stream_poll", "config": config, "items": items,
                       "handler": {"r2": [{"result": "error", "report": False}]}})
    assert [thrown["items"][f"r{k}"]["outcome"] for k in (1, 2, 3)] == ["discarded"] * 3
    assert thrown["on_failure"][0]["records"] == ["r1", "r2", "r3"]
    invalid = simulate({"mode": "stream_poll", "config": config, "items": items,
                        "handler": {"r2": [{"result": "error", "report": "invalid"}]}})
    assert invalid["invocations"][0]["result"] == "invalid_report"
    reported = simulate({"mode": "stream_poll", "config": config, "items": items, "handler": {"r2": ["error"]}})
    assert [reported["items"][f"r{k}"]["outcome"] for k in (1, 2, 3)] == ["processed", "discarded", "discarded"]
