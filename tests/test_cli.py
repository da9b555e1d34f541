"""The command line: verify, diagrams, docs, simulate; bad input is one line and exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_retry_properties.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "scenarios" / "async_invoke" / "01-error-error-ok.json"


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "model"), str(ROOT / "properties")])}
    return subprocess.run([sys.executable, "-m", "lambda_retry_properties.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_verify_one_profile_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--profile", "async_invoke.small", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "ASYNC-S01" in out and "proved" in out and "2,256" in out


def test_verify_reports_a_moved_pinned_count(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    from lambda_retry_properties.profiles import async_invoke as profiles

    moved = tuple(replace(p, states=1) if p.name == "async_invoke.small" else p for p in profiles.PROFILES)
    monkeypatch.setattr(profiles, "PROFILES", moved)
    assert main(["verify", "--profile", "async_invoke.small", "--quiet"]) == 1
    assert "pinned states 1, explored 2256" in capsys.readouterr().out


def test_verify_prints_the_counterexample_of_a_broken_property(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    from lambda_retry.modes.async_invoke.variants import VARIANTS
    from lambda_retry_properties.profiles import async_invoke as profiles

    wrong = next(v.spec for v in VARIANTS if v.name == "bug_retries_three_times")
    swapped = tuple(replace(p, spec=wrong) if p.name == "async_invoke.small" else p for p in profiles.PROFILES)
    monkeypatch.setattr(profiles, "PROFILES", swapped)
    assert main(["verify", "--profile", "small", "--mode", "async_invoke", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "ASYNC-S01 runs_never_exceed_one_plus_retries" in out
    assert "t=60  e1      lambda_invokes_function  retry_wait -> running" in out


def test_simulate_text_and_json() -> None:
    text = run_cli("simulate", str(EXAMPLE))
    assert text.returncode == 0, text.stderr
    assert "t=60" in text.stdout and "succeeded" in text.stdout
    js = run_cli("simulate", str(EXAMPLE), "--format", "json")
    report = json.loads(js.stdout)
    assert report["items"]["e1"]["execution_times"] == [0, 60, 180]
    assert report["trace"][0] == {"t": 0, "item": "e1", "rule": "lambda_invokes_function",
                                  "from": "queued", "to": "running"}


BAD_INPUTS = {
    "malformed.json": ('{"mode": "async_invoke",', "malformed JSON at line 1"),
    "unknown-key.json": ('{"mode": "async_invoke", "items": [{"id": "e1"}], "colour": 1}', "unknown key 'colour'"),
    "unknown-config.json": ('{"mode": "async_invoke", "config": {"max_retries": 1}, "items": [{"id": "e1"}]}',
                            "config: unknown key 'max_retries'; allowed keys:"),
    "out-of-range.json": ('{"mode": "async_invoke", "config": {"maximum_retry_attempts": 3}, "items": [{"id": "e1"}]}',
                          "config.maximum_retry_attempts: 3 is out of range; allowed: an integer from 0 to 2"),
    "age.json": ('{"mode": "async_invoke", "config": {"maximum_event_age_seconds": 59}, "items": [{"id": "e1"}]}',
                 "allowed: an integer from 60 to 21600"),
    "s3-on-success.json": ('{"mode": "async_invoke", "config": {"on_success": "s3"}, "items": [{"id": "e1"}]}',
                           "not s3"),
    "bad-result.json": ('{"mode": "async_invoke", "items": [{"id": "e1"}], "handler": {"e1": ["boom"]}}',
                        "handler.e1[0].result: 'boom' is not a result"),
    "bad-mode.json": ('{"mode": "kafka_poll", "items": [{"id": "e1"}]}', "mode: 'kafka_poll' is not a mode"),
    "no-items.json": ('{"mode": "async_invoke", "items": []}', "items: must be a non-empty list"),
    "dup-ids.json": ('{"mode": "async_invoke", "items": [{"id": "e1"}, {"id": "e1"}]}', "used twice"),
    "not-object.json": ("[1, 2]", "a scenario must be a JSON object"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_scenario_is_one_line_and_exit_two(tmp_path: Path, name: str) -> None:
    text, expected = BAD_INPUTS[name]
    path = tmp_path / name
    path.write_text(text)
    before = sorted(tmp_path.iterdir())
    result = run_cli("simulate", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0] and "Traceback" not in result.stderr
    assert sorted(tmp_path.iterdir()) == before


def test_missing_file_and_bad_arguments_exit_two(tmp_path: Path) -> None:
    for args in (("simulate", str(tmp_path / "absent.json")), ("verify", "--mode", "nope"),
                 ("verify", "--profile", "nope"), ("frobnicate",)):
        result = run_cli(*args)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_diagrams_check_detects_a_stale_file(tmp_path: Path) -> None:
    assert run_cli("diagrams", "--check").returncode == 0
    out = tmp_path / "diagrams"
    assert run_cli("diagrams", "--out", str(out)).returncode == 0
    (out / "async_invoke.dot").write_text("digraph stale {}\n")
    result = run_cli("diagrams", "--check", "--out", str(out))
    assert result.returncode == 1 and "async_invoke.dot" in result.stderr


def test_diagrams_without_graphviz_write_dot_only_with_a_notice(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "model"), str(ROOT / "properties")])}
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "lambda_retry_properties.cli", "diagrams", "--out",
                             str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "notice: graphviz's `dot` is not installed" in result.stderr
    assert (out / "async_invoke.dot").exists() and not list(out.glob("*.svg"))
