"""MiniStack peer: a live Lambda emulator on loopback (conformance-peers.md §3.8).

Start/stop.  Each run starts its own server as a subprocess,
``python -m ministack`` with ``BIND_HOST=127.0.0.1``, ``GATEWAY_PORT=<free
port>``, ``LAMBDA_EXECUTOR=local`` (Python handlers run in local worker
processes, no Docker), ``TMPDIR``/``STATE_DIR``/``S3_DATA_DIR`` inside a fresh
temporary directory and ``PERSIST_STATE=0``, in a new session so that the
server and the Lambda workers it forks form one process group.  The driver
waits for ``/_ministack/health``, and in ``finally`` sends SIGTERM to that group,
then SIGKILL after 5 s, and removes the temporary directory.

The function.  One Python function whose code embeds the scenario's handler
script.  Every execution takes a file lock, bumps a per-item attempt counter in
a JSON file, appends a ``start`` line (wall time, items, attempts, steps,
request id, SQS receive counts, stream sequence numbers) to a log file, then
does what the steps say: sleep ``duration x time_scale``; ``timeout`` sleeps
past the function timeout so MiniStack kills it; ``oom`` kills its own worker
process (SIGKILL, like the OOM killer); ``error`` raises (or, for batches with
``report_batch_item_failures``, returns ``batchItemFailures``); a returning
handler appends an ``end`` line.  The driver turns the log into ``invocation``
(and ``receive``) events.  ``throttle`` / ``service_error`` steps cannot be
produced by a function and make the scenario ``UnsupportedScenarioError``.

Modes:

* ``async_invoke``: ``Invoke(InvocationType=Event)`` per item at its time;
  ``DeadLetterConfig`` and ``PutFunctionEventInvokeConfig`` (retries, event
  age, OnSuccess/OnFailure) as configured.  SQS sinks are queues; SNS sinks are
  topics with a raw-delivery SQS subscription.  Sinks named in
  ``failing_sinks`` point at a queue that does not exist.
* ``sqs_poll``: an SQS event source mapping on a queue with the scenario's
  visibility timeout, retention and redrive policy (FIFO groups, batch size,
  ``ReportBatchItemFailures``, ``MaximumConcurrency``, reserved concurrency as
  configured).  The handler applies the whole sqs_poll contract
  (``_sqs_contract``, shipped in the zip): a step's ``report`` makes it raise
  (``throw``), return a partial batch response listing the failed messages (and,
  for ``failed_and_rest_of_group``, the rest of their FIFO group in the batch),
  return a malformed one (``invalid``: one empty ``itemIdentifier``) or return
  success (``swallow``); without ``ReportBatchItemFailures`` a listed response is
  still returned, for MiniStack to ignore.  The execution environments the
  mapping can use are started before the scenario (no cold start inside it);
  the items of one instant are sent in one ``SendMessageBatch`` and the mapping
  is created once the first instant is in the queue.  The queue is watched
  through MiniStack's read-only ``GET /_ministack/sqs/messages`` endpoint
  (polled every ``OBSERVE_INTERVAL_WALL`` s), which gives receive counts,
  ``delete``, ``expired``, ``visible`` and DLQ ``sink`` events; the handler log
  gives the invocations.  At the end the observations are put in the order one
  instant of the model has them (``_assemble_sqs_trace``): a batch's receives
  right before its invocation, a delete at the end of the run that made it, a
  ``visible`` the peek missed inferred before the re-receive or DLQ move that
  needed it.  Not expressible, ``UnsupportedScenarioError``: a visibility timeout
  that is not whole wall seconds, a retention below 60 wall seconds that a
  message could reach within the run.
* ``stream_poll``: a DynamoDB table with a stream (or a one-shard Kinesis
  stream) and an event source mapping from ``TRIM_HORIZON``; on-failure records
  are mapped back to items through the sequence numbers the handler logged.
  ``checkpoint`` is not observable and is not emitted.

Time.  MiniStack runs on the wall clock.  Scaled through its knobs:
``LAMBDA_ASYNC_RETRY_BASE_SECONDS = retry_delays_seconds[0] x time_scale``
(MiniStack's delays are ``base x 2^(n-1)``, so ``[60, 120]`` maps exactly),
``LAMBDA_ASYNC_RETRY_MAX_SECONDS = max(retry_delays_seconds) x time_scale``,
the function ``Timeout`` (sent as a float; MiniStack's warm worker honours it),
``MaximumEventAgeInSeconds`` and ``MaximumRecordAgeInSeconds`` (sent scaled,
rounded to whole seconds, with client-side parameter validation off since they
fall below AWS minimums).  SQS ``VisibilityTimeout`` must be whole wall seconds
(else unsupported), the batching window is rounded to whole wall seconds and
``MessageRetentionPeriod`` raised to at least 60 wall seconds (when no message
can reach the scenario's retention within the run); the scenario-seconds value
that results is in ``knobs.effective``.  MiniStack's fixed wall-clock
constants (1 s ESM idle poll, 1 s back-off after a failed batch) cannot be
scaled; they are listed in ``knobs.fixed_wall_seconds``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import INSTALL_HINT, PeerError, UnsupportedScenarioError, _sqs_contract
from ._common import (
    Recorder,
    Scenario,
    ScenarioClock,
    finish_trace,
    free_port,
    is_whole,
    item_of_body,
    make_header,
    one_line,
    package_version,
    parse_scenario,
)
from ._sqs_contract import report_for, split_reports

PEER = "ministack"
FUNCTION_NAME = "peer-fn"
ACCOUNT = "000000000000"
REGION = "us-east-1"
OBSERVE_INTERVAL_WALL = 0.02
STARTUP_SECONDS = 20.0
MIN_FUNCTION_TIMEOUT_WALL = 0.25
"""Floor for the function timeout in wall seconds: below it MiniStack's own
round trip to the worker (a few ms to tens of ms under load) could time out a
function that was meant to succeed."""
STOP_GRACE_SECONDS = 5.0
FIXED_WALL_SECONDS = {
    "esm_idle_poll": 1.0,
    "esm_backoff_after_failed_batch": 1.0,
    "esm_idle_wake_gap": 0.05,
}
SINK_KINDS = ("dlq", "on_failure", "on_success")


def available() -> str | None:
    try:
        import boto3  # noqa: F401
        import ministack  # noqa: F401
    except ImportError as exc:
        return f"ministack is not installed ({exc.name}): {INSTALL_HINT}"
    return None


# ---------------------------------------------------------------------------
# The function
# ---------------------------------------------------------------------------

_HANDLER_CODE = r"""
import base64, fcntl, json, os, signal, time

CFG = json.loads(__CFG__)
SCRIPT = CFG["script"]
STATE = CFG["state_dir"]


def _items(event):
    recs = event.get("Records") if isinstance(event, dict) else None
    if recs is None:
        return [{"id": str(event.get("id")), "handle": None}]
    out = []
    for r in recs:
        src = r.get("eventSource") or r.get("EventSource")
        if src == "aws:sqs":
            attrs = r.get("attributes", {})
            it = {"id": json.loads(r["body"])["id"], "handle": r["messageId"],
                  "receive_count": int(attrs.get("ApproximateReceiveCount", "0"))}
            if attrs.get("MessageGroupId"):
                it["group"] = attrs["MessageGroupId"]
            if attrs.get("SequenceNumber"):
                it["seq"] = attrs["SequenceNumber"]
            out.append(it)
        elif src == "aws:dynamodb":
            ddb = r.get("dynamodb", {})
            img = ddb.get("NewImage") or ddb.get("Keys") or {}
            out.append({"id": img.get("id", {}).get("S"), "handle": str(ddb.get("SequenceNumber")),
                        "arrival": ddb.get("ApproximateCreationDateTime")})
        elif src == "aws:kinesis":
            k = r.get("kinesis", {})
            body = json.loads(base64.b64decode(k.get("data", "")))
            out.append({"id": body["id"], "handle": str(k.get("sequenceNumber")),
                        "arrival": k.get("approximateArrivalTimestamp")})
        else:
            out.append({"id": None, "handle": None, "raw": str(r)[:200]})
    return out


def _step(item, attempt):
    seq = SCRIPT.get(item) or SCRIPT["default"]
    return seq[min(attempt, len(seq)) - 1]


def _log(line):
    with open(os.path.join(STATE, "log.jsonl"), "a") as f:
        f.write(json.dumps(line) + "\n")


SQS = CFG.get("sqs")


def _sqs_decide(items, steps):
    # The sqs_poll contract (sqs_contract.py, shipped beside this file) applied to the batch.
    import sqs_contract as C
    batch = [it["id"] for it in items]
    entries = {i: C.Entry(steps[i]["result"], steps[i].get("duration") or 0.0, steps[i].get("report"))
               for i in batch}
    groups = {it["id"]: it["group"] for it in items if it.get("group")} if SQS["fifo"] else None
    order = {it["id"]: float(it["seq"]) for it in items if it.get("seq")} or None
    return C.decide(batch, entries, report_batch_item_failures=SQS["report_batch_item_failures"],
                    function_timeout=SQS["function_timeout"], groups=groups, order=order)


