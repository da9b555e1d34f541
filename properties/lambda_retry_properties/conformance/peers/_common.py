"""Shared pieces of the peer drivers: scenario parsing, handler scripts, the
scenario clock, the event recorder and small process/network helpers.

Nothing here imports a peer library.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import PeerError, UnsupportedScenarioError
from .trace_io import FORMAT, VERSION, validate_trace

RESULTS: frozenset[str] = frozenset({"ok", "error", "timeout", "oom", "throttle", "service_error"})
"""Results a handler script may name for one attempt."""

RUNS_FUNCTION: frozenset[str] = frozenset({"ok", "error", "timeout", "oom"})
"""Results for which the function actually runs (throttle/service_error happen before)."""

DEFAULT_CONFIG: dict[str, dict[str, Any]] = {
    "async_invoke": {
        "maximum_retry_attempts": 2,
        "maximum_event_age_seconds": 21600,
        "retry_delays_seconds": [60, 120],
        "dead_letter_queue": None,
        "on_failure": None,
        "on_success": None,
        "reserved_concurrency": None,
        "failing_sinks": [],
        "function_timeout_seconds": 3,
    },
    "sqs_poll": {
        "visibility_timeout_seconds": 30,
        "message_retention_seconds": 345600,
        "max_receive_count": None,
        "batch_size": 10,
        "maximum_batching_window_seconds": 0,
        "report_batch_item_failures": False,
        "maximum_concurrency": None,
        "function_timeout_seconds": 3,
        "fifo": False,
    },
    "stream_poll": {
        "source": "kinesis",
        "batch_size": 100,
        "maximum_retry_attempts": -1,
        "maximum_record_age_seconds": -1,
        "bisect_batch_on_function_error": False,
        "report_batch_item_failures": False,
        "on_failure": None,
        "parallelization_factor": 1,
        "function_timeout_seconds": 3,
    },
    "sync_invoke": {
        "function_timeout_seconds": 3,
        "client": {"retry_mode": "legacy", "max_attempts": None, "read_timeout_seconds": 60},
    },
}
"""Per-mode defaults of the scenario contract (used when a key is absent)."""


@dataclass(frozen=True)
class Step:
    """What one attempt on one item does: its result and how long it runs."""

    result: str
    duration: float | None = None  # scenario seconds; None = "instant"

    @property
    def runs_function(self) -> bool:
        return self.result in RUNS_FUNCTION


def _parse_step(raw: Any, where: str) -> Step:
    if isinstance(raw, str):
        if raw not in RESULTS:
            raise ValueError(f"{where}: unknown result {raw!r}, expected one of {sorted(RESULTS)}")
        return Step(raw)
    if isinstance(raw, Mapping):
        unknown = set(raw) - {"result", "duration"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)} in handler step")
        result = raw.get("result")
        if result not in RESULTS:
            raise ValueError(f"{where}: unknown result {result!r}, expected one of {sorted(RESULTS)}")
        duration = raw.get("duration")
        if duration is not None:
            if isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0:
                raise ValueError(f"{where}: duration must be a number >= 0, got {duration!r}")
            duration = float(duration)
        return Step(str(result), duration)
    raise ValueError(f"{where}: a handler step must be a string or an object, got {raw!r}")


class HandlerScript:
    """The scenario's handler script: per item, the result of each successive attempt.

    The last entry repeats.  Items without their own list use ``"default"``,
    and without a default every attempt is ``"ok"``.
    """

    def __init__(self, raw: Mapping[str, Any] | None) -> None:
        self._steps: dict[str, tuple[Step, ...]] = {}
        for key, seq in (raw or {}).items():
            if isinstance(seq, str | Mapping):
                seq = [seq]
            if not isinstance(seq, list) or not seq:
                raise ValueError(f"handler[{key!r}] must be a non-empty list of results")
            self._steps[str(key)] = tuple(_parse_step(s, f"handler[{key!r}][{i}]") for i, s in enumerate(seq))
        self._default = self._steps.pop("default", (Step("ok"),))

    def steps_for(self, item: str) -> tuple[Step, ...]:
        return self._steps.get(item, self._default)

    def step(self, item: str, attempt: int) -> Step:
        """The step for ``attempt`` (1-based) on ``item``."""
        if attempt < 1:
            raise ValueError(f"attempt must be >= 1, got {attempt}")
        seq = self.steps_for(item)
        return seq[min(attempt, len(seq)) - 1]

    def all_results(self, items: Iterable[str]) -> set[str]:
        """Every result any of ``items`` can produce (for "can this peer do it" checks)."""
        return {s.result for i in items for s in self.steps_for(i)}

    def to_json(self, items: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """The script for ``items`` (plus the default) as plain JSON, for embedding."""
        out: dict[str, list[dict[str, Any]]] = {}
        for key in [*items, "default"]:
            seq = self._default if key == "default" else self.steps_for(key)
            out[key] = [{"result": s.result, "duration": s.duration} for s in seq]
        return out


@dataclass(frozen=True)
class Item:
    """One unit of the scenario: a message, an event, a record or a call."""

    id: str
    at: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A parsed scenario: defaults applied, items sorted by arrival time."""

    mode: str
    config: dict[str, Any]
    items: tuple[Item, ...]
    handler: HandlerScript
    until: float
    unknown_config: tuple[str, ...]

    def item_ids(self) -> list[str]:
        return [i.id for i in self.items]


