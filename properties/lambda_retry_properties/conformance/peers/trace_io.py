"""Reading, writing and validating ``lambda-retry-trace`` files (JSON Lines, version 1).

Line 1 is the header::

    {"format": "lambda-retry-trace", "version": 1, "mode": M,
     "peer": "<name> <version>", "time_scale": <float>, "knobs": {...}}

Every other line is one observation with ``t`` (scenario seconds, a finite
float >= 0, non-decreasing down the file) and ``kind``.  The fields each kind
must carry are in :data:`EVENT_FIELDS`.  One extra key is allowed on any event:
``detail``, a JSON object of peer-specific facts (raw attributes, message ids,
durations) that a checker may ignore.  Any other key is an error, so a typo in
a driver cannot slip through as "extra information".
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

FORMAT = "lambda-retry-trace"
VERSION = 1
MODES: frozenset[str] = frozenset({"async_invoke", "sqs_poll", "stream_poll", "sync_invoke"})
INVOCATION_RESULTS: frozenset[str] = frozenset({"ok", "error", "timeout", "oom", "partial"})
SINKS: frozenset[str] = frozenset({"dlq", "on_failure", "on_success"})

Check = Callable[[Any], bool]


def _is_str(v: Any) -> bool:
    return isinstance(v, str) and v != ""


def _is_opt_str(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_pos_int(v: Any) -> bool:
    return _is_int(v) and v >= 1


def _is_opt_int(v: Any) -> bool:
    return v is None or _is_int(v)


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(_is_str(x) for x in v)


def _is_nonempty_str_list(v: Any) -> bool:
    return _is_str_list(v) and len(v) > 0


def _one_of(allowed: frozenset[str]) -> Check:
    def check(v: Any) -> bool:
        return isinstance(v, str) and v in allowed

    return check


EVENT_FIELDS: dict[str, dict[str, tuple[Check, str]]] = {
    "arrival": {"item": (_is_str, "a non-empty string")},
    "invocation": {
        "items": (_is_nonempty_str_list, "a non-empty list of item ids"),
        "result": (_one_of(INVOCATION_RESULTS), f"one of {sorted(INVOCATION_RESULTS)}"),
    },
    "throttle": {"items": (_is_nonempty_str_list, "a non-empty list of item ids")},
    "service_error": {"items": (_is_nonempty_str_list, "a non-empty list of item ids")},
    "receive": {
        "item": (_is_str, "a non-empty string"),
        "receive_count": (_is_pos_int, "an integer >= 1"),
    },
    "delete": {"item": (_is_str, "a non-empty string")},
    "visible": {"item": (_is_str, "a non-empty string")},
    "sink": {
        "items": (_is_nonempty_str_list, "a non-empty list of item ids"),
        "sink": (_one_of(SINKS), f"one of {sorted(SINKS)}"),
        "condition": (_is_opt_str, "a string or null"),
        "approximate_invoke_count": (_is_opt_int, "an integer or null"),
    },
    "expired": {"item": (_is_str, "a non-empty string")},
    "checkpoint": {
        "shard": (_is_str, "a non-empty string"),
        "item": (_is_str, "a non-empty string"),
    },
    "request": {
        "item": (_is_str, "a non-empty string"),
        "attempt": (_is_pos_int, "an integer >= 1"),
    },
    "response": {
        "item": (_is_str, "a non-empty string"),
        "status_code": (_is_int, "an integer"),
        "function_error": (_is_opt_str, "a string or null"),
    },
    "outcome": {
        "item": (_is_str, "a non-empty string"),
        "status_code": (_is_opt_int, "an integer or null"),
        "function_error": (_is_opt_str, "a string or null"),
        "error": (_is_opt_str, "a string or null"),
    },
}
"""Required fields (besides ``t`` and ``kind``) per event kind, with their checks."""

OPTIONAL_FIELDS: dict[str, dict[str, tuple[Check, str]]] = {
    "invocation": {"failed_items": (_is_str_list, "a list of item ids")},
}


def validate_header(header: Any) -> str | None:
    """Return ``None`` if ``header`` is a valid header record, else the problem."""
    if not isinstance(header, dict):
        return "header is not a JSON object"
    expected = {"format", "version", "mode", "peer", "time_scale", "knobs"}
    missing = sorted(expected - header.keys())
    if missing:
        return f"header lacks {', '.join(missing)}"
    extra = sorted(header.keys() - expected)
    if extra:
        return f"header has unknown key(s) {', '.join(extra)}"
    if header["format"] != FORMAT:
        return f"header format is {header['format']!r}, expected {FORMAT!r}"
    if header["version"] != VERSION or isinstance(header["version"], bool):
        return f"header version is {header['version']!r}, expected {VERSION}"
    if header["mode"] not in MODES:
        return f"header mode is {header['mode']!r}, expected one of {sorted(MODES)}"
    if not _is_str(header["peer"]):
        return "header peer must be a non-empty string like 'moto 5.2.5'"
    ts = header["time_scale"]
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts) or ts <= 0:
        return f"header time_scale must be a positive number, got {ts!r}"
    if not isinstance(header["knobs"], dict):
        return "header knobs must be a JSON object"
    return None


def validate_event(event: Any, previous_t: float | None = None) -> str | None:
    """Return ``None`` if ``event`` is a valid observation record, else the problem.

    ``previous_t`` is the ``t`` of the record before it, to check time order.
    """
    if not isinstance(event, dict):
        return "record is not a JSON object"
    kind = event.get("kind")
    if kind not in EVENT_FIELDS:
        return f"unknown kind {kind!r}"
    t = event.get("t")
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        return f"{kind} record has no finite number 't'"
    if t < 0:
        return f"{kind} record has negative t={t}"
    if previous_t is not None and t < previous_t:
        return f"{kind} record at t={t} comes after t={previous_t} (records must be in time order)"
    required = EVENT_FIELDS[kind]
    optional = OPTIONAL_FIELDS.get(kind, {})
    for name, (check, what) in required.items():
        if name not in event:
            return f"{kind} record lacks {name!r}"
        if not check(event[name]):
            return f"{kind} record field {name!r} must be {what}, got {event[name]!r}"
    for name, (check, what) in optional.items():
        if name in event and not check(event[name]):
            return f"{kind} record field {name!r} must be {what}, got {event[name]!r}"
    if kind == "invocation":
        if event["result"] == "partial" and "failed_items" not in event:
            return "invocation record with result 'partial' lacks 'failed_items'"
        if event["result"] != "partial" and event.get("failed_items"):
            return "invocation record has failed_items but result is not 'partial'"
    if "detail" in event and not isinstance(event["detail"], dict):
        return f"{kind} record field 'detail' must be a JSON object"
    allowed = {"t", "kind", "detail", *required, *optional}
    extra = sorted(event.keys() - allowed)
    if extra:
        return f"{kind} record has unknown key(s) {', '.join(extra)}"
    return None


def validate_trace(records: Sequence[Mapping[str, Any]]) -> None:
    """Validate a whole trace (header first); raise ``ValueError`` naming the record."""
    if not records:
        raise ValueError("trace record 1: empty trace, expected a header")
    problem = validate_header(records[0])
    if problem:
        raise ValueError(f"trace record 1: {problem}")
    previous: float | None = None
    for index, record in enumerate(records[1:], start=2):
        problem = validate_event(record, previous)
        if problem:
            raise ValueError(f"trace record {index}: {problem}")
        previous = float(record["t"])


def write_trace(path: str | Path, header: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> None:
    """Validate and write ``header`` then ``events`` to ``path`` as JSON Lines."""
    records = [dict(header), *(dict(e) for e in events)]
    validate_trace(records)
    text = "".join(json.dumps(r, sort_keys=False, allow_nan=False) + "\n" for r in records)
    Path(path).write_text(text, encoding="utf-8")


def read_trace(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read and validate a trace file; return ``(header, events)``.

    Raises ``ValueError`` with one line naming the file, the line number and the
    problem.  Blank lines are not allowed (they usually mean a truncated write).
    """
    p = Path(path)
    header: dict[str, Any] | None = None
    events: list[dict[str, Any]] = []
    previous: float | None = None
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            stripped = line.strip()
            if not stripped:
                raise ValueError(f"{p}:{lineno}: blank line in trace")
            try:
                record = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{p}:{lineno}: not valid JSON ({exc.msg})") from None
            if lineno == 1:
                problem = validate_header(record)
                if problem:
                    raise ValueError(f"{p}:{lineno}: {problem}")
                header = record
                continue
            problem = validate_event(record, previous)
            if problem:
                raise ValueError(f"{p}:{lineno}: {problem}")
            previous = float(record["t"])
            events.append(record)
    if header is None:
        raise ValueError(f"{p}:1: empty trace, expected a header")
    return header, events


__all__ = [
    "EVENT_FIELDS",
    "FORMAT",
    "MODES",
    "VERSION",
    "read_trace",
    "validate_event",
    "validate_header",
    "validate_trace",
    "write_trace",
]