def _sqs_answer(items, d, start, rid):
    import sqs_contract as C
    if d.response == "timeout":
        time.sleep(CFG["function_timeout_wall"] + 5.0)
        _log({"phase": "end", "wall": time.time(), "start": start, "request_id": rid, "outcome": "not_killed"})
        raise Exception("scripted timeout was not enforced")
    time.sleep(d.duration * CFG["time_scale"])
    if d.response == "oom":
        os.kill(os.getpid(), signal.SIGKILL)
    end = {"phase": "end", "start": start, "request_id": rid, "failed": d.failed}
    if d.response == "throw":
        _log({**end, "wall": time.time(), "outcome": "error"})
        raise Exception("scripted error: " + ",".join(d.failed))
    if d.response == "invalid":
        _log({**end, "wall": time.time(), "outcome": "invalid"})
        return C.INVALID_RESPONSE
    if d.response == "listed":
        handles = {it["id"]: it["handle"] for it in items}
        _log({**end, "wall": time.time(), "outcome": "partial", "listed": d.listed})
        return {"batchItemFailures": [{"itemIdentifier": handles[i]} for i in d.listed]}
    _log({**end, "wall": time.time(), "outcome": "swallowed" if d.response == "swallow" else "ok"})
    return {"ok": True, "items": [it["id"] for it in items]}


STREAM = CFG.get("stream")


def _stream_answer(items, steps, start, rid):
    # The stream_poll contract (model/lambda_retry/modes/stream_poll/scenario.py): in sequence
    # order, a timeout or oom fails the batch; an error whose report is false throws; other
    # errors are reported in a batchItemFailures response (a malformed one for "invalid").
    rbif = STREAM["report_batch_item_failures"]
    order = [steps[it["id"]] for it in items]
    kills = [s["result"] for s in order if s["result"] in ("timeout", "oom")]
    end = {"phase": "end", "start": start, "request_id": rid}
    if kills and kills[0] == "timeout":
        time.sleep(CFG["function_timeout_wall"] + 5.0)
        _log({**end, "wall": time.time(), "outcome": "not_killed"})
        raise Exception("scripted timeout was not enforced")
    time.sleep(max([s["duration"] or 0.0 for s in order] or [0.0]) * CFG["time_scale"])
    if kills:
        os.kill(os.getpid(), signal.SIGKILL)

    def report(s):
        r = s.get("report")
        return rbif if r is None else {"true": True, "false": False}.get(r, r)

    failed = [it for it in items if steps[it["id"]]["result"] == "error"]
    ids = [it["id"] for it in failed]
    if any(report(steps[i]) is False for i in ids):
        _log({**end, "wall": time.time(), "outcome": "error", "failed": ids})
        raise Exception("scripted error: " + ",".join(ids))
    if any(report(steps[i]) == "invalid" for i in ids):
        _log({**end, "wall": time.time(), "outcome": "partial", "failed": [], "invalid_report": True})
        return {"batchItemFailures": [{"itemIdentifier": ""}]}
    if failed:
        _log({**end, "wall": time.time(), "outcome": "partial", "failed": ids})
        return {"batchItemFailures": [{"itemIdentifier": it["handle"]} for it in failed]}
    _log({**end, "wall": time.time(), "outcome": "ok"})
    return {"ok": True, "items": [it["id"] for it in items]}