def parse_scenario(raw: Mapping[str, Any], modes: Iterable[str], peer: str) -> Scenario:
    """Validate ``raw`` against the scenario contract.

    Raises ``UnsupportedScenarioError`` if its mode is not one of ``modes`` (what this
    peer can run), ``ValueError`` if it is malformed.
    """
    if not isinstance(raw, Mapping):
        raise ValueError("scenario must be a JSON object")
    mode = raw.get("mode")
    if mode not in DEFAULT_CONFIG:
        raise ValueError(f"scenario mode {mode!r} is not one of {sorted(DEFAULT_CONFIG)}")
    allowed = sorted(modes)
    if mode not in allowed:
        raise UnsupportedScenarioError(f"{peer} cannot run mode {mode!r} (it runs {', '.join(allowed)})")
    cfg_raw = raw.get("config") or {}
    if not isinstance(cfg_raw, Mapping):
        raise ValueError("scenario config must be an object")
    defaults = DEFAULT_CONFIG[mode]
    config: dict[str, Any] = json.loads(json.dumps(defaults))
    for key, value in cfg_raw.items():
        if key == "client" and isinstance(value, Mapping):
            config["client"] = {**config.get("client", {}), **value}
        else:
            config[key] = value
    unknown = tuple(sorted(set(cfg_raw) - set(defaults)))
    items_raw = raw.get("items") or []
    if not isinstance(items_raw, list):
        raise ValueError("scenario items must be a list")
    items: list[Item] = []
    seen: set[str] = set()
    for index, it in enumerate(items_raw):
        if not isinstance(it, Mapping) or not isinstance(it.get("id"), str) or not it["id"]:
            raise ValueError(f"items[{index}] must be an object with a non-empty string 'id'")
        at = it.get("at", 0)
        if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at) or at < 0:
            raise ValueError(f"items[{index}].at must be a number >= 0, got {at!r}")
        if it["id"] in seen:
            raise ValueError(f"items[{index}]: duplicate id {it['id']!r}")
        seen.add(it["id"])
        extra = {k: v for k, v in it.items() if k not in ("id", "at")}
        items.append(Item(it["id"], float(at), extra))
    items.sort(key=lambda i: i.at)
    until = raw.get("until")
    if isinstance(until, bool) or not isinstance(until, int | float) or not math.isfinite(until) or until < 0:
        raise ValueError(f"scenario until must be a number >= 0, got {until!r}")
    handler_raw = raw.get("handler") or {}
    if not isinstance(handler_raw, Mapping):
        raise ValueError("scenario handler must be an object")
    return Scenario(str(mode), config, tuple(items), HandlerScript(handler_raw), float(until), unknown)