def handler(event, context):
    if isinstance(event, dict) and event.get("__warmup__"):
        time.sleep(float(event.get("hold", 0)))
        return {"warm": True}
    start = time.time()
    rid = getattr(context, "aws_request_id", None)
    items = _items(event)
    with open(os.path.join(STATE, "lock"), "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        path = os.path.join(STATE, "attempts.json")
        counts = json.load(open(path)) if os.path.exists(path) else {}
        steps = {}
        for it in items:
            counts[it["id"]] = counts.get(it["id"], 0) + 1
            steps[it["id"]] = _step(it["id"], counts[it["id"]])
        with open(path, "w") as f:
            json.dump(counts, f)
        line = {"phase": "start", "wall": start, "items": items, "steps": steps,
                "attempts": {i["id"]: counts[i["id"]] for i in items},
                "request_id": rid, "pid": os.getpid()}
        decision = _sqs_decide(items, steps) if SQS is not None else None
        if decision is not None:
            line["decision"] = {"response": decision.response, "result": decision.result,
                                "duration": decision.duration, "failed": decision.failed,
                                "listed": decision.listed}
        _log(line)
        fcntl.flock(lk, fcntl.LOCK_UN)
    if decision is not None:
        return _sqs_answer(items, decision, start, rid)
    if STREAM is not None:
        return _stream_answer(items, steps, start, rid)
    results = {s["result"] for s in steps.values()}
    duration = max([s["duration"] or 0.0 for s in steps.values()] or [0.0])
    if "timeout" in results:
        time.sleep(CFG["function_timeout_wall"] + 5.0)
        _log({"phase": "end", "wall": time.time(), "start": start, "request_id": rid, "outcome": "not_killed"})
        raise Exception("scripted timeout was not enforced")
    time.sleep(duration * CFG["time_scale"])
    if "oom" in results:
        os.kill(os.getpid(), signal.SIGKILL)
    failed = [it for it in items if steps[it["id"]]["result"] == "error"]
    if failed and CFG["batch_item_failures"]:
        _log({"phase": "end", "wall": time.time(), "start": start, "request_id": rid, "outcome": "partial",
              "failed": [it["id"] for it in failed]})
        return {"batchItemFailures": [{"itemIdentifier": it["handle"]} for it in failed]}
    if failed:
        _log({"phase": "end", "wall": time.time(), "start": start, "request_id": rid, "outcome": "error"})
        raise Exception("scripted error: " + ",".join(it["id"] for it in failed))
    _log({"phase": "end", "wall": time.time(), "start": start, "request_id": rid, "outcome": "ok"})
    return {"ok": True, "items": [it["id"] for it in items]}
"""


def _function_zip(config: dict[str, Any], extra_files: dict[str, str] | None = None) -> bytes:
    code = _HANDLER_CODE.replace("__CFG__", repr(json.dumps(config)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", code)
        for name, text in (extra_files or {}).items():
            zf.writestr(name, text)
    return buf.getvalue()


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------


class _Server:
    """A MiniStack subprocess on 127.0.0.1 (see the module docstring)."""

    def __init__(self, workdir: str, env_knobs: dict[str, str], clock: ScenarioClock) -> None:
        self.workdir = workdir
        self.env_knobs = env_knobs
        self.clock = clock
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log_path = os.path.join(workdir, "ministack.log")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        for _ in range(3):
            self.port = free_port()
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("AWS_", "LAMBDA_", "MINISTACK_", "GATEWAY_", "EDGE_", "PERSIST"))
            }
            env.update(
                {
                    "BIND_HOST": "127.0.0.1",
                    "GATEWAY_PORT": str(self.port),
                    "LAMBDA_EXECUTOR": "local",
                    "TMPDIR": self.workdir,
                    "STATE_DIR": os.path.join(self.workdir, "state"),
                    "S3_DATA_DIR": os.path.join(self.workdir, "s3"),
                    "PERSIST_STATE": "0",
                    "PYTHONUNBUFFERED": "1",
                    **self.env_knobs,
                }
            )
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "ministack"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=self.workdir,
                    start_new_session=True,
                )
            if self._wait_healthy():
                return
            self.stop()
        raise PeerError(f"MiniStack did not start: {self.last_log_line()}")

    def _wait_healthy(self) -> bool:
        limit = time.time() + min(STARTUP_SECONDS, max(0.5, self.clock.wall_left()))
        while time.time() < limit:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.endpoint + "/_ministack/health", timeout=1) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def last_log_line(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                lines = [ln.strip() for ln in f if ln.strip()]
        except OSError:
            return "no log"
        return lines[-1][:300] if lines else "empty log"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, STOP_GRACE_SECONDS)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Workers left in the group after the server exited.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def peek(self, queue_url: str) -> list[dict[str, Any]]:
        """Messages of one queue, via the read-only introspection endpoint."""
        q = urllib.parse.urlencode({"QueueUrl": queue_url})
        try:
            with urllib.request.urlopen(f"{self.endpoint}/_ministack/sqs/messages?{q}", timeout=5) as r:
                data = json.loads(r.read())
        except OSError as exc:
            raise PeerError(f"MiniStack peek failed: {one_line(exc)}") from exc
        out: list[dict[str, Any]] = []
        for regions in data.get("messages", {}).values():
            for queues in regions.values():
                for msgs in queues.values():
                    out.extend(msgs)
        return out


def _clients(endpoint: str) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    cfg = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        read_timeout=30,
        connect_timeout=5,
        parameter_validation=False,
    )
    kw: dict[str, Any] = {
        "endpoint_url": endpoint,
        "region_name": REGION,
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
        "config": cfg,
    }
    return {name: boto3.client(name, **kw) for name in ("lambda", "sqs", "sns", "dynamodb", "kinesis")}


# ---------------------------------------------------------------------------
# Observation
# ---------------------------------------------------------------------------


@dataclass
class _SinkWatch:
    name: str  # dlq | on_failure | on_success
    queue_url: str
    kind: str  # "sqs" | "sns" | "missing"
    use_sent_timestamp: bool = True  # False for SQS redrive: the moved message keeps its send time
    seen: set[str] = field(default_factory=set)


@dataclass
class _Run:
    sc: Scenario
    clock: ScenarioClock
    server: _Server
    recorder: Recorder
    clients: dict[str, Any]
    state_dir: str
    knobs: dict[str, Any]
    sinks: list[_SinkWatch] = field(default_factory=list)
    seq_to_item: dict[str, str] = field(default_factory=dict)
    arrivals: dict[str, float] = field(default_factory=dict)
    send_errors: list[str] = field(default_factory=list)
    receives: dict[tuple[str, int], tuple[float, dict[str, Any]]] = field(default_factory=dict)
    function_timeout_wall: float = 0.0
    reports: dict[str, list[str | None]] = field(default_factory=dict)
    """sqs_poll: the ``report`` of each handler step (``_sqs_contract.split_reports``)."""

    def record_receive(self, t: float, item: str, count: int, detail: dict[str, Any]) -> None:
        """Note a receive; one event per (item, receive count) at the earliest time
        any source saw it (the peek, or the start of the handler that got it)."""
        if count < 1:
            return
        known = self.receives.get((item, count))
        if known is None or t < known[0]:
            self.receives[(item, count)] = (t, detail)

    def flush_receives(self) -> None:
        for (item, count), (t, detail) in self.receives.items():
            self.recorder.add(t, "receive", item=item, receive_count=count, detail=detail)
        self.receives.clear()

    def queue(self, name: str, attributes: dict[str, str] | None = None) -> tuple[str, str]:
        sqs = self.clients["sqs"]
        url = sqs.create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return str(url), str(arn)

    def sink_target(self, sink: str, kind: str | None) -> str | None:
        """Create what a sink needs; return the ARN to configure (None = no sink)."""
        if kind is None:
            return None
        failing = set(self.sc.config.get("failing_sinks") or [])
        if sink in failing:
            self.sinks.append(_SinkWatch(sink, "", "missing"))
            return f"arn:aws:{'sns' if kind == 'sns' else 'sqs'}:{REGION}:{ACCOUNT}:missing-{sink}"
        if kind == "sqs":
            url, arn = self.queue(f"sink-{sink}")
            self.sinks.append(_SinkWatch(sink, url, "sqs"))
            return arn
        if kind == "sns":
            topic = self.clients["sns"].create_topic(Name=f"sink-{sink}")["TopicArn"]
            url, qarn = self.queue(f"sink-{sink}-subscriber")
            self.clients["sns"].subscribe(
                TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"}
            )
            self.sinks.append(_SinkWatch(sink, url, "sns"))
            return str(topic)
        raise UnsupportedScenarioError(
            f"MiniStack driver cannot observe a {kind!r} {sink} sink (it handles sqs and sns)"
        )

    def poll_sinks(self) -> None:
        for watch in self.sinks:
            if watch.kind == "missing":
                continue
            for msg in self.server.peek(watch.queue_url):
                mid = str(msg.get("MessageId"))
                if mid in watch.seen:
                    continue
                watch.seen.add(mid)
                self._record_sink(watch, msg)

    def _record_sink(self, watch: _SinkWatch, msg: dict[str, Any]) -> None:
        observed = self.clock.now()
        body = str(msg.get("Body", ""))
        attrs = msg.get("Attributes") or {}
        sent_ms = attrs.get("SentTimestamp")
        t = observed
        if sent_ms is not None and watch.use_sent_timestamp:
            t_sent = self.clock.from_epoch(int(sent_ms) / 1000.0)
            if 0 <= t_sent <= observed:
                t = t_sent
        detail: dict[str, Any] = {"observed_t": round(observed, 6), "via": watch.kind}
        condition: str | None = None
        count: int | None = None
        items: list[str] = []
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and "requestContext" in parsed:
            rc = parsed.get("requestContext") or {}
            condition = rc.get("condition")
            count = rc.get("approximateInvokeCount")
            detail["body_shape"] = "invocation record"
            detail["response_context"] = parsed.get("responseContext")
            if "responsePayload" in parsed:
                payload = parsed["responsePayload"]
                text = json.dumps(payload)
                detail["response_payload"] = payload if len(text) <= 500 else text[:500]
            payload = parsed.get("requestPayload")
            if isinstance(payload, dict) and isinstance(payload.get("id"), str):
                items = [payload["id"]]
            for key in ("DDBStreamBatchInfo", "KinesisBatchInfo"):
                info = parsed.get(key)
                if isinstance(info, dict):
                    detail["batch_info"] = info
                    items = self._items_between(
                        str(info.get("startSequenceNumber")), str(info.get("endSequenceNumber"))
                    )
        else:
            item = item_of_body(body)
            if item is not None:
                items = [item]
                detail["body_shape"] = "original event"
        if attrs.get("DeadLetterQueueSourceArn"):
            detail["dead_letter_queue_source_arn"] = attrs["DeadLetterQueueSourceArn"]
        if msg.get("ReceiveCount"):
            detail["receive_count_in_sink"] = msg.get("ReceiveCount")
        if msg.get("MessageAttributes"):
            detail["message_attributes"] = msg["MessageAttributes"]
        if not items:
            items = ["?"]
            detail["unparsed_body"] = body[:300]
        self.recorder.add(
            t,
            "sink",
            items=items,
            sink=watch.name,
            condition=condition,
            approximate_invoke_count=count if isinstance(count, int) else None,
            detail=detail,
        )

    def _items_between(self, start: str, end: str) -> list[str]:
        def key(s: str) -> tuple[int, str]:
            return (len(s), s)

        return [
            i
            for s, i in sorted(self.seq_to_item.items(), key=lambda kv: key(kv[0]))
            if key(start) <= key(s) <= key(end)
        ]

    def read_log(self) -> list[dict[str, Any]]:
        path = os.path.join(self.state_dir, "log.jsonl")
        if not os.path.exists(path):
            return []
        lines: list[dict[str, Any]] = []
        with open(path, encoding="utf-8") as f:
            for ln in f:
                with contextlib.suppress(ValueError):
                    lines.append(json.loads(ln))
        return lines

    def record_invocations(self, batch_mode: bool) -> None:
        """Turn the handler log into invocation (and SQS receive) events."""
        log = self.read_log()
        ends = {(ln.get("request_id"), float(ln["start"])): ln for ln in log if ln.get("phase") == "end"}
        observed_until = time.time()
        starts = [ln for ln in log if ln.get("phase") == "start"]
        for ln in starts:
            t = self.clock.from_epoch(float(ln["wall"]))
            for it in ln["items"]:
                if it.get("handle") and it.get("id"):
                    self.seq_to_item.setdefault(str(it["handle"]), str(it["id"]))
                if "receive_count" in it:
                    self.record_receive(
                        t,
                        str(it["id"]),
                        int(it["receive_count"]),
                        {"message_id": it.get("handle"), "source": "event record (handler start)"},
                    )
        self.flush_receives()  # before the invocations, so a receive sorts first at equal t
        for ln in starts:
            start = float(ln["wall"])
            t = self.clock.from_epoch(start)
            items = [str(it.get("id")) for it in ln["items"]]
            end = ends.get((ln.get("request_id"), start))
            if end is None and start + self.function_timeout_wall + 0.5 > observed_until:
                # Still running when the observation stopped: its result is unknown.
                self.knobs.setdefault("running_at_end", []).append(
                    {"items": items, "t": round(t, 6), "request_id": ln.get("request_id")}
                )
                continue
            results = {s["result"] for s in ln["steps"].values()}
            fields: dict[str, Any] = {"items": items}
            detail: dict[str, Any] = {"attempts": ln.get("attempts"), "request_id": ln.get("request_id")}
            if end is not None:
                detail["duration"] = round((float(end["wall"]) - start) / self.clock.time_scale, 6)
                outcome = end.get("outcome")
                if outcome == "partial":
                    fields["result"] = "partial"
                    fields["failed_items"] = [str(x) for x in end.get("failed", [])]
                elif outcome == "not_killed":
                    fields["result"] = "error"
                    detail["observed"] = "scripted timeout ran past the function timeout without being killed"
                else:
                    fields["result"] = "error" if outcome == "error" else "ok"
            else:
                fields["result"] = "oom" if "oom" in results and "timeout" not in results else "timeout"
                detail["observed"] = "no end line: the execution was killed"
            if not batch_mode and len(items) != 1:
                detail["note"] = "more than one item in an async invocation"
            self.recorder.add(t, "invocation", detail=detail, **fields)


def _scaled_int(name: str, scenario_value: float, ts: float, minimum: int, knobs: dict[str, Any]) -> int:
    """Whole wall seconds for a scenario duration; the effective value goes to knobs."""
    wall = scenario_value * ts
    value = max(minimum, round(wall))
    if abs(value - wall) > 1e-9:
        knobs.setdefault("effective", {})[name] = {
            "scenario": scenario_value,
            "wall_sent": value,
            "effective_scenario": round(value / ts, 6),
        }
    knobs.setdefault("wall_values_sent", {})[name] = value
    return value


@contextlib.contextmanager
def _ministack(sc: Scenario, clock: ScenarioClock, env_knobs: dict[str, str]) -> Iterator[tuple[_Server, str]]:
    workdir = tempfile.mkdtemp(prefix="ministack-peer-")
    server = _Server(workdir, env_knobs, clock)
    try:
        server.start()
        yield server, workdir
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run_scenario(scenario: dict[str, Any], *, time_scale: float, deadline_seconds: float) -> list[dict[str, Any]]:
    """Run an ``async_invoke``, ``sqs_poll`` or ``stream_poll`` scenario on MiniStack."""
    missing = available()
    if missing:
        raise PeerError(missing)
    reports: dict[str, list[str | None]] = {}
    if isinstance(scenario, dict) and scenario.get("mode") == "sqs_poll":
        scenario, reports = split_reports(scenario)  # the handler's "report" keys (sqs_poll contract)
    if isinstance(scenario, dict) and scenario.get("mode") == "stream_poll":
        scenario, reports = _split_stream_reports(scenario)  # the handler's "report" keys (stream_poll)
    sc = parse_scenario(scenario, ["async_invoke", "sqs_poll", "stream_poll"], PEER)
    unsupported = sc.handler.all_results(sc.item_ids()) & {"throttle", "service_error"}
    if unsupported:
        raise UnsupportedScenarioError(
            f"MiniStack cannot script {sorted(unsupported)} steps: a function cannot throttle or fail the service"
        )
    if sc.mode == "sqs_poll":
        _check_sqs_expressible(sc, time_scale)
    if sc.mode == "stream_poll":
        _check_stream_expressible(sc, time_scale, deadline_seconds)
    clock = ScenarioClock(time_scale, deadline_seconds, PEER)
    if sc.until * time_scale >= deadline_seconds:
        raise PeerError(
            f"ministack: scenario needs {sc.until * time_scale:.1f} s wall (until={sc.until:g} x "
            f"time_scale={time_scale:g}) but the deadline is {deadline_seconds:g} s"
        )
    knobs: dict[str, Any] = {
        "server": {
            "command": "python -m ministack",
            "BIND_HOST": "127.0.0.1",
            "GATEWAY_PORT": "free port chosen per run",
            "LAMBDA_EXECUTOR": "local",
            "PERSIST_STATE": "0",
        },
        "fixed_wall_seconds": dict(FIXED_WALL_SECONDS),
    }
    env_knobs: dict[str, str] = {}
    if sc.mode == "async_invoke":
        delays = [float(d) for d in sc.config.get("retry_delays_seconds") or [60, 120]]
        base = delays[0] * time_scale
        cap = max(delays) * time_scale
        env_knobs["LAMBDA_ASYNC_RETRY_BASE_SECONDS"] = repr(base)
        env_knobs["LAMBDA_ASYNC_RETRY_MAX_SECONDS"] = repr(cap)
        n = int(sc.config.get("maximum_retry_attempts", 2))
        knobs["async_retry_delays_effective_seconds"] = [
            round(min(base * 2 ** (k - 1), cap) / time_scale, 6) for k in range(1, n + 1)
        ]
    knobs["env"] = dict(env_knobs)
    knobs["ignored_config"] = list(sc.unknown_config)
    recorder = Recorder()
    peer_name = f"ministack {package_version('ministack')}"
    try:
        with _ministack(sc, clock, env_knobs) as (server, workdir):
            state_dir = os.path.join(workdir, "fn-state")
            os.makedirs(state_dir)
            run = _Run(sc, clock, server, recorder, _clients(server.endpoint), state_dir, knobs)
            run.reports = reports
            drive: Callable[[_Run], None] = {
                "async_invoke": _drive_async,
                "sqs_poll": _drive_sqs,
                "stream_poll": _drive_stream,
            }[sc.mode]
            drive(run)
            if run.send_errors:
                knobs["send_errors"] = run.send_errors
    except PeerError:
        raise
    except Exception as exc:
        raise PeerError(f"MiniStack run failed: {one_line(exc)}") from exc
    knobs["boto3"] = package_version("boto3")
    header = make_header(sc.mode, peer_name, time_scale, knobs)
    return finish_trace(header, recorder)


# ---------------------------------------------------------------------------
# Shared driving helpers
# ---------------------------------------------------------------------------


def _create_function(
    run: _Run,
    batch_item_failures: bool,
    dlq_arn: str | None = None,
    *,
    margin_wall: float = 0.0,
    extra_cfg: dict[str, Any] | None = None,
    extra_files: dict[str, str] | None = None,
    script: dict[str, Any] | None = None,
) -> str:
    """The scripted function.  ``margin_wall`` is added to its timeout (the handler's own
    overhead on top of a scripted duration); ``extra_cfg`` / ``extra_files`` / ``script``
    are for modes whose handler needs more than the plain script (sqs_poll)."""
    cfg = run.sc.config
    ts = run.clock.time_scale
    ft = float(cfg.get("function_timeout_seconds") or 3)
    timeout_wall = max(ft * ts, MIN_FUNCTION_TIMEOUT_WALL) + margin_wall
    if timeout_wall != ft * ts:
        run.knobs.setdefault("effective", {})["function_timeout_seconds"] = {
            "scenario": ft,
            "wall_sent": timeout_wall,
            "effective_scenario": round(timeout_wall / ts, 6),
        }
    fn_cfg = {
        "script": script if script is not None else run.sc.handler.to_json(run.sc.item_ids()),
        "state_dir": run.state_dir,
        "time_scale": ts,
        "function_timeout_wall": timeout_wall,
        "batch_item_failures": batch_item_failures,
        **(extra_cfg or {}),
    }
    kwargs: dict[str, Any] = {
        "FunctionName": FUNCTION_NAME,
        "Runtime": "python3.11",
        "Role": f"arn:aws:iam::{ACCOUNT}:role/peer",
        "Handler": "index.handler",
        "Code": {"ZipFile": _function_zip(fn_cfg, extra_files)},
        "Timeout": timeout_wall,
    }
    if dlq_arn:
        kwargs["DeadLetterConfig"] = {"TargetArn": dlq_arn}
    arn = run.clients["lambda"].create_function(**kwargs)["FunctionArn"]
    run.function_timeout_wall = timeout_wall
    run.knobs["function"] = {
        "Timeout_wall_seconds": timeout_wall,
        "Timeout_note": "sent as a float (AWS takes whole seconds >= 1); MiniStack's warm worker honours it",
        "runtime": "python3.11 (LAMBDA_EXECUTOR=local: the host interpreter)",
    }
    rc = cfg.get("reserved_concurrency")
    if rc is not None:
        run.clients["lambda"].put_function_concurrency(FunctionName=FUNCTION_NAME, ReservedConcurrentExecutions=int(rc))
        run.knobs["function"]["ReservedConcurrentExecutions"] = int(rc)
    return str(arn)


def _sender(run: _Run, send: Callable[[str, dict[str, Any]], None]) -> threading.Thread:
    """Submit every item at its time, in a thread; arrivals are recorded when sent."""

    def loop() -> None:
        for item in run.sc.items:
            wait = run.clock.start + item.at * run.clock.time_scale - time.time()
            if wait > 0:
                time.sleep(min(wait, max(0.0, run.clock.wall_left())))
            if run.clock.wall_left() <= 0:
                return
            t = run.clock.now()
            try:
                send(item.id, item.extra)
            except Exception as exc:
                run.send_errors.append(f"{item.id}: {one_line(exc)}")
                continue
            run.arrivals[item.id] = t
            run.recorder.add(t, "arrival", item=item.id)

    th = threading.Thread(target=loop, name="ministack-peer-sender", daemon=True)
    th.start()
    return th


def _observe_until(run: _Run, extra: Callable[[], None] | None = None) -> None:
    while run.clock.now() < run.sc.until:
        run.clock.check("observing MiniStack")
        if not run.server.alive():
            raise PeerError(f"MiniStack exited during the run: {run.server.last_log_line()}")
        run.poll_sinks()
        if extra is not None:
            extra()
        left = run.clock.wall(run.sc.until - run.clock.now())
        run.clock.sleep(min(OBSERVE_INTERVAL_WALL, max(0.0, left)), "observing MiniStack")
    run.poll_sinks()
    if extra is not None:
        extra()


# ---------------------------------------------------------------------------
# async_invoke
# ---------------------------------------------------------------------------


def _drive_async(run: _Run) -> None:
    cfg = run.sc.config
    ts = run.clock.time_scale
    dlq_kind = cfg.get("dead_letter_queue")
    if dlq_kind not in (None, "sqs", "sns"):
        raise UnsupportedScenarioError(f"dead_letter_queue must be null, 'sqs' or 'sns', got {dlq_kind!r}")
    dlq_arn = run.sink_target("dlq", dlq_kind)
    on_failure = run.sink_target("on_failure", cfg.get("on_failure"))
    on_success = run.sink_target("on_success", cfg.get("on_success"))
    _create_function(run, batch_item_failures=False, dlq_arn=dlq_arn)
    dest: dict[str, Any] = {}
    if on_failure:
        dest["OnFailure"] = {"Destination": on_failure}
    if on_success:
        dest["OnSuccess"] = {"Destination": on_success}
    age = _scaled_int("maximum_event_age_seconds", float(cfg["maximum_event_age_seconds"]), ts, 1, run.knobs)
    eic: dict[str, Any] = {
        "FunctionName": FUNCTION_NAME,
        "MaximumRetryAttempts": int(cfg["maximum_retry_attempts"]),
        "MaximumEventAgeInSeconds": age,
    }
    if dest:
        eic["DestinationConfig"] = dest
    run.clients["lambda"].put_function_event_invoke_config(**eic)
    run.knobs["event_invoke_config"] = {k: v for k, v in eic.items() if k != "FunctionName"}
    run.knobs["sinks"] = {w.name: w.kind for w in run.sinks}
    lam = run.clients["lambda"]

    def send(item: str, extra: dict[str, Any]) -> None:
        resp = lam.invoke(FunctionName=FUNCTION_NAME, InvocationType="Event", Payload=json.dumps({"id": item}).encode())
        if int(resp["StatusCode"]) != 202:
            raise PeerError(f"async invoke of {item} answered {resp['StatusCode']}")

    run.clock.restart()
    sender = _sender(run, send)
    _observe_until(run)
    sender.join(timeout=max(0.0, run.clock.wall_left()))
    run.record_invocations(batch_mode=False)


# ---------------------------------------------------------------------------
# sqs_poll
# ---------------------------------------------------------------------------


SQS_TIMEOUT_MARGIN_WALL = 0.1
"""sqs_poll: added to the function timeout, so that a run scripted to last exactly the function
timeout is not cut short by the handler's own overhead (lock, log, MiniStack's round trip)."""
SQS_ESM_DEFAULT_CONCURRENCY = 5
"""MiniStack's concurrent batches per SQS mapping without MaximumConcurrency (AWS: up to 1000)."""
SQS_MIN_RETENTION_WALL = 60
"""MiniStack's (and AWS's) smallest MessageRetentionPeriod, in wall seconds."""
_RANK = {"arrival": 0, "delete": 1, "expired": 1, "visible": 2, "sink": 3, "step": 4}
"""Order of observations stamped with the same time: a run's deletes, then SQS's own
timers (visible again, moved to the DLQ), then receives, as at one instant of the model."""


@dataclass
class _MsgState:
    item: str
    visible: bool
    receive_count: int
    sent_wall: float
    last_seen: float = 0.0


def _check_sqs_expressible(sc: Scenario, ts: float) -> None:
    """UnsupportedScenarioError (one line) for sqs_poll settings MiniStack cannot take at this time scale."""
    cfg = sc.config
    vt = float(cfg["visibility_timeout_seconds"])
    if not is_whole(vt * ts) or round(vt * ts) < 1:
        raise UnsupportedScenarioError(
            f"MiniStack takes VisibilityTimeout in whole wall seconds: visibility_timeout_seconds={vt:g} is "
            f"{vt * ts:.3g} s wall at time_scale {ts:.4g}"
        )
    retention = float(cfg["message_retention_seconds"])
    if retention * ts < SQS_MIN_RETENTION_WALL and any(item.at + retention < sc.until for item in sc.items):
        raise UnsupportedScenarioError(
            f"MiniStack keeps a message at least {SQS_MIN_RETENTION_WALL} wall seconds "
            f"({SQS_MIN_RETENTION_WALL / ts:g} scenario seconds at time_scale {ts:.4g}): "
            f"message_retention_seconds={retention:g} would expire within the run"
        )


def _sqs_script(run: _Run) -> dict[str, Any]:
    """The handler script, each step with its ``report``."""
    script = run.sc.handler.to_json(run.sc.item_ids())
    for key, steps in script.items():
        for n, step in enumerate(steps):
            step["report"] = report_for(run.reports, key, n + 1)
    return script