class ScenarioClock:
    """Maps wall time to scenario time: ``scenario = (wall - start) / time_scale``.

    Also owns the wall-clock deadline: every wait goes through :meth:`sleep_until`
    or :meth:`sleep`, which never sleep past the deadline and raise ``PeerError``
    once it has passed.
    """

    def __init__(self, time_scale: float, deadline_seconds: float, peer: str) -> None:
        if not (isinstance(time_scale, int | float) and math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"time_scale must be a positive number, got {time_scale!r}")
        if not (isinstance(deadline_seconds, int | float) and deadline_seconds > 0):
            raise ValueError(f"deadline_seconds must be a positive number, got {deadline_seconds!r}")
        self.time_scale = float(time_scale)
        self.deadline_seconds = float(deadline_seconds)
        self.peer = peer
        self.created = time.time()
        self.start = self.created

    def restart(self) -> None:
        """Mark the scenario start (after setup); the deadline still counts from creation."""
        self.start = time.time()

    def now(self) -> float:
        """Scenario seconds since the scenario start."""
        return (time.time() - self.start) / self.time_scale

    def from_epoch(self, epoch_seconds: float) -> float:
        """Scenario time of a wall-clock epoch timestamp (e.g. one a handler logged)."""
        return (epoch_seconds - self.start) / self.time_scale

    def wall(self, scenario_seconds: float) -> float:
        """Wall seconds for a scenario duration."""
        return scenario_seconds * self.time_scale

    def wall_left(self) -> float:
        return self.created + self.deadline_seconds - time.time()

    def check(self, doing: str) -> None:
        if self.wall_left() <= 0:
            raise PeerError(
                f"{self.peer} timed out after {self.deadline_seconds:g} s wall while {doing} "
                f"(scenario time {self.now():.3f} s)"
            )

    def sleep(self, wall_seconds: float, doing: str = "waiting") -> None:
        if wall_seconds > 0:
            time.sleep(max(0.0, min(wall_seconds, self.wall_left())))
        self.check(doing)

    def sleep_until(self, scenario_t: float, doing: str = "waiting") -> None:
        self.sleep(self.start + scenario_t * self.time_scale - time.time(), doing)


class Recorder:
    """Thread-safe collector of observed events; returns them in time order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[tuple[float, int, dict[str, Any]]] = []

    def add(self, t: float, kind: str, detail: Mapping[str, Any] | None = None, **fields: Any) -> None:
        event: dict[str, Any] = {"t": round(max(0.0, float(t)), 6), "kind": kind, **fields}
        if detail:
            event["detail"] = dict(detail)
        with self._lock:
            self._events.append((event["t"], len(self._events), event))

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e for _, _, e in sorted(self._events, key=lambda x: (x[0], x[1]))]

    def count(self, kind: str) -> int:
        with self._lock:
            return sum(1 for _, _, e in self._events if e["kind"] == kind)


def make_header(mode: str, peer: str, time_scale: float, knobs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "mode": mode,
        "peer": peer,
        "time_scale": float(time_scale),
        "knobs": json.loads(json.dumps(knobs, default=str)),
    }


def finish_trace(header: dict[str, Any], recorder: Recorder) -> list[dict[str, Any]]:
    """Header + events, validated (a driver bug surfaces here, not in a consumer)."""
    trace = [header, *recorder.events()]
    try:
        validate_trace(trace)
    except ValueError as exc:
        raise PeerError(f"{header['peer']} driver produced an invalid trace: {exc}") from None
    return trace


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def package_version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def is_whole(x: float) -> bool:
    return abs(x - round(x)) < 1e-9


def item_of_body(body: str) -> str | None:
    """The item id in a message body ``{"id": ...}``, else ``None``."""
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        return None
    if isinstance(parsed, dict) and isinstance(parsed.get("id"), str):
        return str(parsed["id"])
    return None


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