def _drive_sqs(run: _Run) -> None:
    cfg = run.sc.config
    ts = run.clock.time_scale
    fifo = bool(cfg.get("fifo"))
    suffix = ".fifo" if fifo else ""
    fifo_attrs = {"FifoQueue": "true"} if fifo else {}
    vt = _scaled_int("visibility_timeout_seconds", float(cfg["visibility_timeout_seconds"]), ts, 0, run.knobs)
    retention = _scaled_int(
        "message_retention_seconds", float(cfg["message_retention_seconds"]), ts, SQS_MIN_RETENTION_WALL, run.knobs
    )
    attrs: dict[str, str] = {"VisibilityTimeout": str(vt), "MessageRetentionPeriod": str(retention), **fifo_attrs}
    mrc = cfg.get("max_receive_count")
    dlq_url = ""
    if mrc is not None:
        dlq_url, dlq_arn = run.queue(f"dlq{suffix}", {"MessageRetentionPeriod": "1209600", **fifo_attrs})
        attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": int(mrc)})
    src_url, src_arn = run.queue(f"src{suffix}", attrs)
    rbif = bool(cfg.get("report_batch_item_failures"))
    _create_function(
        run,
        batch_item_failures=rbif,
        margin_wall=SQS_TIMEOUT_MARGIN_WALL,
        extra_cfg={
            "sqs": {
                "fifo": fifo,
                "report_batch_item_failures": rbif,
                "function_timeout": float(cfg["function_timeout_seconds"]),
            }
        },
        extra_files={"sqs_contract.py": Path(_sqs_contract.__file__).read_text(encoding="utf-8")},
        script=_sqs_script(run),
    )
    esm: dict[str, Any] = {
        "EventSourceArn": src_arn,
        "FunctionName": FUNCTION_NAME,
        "BatchSize": int(cfg["batch_size"]),
        "Enabled": True,
    }
    window = float(cfg.get("maximum_batching_window_seconds") or 0)
    if window:
        esm["MaximumBatchingWindowInSeconds"] = _scaled_int("maximum_batching_window_seconds", window, ts, 0, run.knobs)
    if rbif:
        esm["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    if cfg.get("maximum_concurrency"):
        esm["ScalingConfig"] = {"MaximumConcurrency": int(cfg["maximum_concurrency"])}
    run.knobs["ignored_config"] = [k for k in run.sc.unknown_config if k != "reserved_concurrency"]  # applied
    run.knobs["warm_workers"] = _warm_up(run, _sqs_concurrency(cfg))
    run.knobs["queue"] = {"attributes": attrs, "fifo": fifo}
    run.knobs["event_source_mapping"] = {k: v for k, v in esm.items() if k not in ("EventSourceArn", "FunctionName")}
    run.knobs["handler"] = {
        "contract": "sqs_contract.py (the driver's _sqs_contract) decides each batch",
        "invalid_response": _sqs_contract.INVALID_RESPONSE,
        "timeout_margin_wall_seconds": SQS_TIMEOUT_MARGIN_WALL,
    }
    run.knobs["observation"] = (
        f"GET /_ministack/sqs/messages every {OBSERVE_INTERVAL_WALL} s wall (receive counts, visible, delete, "
        "expired, dlq); each invocation is stamped, with the receives that led to it, at the earliest sign of "
        "them (the peeked receive count rising, or the handler's start); a delete at the end of the run that "
        "deleted it; a visible again that the peek missed before a re-receive or a move to the DLQ is inferred "
        "there (detail.inferred)"
    )
    if dlq_url:
        run.sinks.append(_SinkWatch("dlq", dlq_url, "sqs", use_sent_timestamp=False))
    states: dict[str, _MsgState] = {}
    effective_retention = retention / ts
    final, raw = run.recorder, Recorder()
    run.recorder = raw  # observations are put in order at the end (_assemble_sqs_trace)

    def watch_source() -> None:
        now = run.clock.now()
        seen: set[str] = set()
        for msg in run.server.peek(src_url):
            mid = str(msg.get("MessageId"))
            item = item_of_body(str(msg.get("Body", "")))
            if item is None:
                continue
            seen.add(mid)
            visible = bool(msg.get("IsVisible"))
            count = int(msg.get("ReceiveCount") or 0)
            st = states.get(mid)
            if st is None:
                sent_ms = (msg.get("Attributes") or {}).get("SentTimestamp")
                sent_wall = int(sent_ms) / 1000.0 if sent_ms else time.time()
                st = states[mid] = _MsgState(item, visible, 0, sent_wall)
            for n in range(st.receive_count + 1, count + 1):
                run.record_receive(now, item, n, {"message_id": mid, "peek_t": round(now, 6)})
            if visible and not st.visible and count > 0:
                raw.add(now, "visible", item=item, detail={"message_id": mid, "receive_count": count})
            st.visible, st.receive_count, st.last_seen = visible, count, now
        dlq_ids = {m for w in run.sinks if w.name == "dlq" for m in w.seen}
        for mid in [m for m in states if m not in seen]:
            st = states.pop(mid)
            if mid in dlq_ids:
                continue  # recorded as a dlq sink
            if dlq_url and any(str(m.get("MessageId")) == mid for m in run.server.peek(dlq_url)):
                continue  # the sink poll will record it
            age = run.clock.from_epoch(time.time()) - run.clock.from_epoch(st.sent_wall)
            kind = "expired" if age >= effective_retention else "delete"
            raw.add(
                now,
                kind,
                item=st.item,
                detail={"message_id": mid, "receive_count": st.receive_count, "age": round(age, 6),
                        "last_seen_t": round(st.last_seen, 6)},
            )

    run.clock.restart()
    failures: list[str] = []

    def create_mapping() -> None:
        try:
            run.clients["lambda"].create_event_source_mapping(**esm)
        except Exception as exc:
            failures.append(one_line(exc))

    sender = _sqs_sender(run, src_url, fifo, create_mapping)

    def settled() -> bool:
        """Every message was sent and has left the queue, and no handler is still running:
        MiniStack has nothing left to do for this scenario."""
        if sender.is_alive() or states or len(run.arrivals) + len(run.send_errors) < len(run.sc.items):
            return False
        log = run.read_log()
        ended = {(ln.get("request_id"), float(ln["start"])) for ln in log if ln.get("phase") == "end"}
        now = time.time()
        return all((ln.get("request_id"), float(ln["wall"])) in ended
                   or float(ln["wall"]) + run.function_timeout_wall + 0.5 < now
                   for ln in log if ln.get("phase") == "start")

    try:
        run.knobs["ended_at"] = round(_observe_sqs_until(run, watch_source, settled), 6)
        sender.join(timeout=max(0.0, run.clock.wall_left()))
    finally:
        run.recorder = final
    if failures:
        raise PeerError(f"MiniStack refused the event source mapping: {failures[0]}")
    _assemble_sqs_trace(run, raw.events())


SQS_SETTLED_GRACE_WALL = 0.3
"""How long (wall seconds) the queue must stay empty, with no handler running, before the run stops."""


def _observe_sqs_until(run: _Run, watch: Callable[[], None], settled: Callable[[], bool]) -> float:
    """Like ``_observe_until``, but stops once ``settled()`` has held for ``SQS_SETTLED_GRACE_WALL``:
    with every message deleted, moved or expired and no handler running, nothing more can be
    observed.  Returns the scenario time it stopped at."""
    quiet_since: float | None = None
    while run.clock.now() < run.sc.until:
        run.clock.check("observing MiniStack")
        if not run.server.alive():
            raise PeerError(f"MiniStack exited during the run: {run.server.last_log_line()}")
        run.poll_sinks()
        watch()
        if settled():
            quiet_since = time.time() if quiet_since is None else quiet_since
            if time.time() - quiet_since >= SQS_SETTLED_GRACE_WALL:
                return run.clock.now()
        else:
            quiet_since = None
        left = run.clock.wall(run.sc.until - run.clock.now())
        run.clock.sleep(min(OBSERVE_INTERVAL_WALL, max(0.0, left)), "observing MiniStack")
    run.poll_sinks()
    watch()
    return run.clock.now()


def _sqs_concurrency(cfg: dict[str, Any]) -> int:
    """How many batches MiniStack's mapping may run at once: min(MaximumConcurrency or 5, reserved
    concurrency); one for a FIFO queue (ministack/services/lambda_svc.py ``_sqs_esm_concurrency``)."""
    if cfg.get("fifo"):
        return 1
    limit = int(cfg.get("maximum_concurrency") or SQS_ESM_DEFAULT_CONCURRENCY)
    rc = cfg.get("reserved_concurrency")
    return limit if rc is None else min(limit, int(rc))


def _warm_up(run: _Run, workers: int) -> int:
    """Start ``workers`` execution environments before the scenario, with overlapping no-op
    invocations the handler ignores, so that no batch of the scenario pays a cold start
    (a tenth of a wall second is 3 scenario seconds at 1/30).  Returns how many answered."""
    if workers < 1:
        return 0
    lam = run.clients["lambda"]
    answered: list[bool] = []

    def one() -> None:
        try:
            resp = lam.invoke(FunctionName=FUNCTION_NAME, Payload=json.dumps({"__warmup__": True, "hold": 0.3}))
            answered.append(not resp.get("FunctionError"))
        except Exception:
            answered.append(False)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=max(0.0, min(STARTUP_SECONDS, run.clock.wall_left())))
    return sum(answered)


def _sqs_sender(run: _Run, queue_url: str, fifo: bool, create_mapping: Callable[[], None]) -> threading.Thread:
    """Send every item at its time, in a thread: the items of one instant in one
    ``SendMessageBatch`` (up to 10), so that the mapping can find them together as the model's
    poller does.  MiniStack adds a batch's messages one by one and wakes its poller at each,
    so the mapping is created (``create_mapping``) only once the first instant has been sent;
    a later instant of several messages may still be split between batches (``knobs.send``)."""
    sqs = run.clients["sqs"]
    instants: list[list[Any]] = []
    for item in run.sc.items:
        if instants and instants[-1][0].at == item.at and len(instants[-1]) < 10:
            instants[-1].append(item)
        else:
            instants.append([item])
    run.knobs["send"] = (
        "SendMessageBatch per instant (up to 10 messages); the event source mapping is created right after "
        "the first instant is sent; a later instant of several messages may be split between batches"
    )

    def loop() -> None:
        for n, items in enumerate(instants):
            if n == 1:
                create_mapping()
            wait = run.clock.start + items[0].at * run.clock.time_scale - time.time()
            if wait > 0:
                time.sleep(min(wait, max(0.0, run.clock.wall_left())))
            if run.clock.wall_left() <= 0:
                return
            entries = []
            for n, item in enumerate(items):
                entry: dict[str, Any] = {"Id": str(n), "MessageBody": json.dumps({"id": item.id})}
                if fifo:
                    entry["MessageGroupId"] = str(item.extra.get("group") or "default")
                    entry["MessageDeduplicationId"] = item.id
                entries.append(entry)
            t = run.clock.now()
            try:
                resp = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            except Exception as exc:
                run.send_errors.append(f"{','.join(i.id for i in items)}: {one_line(exc)}")
                continue
            failed = {str(f.get("Id")) for f in resp.get("Failed", [])}
            for n, item in enumerate(items):
                if str(n) in failed:
                    run.send_errors.append(f"{item.id}: SendMessageBatch entry failed")
                    continue
                run.arrivals[item.id] = t
                run.recorder.add(t, "arrival", item=item.id)
        if len(instants) <= 1:
            create_mapping()

    th = threading.Thread(target=loop, name="ministack-peer-sqs-sender", daemon=True)
    th.start()
    return th


def _sqs_invocation(run: _Run, ln: dict[str, Any], end: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields and detail of the invocation a handler ``start`` line (and its ``end``) show."""
    decision = ln.get("decision") or {}
    start = float(ln["wall"])
    fields: dict[str, Any] = {"items": [str(it.get("id")) for it in ln["items"]]}
    detail: dict[str, Any] = {
        "attempts": ln.get("attempts"),
        "request_id": ln.get("request_id"),
        "handler_start_t": round(run.clock.from_epoch(start), 6),
        "response": decision.get("response"),
    }
    if end is None:
        fields["result"] = "oom" if decision.get("response") == "oom" else "timeout"
        detail["observed"] = "no end line: the execution was killed"
        return fields, detail
    detail["duration"] = round((float(end["wall"]) - start) / run.clock.time_scale, 6)
    outcome = end.get("outcome")
    if outcome in ("partial", "invalid"):
        fields["result"] = "partial"
        fields["failed_items"] = [str(x) for x in end.get("failed", [])]
        if outcome == "partial":
            detail["listed"] = end.get("listed")
        else:
            detail["response_body"] = _sqs_contract.INVALID_RESPONSE
    elif outcome == "not_killed":
        fields["result"] = "error"
        detail["observed"] = "scripted timeout ran past the function timeout without being killed"
    else:
        fields["result"] = "error" if outcome == "error" else "ok"
        if outcome == "swallowed":
            detail["swallowed"] = end.get("failed")
    return fields, detail


def _assemble_sqs_trace(run: _Run, raw: list[dict[str, Any]]) -> None:
    """Put the observations of an sqs_poll run in the order one instant of the model has them.

    * A receive and the invocation it leads to are one step of the model: the receives of a
      batch are stamped, right before its invocation, with the earliest sign of the receive
      (the peeked receive count rising, or the handler's start, whichever came first).
    * A delete is stamped with the end of the run that deleted the message (MiniStack deletes as
      the handler returns), not with the peek that saw it gone.
    * SQS makes a message visible before it can be received again or moved to the DLQ; when the
      peek missed that moment, a ``visible`` is inferred right before the receive or the move
      (``detail.inferred``).
    Observations with the same time keep the order of :data:`_RANK`; then the send order.
    """
    log = run.read_log()
    ends = {(ln.get("request_id"), float(ln["start"])): ln for ln in log if ln.get("phase") == "end"}
    observed_until = time.time()
    send_order = {item.id: n for n, item in enumerate(run.sc.items)}
    blocks: list[tuple[float, int, int, list[dict[str, Any]]]] = []
    at_step: dict[tuple[str, int], int] = {}  # (item, receive count) -> its block
    step_t: dict[str, dict[int, float]] = {}
    run_ends: dict[str, list[float]] = {}  # item -> ends of the runs that could delete it
    skipped: set[tuple[str, int]] = set()
    same_peek: dict[float, list[int]] = {}  # peek that first saw a batch's receives -> its blocks

    def block(t: float, rank: str, item: str, events: list[dict[str, Any]]) -> int:
        blocks.append((t, _RANK[rank], send_order.get(item, len(send_order)), events))
        return len(blocks) - 1

    for ln in (ln for ln in log if ln.get("phase") == "start"):
        start = float(ln["wall"])
        keys = [(str(it.get("id")), int(it.get("receive_count") or 0)) for it in ln["items"]]
        end = ends.get((ln.get("request_id"), start))
        if end is None and start + run.function_timeout_wall + 0.5 > observed_until:
            # Still running when the observation stopped: its result is unknown.
            run.knobs.setdefault("running_at_end", []).append(
                {"items": [k[0] for k in keys], "t": round(run.clock.from_epoch(start), 6)}
            )
            skipped.update(keys)
            continue
        t_start = run.clock.from_epoch(start)
        t = min([t_start, *(run.receives[k][0] for k in keys if k in run.receives)])
        events: list[dict[str, Any]] = []
        for (item, count), it in zip(keys, ln["items"], strict=True):
            if count < 1:
                continue
            peek = run.receives.get((item, count))
            events.append({"kind": "receive", "item": item, "receive_count": count,
                           "detail": {"message_id": it.get("handle"),
                                      "peek_t": None if peek is None else round(peek[0], 6),
                                      "handler_start_t": round(t_start, 6)}})
        fields, detail = _sqs_invocation(run, ln, end)
        events.append({"kind": "invocation", **fields, "detail": detail})
        peeked = [run.receives[k][0] for k in keys if k in run.receives]
        if peeked:
            same_peek.setdefault(min(peeked), []).append(len(blocks))
        index = block(t, "step", keys[0][0], events)
        for item, count in keys:
            at_step[(item, count)] = index
            step_t.setdefault(item, {})[count] = t
            if end is not None:
                run_ends.setdefault(item, []).append(run.clock.from_epoch(float(end["wall"])))
    # Batches first seen by the same peek were received within one peek interval, in an order
    # the handlers' start times need not keep (each runs on its own thread): MiniStack's poller
    # takes them in queue order, so they share the earliest time and keep the send order.
    for indexes in same_peek.values():
        if len(indexes) > 1:
            earliest = min(blocks[i][0] for i in indexes)
            for i in indexes:
                blocks[i] = (earliest, *blocks[i][1:])
                for item, count in ((e["item"], e["receive_count"]) for e in blocks[i][3] if e["kind"] == "receive"):
                    step_t[item][count] = earliest
    for (item, count), (t, detail) in sorted(run.receives.items(), key=lambda kv: kv[1][0]):
        if (item, count) in at_step or (item, count) in skipped:
            continue
        index = block(t, "step", item, [{"kind": "receive", "item": item, "receive_count": count,
                                         "detail": {**detail, "observed": "received, never ran"}}])
        at_step[(item, count)] = index
        step_t.setdefault(item, {})[count] = t
    visible_t: dict[str, list[float]] = {}
    sinks: list[tuple[str, int]] = []
    for e in raw:
        t, kind = float(e["t"]), str(e["kind"])
        first = str(e.get("item") or (e.get("items") or ["?"])[0])
        if kind == "delete":
            # Deleted after the run that deleted it ended and after the last peek that saw it.
            ended = [x for x in run_ends.get(first, []) if x <= t]
            if ended:
                last_seen = float((e.get("detail") or {}).get("last_seen_t") or 0.0)
                e = {**e, "detail": {**(e.get("detail") or {}), "observed_t": round(t, 6)}}
                t = max(*ended, min(last_seen, t))
        if kind == "visible":
            visible_t.setdefault(first, []).append(t)
        index = block(t, kind if kind in _RANK else "step", first, [e])
        if kind == "sink":
            sinks.append((first, index))
    inferred = 0

    def saw_visible(item: str, after: float, until: float) -> bool:
        return any(after < v <= until for v in visible_t.get(item, []))

    for item, by_count in step_t.items():
        for count, t in by_count.items():
            before = by_count.get(count - 1)
            if count >= 2 and before is not None and not saw_visible(item, before, t):
                blocks[at_step[(item, count)]][3].insert(0, _inferred_visible(item, "receive"))
                inferred += 1
    for item, index in sinks:
        received = step_t.get(item)
        if received and not saw_visible(item, max(received.values()), blocks[index][0]):
            blocks[index][3].insert(0, _inferred_visible(item, "dlq move"))
            inferred += 1
    run.knobs["inferred_visible"] = inferred
    for t, _rank, _order, events in sorted(blocks, key=lambda b: b[:3]):
        for e in events:
            fields = {k: v for k, v in e.items() if k not in ("t", "kind", "detail")}
            run.recorder.add(t, str(e["kind"]), detail=e.get("detail"), **fields)


def _inferred_visible(item: str, before: str) -> dict[str, Any]:
    return {"kind": "visible", "item": item,
            "detail": {"inferred": f"not seen by the peek; SQS made it visible before this {before}"}}


# ---------------------------------------------------------------------------
# stream_poll
# ---------------------------------------------------------------------------


STREAM_SETUP_WALL = 10.0
"""stream_poll: wall seconds of the deadline kept for MiniStack's start, the stream and the mapping."""
STREAM_REPORTS = {True: "true", False: "false", "invalid": "invalid"}


def _split_stream_reports(scenario: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str | None]]]:
    """The scenario without the handler steps' ``report`` keys (the stream_poll contract's
    ``true``, ``false`` or ``"invalid"``), and those reports per handler key and step."""
    handler = scenario.get("handler")
    if not isinstance(handler, dict):
        return scenario, {}
    plain: dict[str, Any] = {}
    reports: dict[str, list[str | None]] = {}
    for key, seq in handler.items():
        steps = [seq] if isinstance(seq, str | dict) else seq
        if not isinstance(steps, list):
            plain[key] = seq
            continue
        out: list[Any] = []
        mine: list[str | None] = []
        for n, step in enumerate(steps):
            if isinstance(step, dict) and "report" in step:
                value = step["report"]
                if not (value is True or value is False or value == "invalid"):
                    raise ValueError(f"handler[{key!r}][{n}].report must be true, false or \"invalid\", got {value!r}")
                if step.get("result") != "error":
                    raise ValueError(f"handler[{key!r}][{n}].report applies to \"error\" results only")
                mine.append(STREAM_REPORTS[value])
                step = {k: v for k, v in step.items() if k != "report"}
            else:
                mine.append(None)
            out.append(step)
        plain[key] = out
        reports[str(key)] = mine
    return {**scenario, "handler": plain}, reports


def _stream_shards(sc: Scenario) -> list[str]:
    """The scenario's shards, in the order they are first written to."""
    out: list[str] = []
    for item in sc.items:
        shard = str(item.extra.get("shard") or "s1")
        if shard not in out:
            out.append(shard)
    return out


def _check_stream_expressible(sc: Scenario, ts: float, deadline: float) -> None:
    """UnsupportedScenarioError (one line) for stream_poll scenarios MiniStack cannot run."""
    cfg = sc.config
    source = cfg.get("source", "kinesis")
    if source not in ("dynamodb", "kinesis"):
        raise UnsupportedScenarioError(f"stream source must be 'dynamodb' or 'kinesis', got {source!r}")
    wall = sc.until * ts + STREAM_SETUP_WALL
    if wall > deadline:
        raise UnsupportedScenarioError(
            f"MiniStack runs on the wall clock: the scenario's horizon of {sc.until:g} s needs "
            f"{wall:.0f} s wall at time_scale {ts:.4g} (with {STREAM_SETUP_WALL:g} s setup), over the "
            f"{deadline:g} s deadline"
        )
    parents = sorted({str(i.extra["parent_shard"]) for i in sc.items if i.extra.get("parent_shard")})
    if parents:
        raise UnsupportedScenarioError(
            f"resharding (parent_shard {', '.join(parents)}) is not expressible: MiniStack's poller starts a "
            "shard created after the mapping at its end (LATEST) and does not wait for its parent"
        )
    shards = _stream_shards(sc)
    if source == "dynamodb" and len(shards) > 1:
        raise UnsupportedScenarioError(
            f"a MiniStack DynamoDB table stream has one shard; the scenario writes to {len(shards)} "
            f"({', '.join(shards)})"
        )
    for name in ("on_failure", "function_dead_letter_queue"):
        kind = cfg.get(name)
        if kind not in (None, "sqs", "sns"):
            raise UnsupportedScenarioError(
                f"{name}={kind!r}: MiniStack writes stream failure records to SQS and SNS only, and the driver "
                "watches only those"
            )


def _stream_script(run: _Run) -> dict[str, Any]:
    """The handler script, each step with its ``report`` (``_split_stream_reports``)."""
    script = run.sc.handler.to_json(run.sc.item_ids())
    for key, steps in script.items():
        mine = run.reports.get(key) or []
        for n, step in enumerate(steps):
            step["report"] = mine[n] if n < len(mine) else None
    return script


def _drive_stream(run: _Run) -> None:
    cfg = run.sc.config
    ts = run.clock.time_scale
    source = cfg.get("source", "kinesis")
    on_failure = run.sink_target("on_failure", cfg.get("on_failure"))
    # The function's own DLQ serves asynchronous invocation only: watched, to see that nothing comes.
    dlq_arn = run.sink_target("dlq", cfg.get("function_dead_letter_queue"))
    rbif = bool(cfg.get("report_batch_item_failures"))
    _create_function(
        run,
        batch_item_failures=rbif,
        dlq_arn=dlq_arn,
        extra_cfg={"stream": {"report_batch_item_failures": rbif}},
        script=_stream_script(run),
    )
    shards = _stream_shards(run.sc)
    put: Callable[[list[Any]], None]
    if source == "dynamodb":
        ddb = run.clients["dynamodb"]
        table = ddb.create_table(
            TableName="peer-table",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )["TableDescription"]
        stream_arn = table.get("LatestStreamArn")
        if not stream_arn:
            raise PeerError("MiniStack created the table without a LatestStreamArn")

        def put(items: list[Any]) -> None:
            for item in items:  # one stream record per PutItem, in order
                ddb.put_item(
                    TableName="peer-table",
                    Item={"pk": {"S": str(item.extra.get("partition_key") or item.id)}, "id": {"S": item.id}},
                )
    else:
        kin = run.clients["kinesis"]
        kin.create_stream(StreamName="peer-stream", ShardCount=len(shards))
        for _ in range(100):
            desc = kin.describe_stream(StreamName="peer-stream")["StreamDescription"]
            if desc.get("StreamStatus") == "ACTIVE":
                break
            run.clock.sleep(0.05, "waiting for the Kinesis stream")
        stream_arn = desc["StreamARN"]
        listed = sorted(desc["Shards"], key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))
        if len(listed) != len(shards):
            raise PeerError(f"MiniStack created {len(listed)} Kinesis shards, {len(shards)} asked for")
        hash_key = {name: str(s["HashKeyRange"]["StartingHashKey"]) for name, s in zip(shards, listed, strict=True)}
        run.knobs["kinesis_shards"] = {name: s["ShardId"] for name, s in zip(shards, listed, strict=True)}

        def put(items: list[Any]) -> None:
            # One PutRecords per instant: MiniStack appends them all before waking its poller.
            for start in range(0, len(items), 500):
                resp = kin.put_records(
                    StreamName="peer-stream",
                    Records=[
                        {
                            "Data": json.dumps({"id": item.id}).encode(),
                            "PartitionKey": str(item.extra.get("partition_key") or item.id),
                            "ExplicitHashKey": hash_key[str(item.extra.get("shard") or "s1")],
                        }
                        for item in items[start : start + 500]
                    ],
                )
                if resp.get("FailedRecordCount"):
                    raise PeerError(f"PutRecords failed for {resp['FailedRecordCount']} record(s)")

    esm: dict[str, Any] = {
        "EventSourceArn": stream_arn,
        "FunctionName": FUNCTION_NAME,
        "BatchSize": int(cfg["batch_size"]),
        "StartingPosition": "TRIM_HORIZON",
        "MaximumRetryAttempts": int(cfg["maximum_retry_attempts"]),
        "BisectBatchOnFunctionError": bool(cfg.get("bisect_batch_on_function_error")),
        "ParallelizationFactor": int(cfg.get("parallelization_factor") or 1),
    }
    age = float(cfg["maximum_record_age_seconds"])
    esm["MaximumRecordAgeInSeconds"] = (
        -1 if age < 0 else _scaled_int("maximum_record_age_seconds", age, ts, 1, run.knobs)
    )
    window = float(cfg.get("maximum_batching_window_seconds") or 0)
    if window > 0:
        esm["MaximumBatchingWindowInSeconds"] = _scaled_int("maximum_batching_window_seconds", window, ts, 0, run.knobs)
    if rbif:
        esm["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    if on_failure:
        esm["DestinationConfig"] = {"OnFailure": {"Destination": on_failure}}
    run.knobs["event_source_mapping"] = {k: v for k, v in esm.items() if k not in ("EventSourceArn", "FunctionName")}
    run.knobs["source"] = source
    run.knobs["shards"] = shards
    run.knobs["sinks"] = {w.name: w.kind for w in run.sinks}
    run.knobs["not_observed"] = ["checkpoint", "expired", "throttle", "service_error"]
    run.knobs["send"] = (
        "the records of one instant together (Kinesis: one PutRecords with ExplicitHashKey per scenario shard; "
        "DynamoDB: PutItem each); the mapping is created right after the first instant is written"
    )

    def create_mapping() -> None:
        run.clients["lambda"].create_event_source_mapping(**esm)

    instants: list[list[Any]] = []
    for item in run.sc.items:
        if instants and instants[-1][0].at == item.at:
            instants[-1].append(item)
        else:
            instants.append([item])

    def loop() -> None:
        for n, items in enumerate(instants):
            wait = run.clock.start + items[0].at * run.clock.time_scale - time.time()
            if wait > 0:
                time.sleep(min(wait, max(0.0, run.clock.wall_left())))
            if run.clock.wall_left() <= 0:
                return
            t = run.clock.now()
            try:
                put(items)
            except Exception as exc:
                run.send_errors.append(f"{','.join(i.id for i in items)}: {one_line(exc)}")
            else:
                for item in items:
                    run.arrivals[item.id] = t
                    run.recorder.add(t, "arrival", item=item.id)
            if n == 0:
                try:
                    create_mapping()
                except Exception as exc:
                    run.send_errors.append(f"CreateEventSourceMapping: {one_line(exc)}")
                    return

    run.clock.restart()
    if not instants:
        create_mapping()
    sender = threading.Thread(target=loop, name="ministack-peer-stream-sender", daemon=True)
    sender.start()
    # The seq -> item map is needed to read on-failure batch records; refresh
    # it from the handler log while observing.
    _observe_until(run, lambda: _refresh_seq_map(run))
    sender.join(timeout=max(0.0, run.clock.wall_left()))
    if any(e.startswith("CreateEventSourceMapping") for e in run.send_errors):
        raise PeerError(f"MiniStack refused the event source mapping: {run.send_errors[-1]}")
    run.record_invocations(batch_mode=True)


def _refresh_seq_map(run: _Run) -> None:
    for ln in run.read_log():
        if ln.get("phase") == "start":
            for it in ln["items"]:
                if it.get("handle") and it.get("id"):
                    run.seq_to_item.setdefault(str(it["handle"]), str(it["id"]))


__all__ = ["available", "run_scenario"]
