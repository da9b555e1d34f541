"""moto peer: SQS-level facts of an ``sqs_poll`` scenario, driven in-process.

moto's Lambda side cannot act as a retry peer (conformance-peers.md §2.2: its
ESM is a synchronous push inside ``SendMessage``, failed batches come back at
once, ``ReportBatchItemFailures`` is ignored).  So this driver *is* the poller
and the function: it creates the queue (standard or FIFO, visibility timeout,
retention, a redrive policy to a DLQ of the same kind), sends each item at its
``at`` time, and loops ``ReceiveMessage`` → scripted handler → ``DeleteMessage``
the way the Lambda SQS poller does.  What moto decides is recorded: which
messages a receive returns, their ``ApproximateReceiveCount``, when a message is
moved to the DLQ, whether a message expires.  What the driver decides (the
Lambda side) follows AWS's documented rules, so only moto's SQS is under test.

The Lambda side the driver plays.

* **Concurrent batches.**  The poller keeps receiving while fewer batches run
  than ``maximum_concurrency`` (else 1000, the mapping's ceiling), as the model's
  pollers do; each batch runs for its scripted duration (virtual: the handler is
  a script, nothing sleeps), so batches overlap.
* **Reserved concurrency.**  The pollers do not take it into account: a batch
  received while ``reserved_concurrency`` batches run is throttled.
* **Throttles and service errors** (scripted, or from reserved concurrency): the
  function does not run and the batch is not deleted.  AWS retries a throttled
  batch until its visibility timeout passes and then drops it back [SQS-ERR]; at
  the SQS level that is exactly "received, not deleted", which is what the driver
  does to moto, so moto then decides when the messages come back and what their
  receive count is.  This is faithful to the model's reading of AWS (a throttle
  lasts the visibility timeout); a retry that gets through inside the window is
  not simulated.
* **Handler results**: the whole ``sqs_poll`` contract (``_sqs_contract``): a
  step's ``report`` (``throw``, ``failed_and_rest_of_group``, ``failed_only``,
  ``invalid``, ``swallow``), FIFO groups (a handler that reports failures stops a
  group at its first failure), a run longer than ``function_timeout_seconds``
  ends as ``timeout`` at that time.  Lambda's answer: a successful (or
  swallowing) run deletes the batch; a function error, timeout, out-of-memory or,
  with ``ReportBatchItemFailures``, an invalid response deletes nothing; a valid
  partial response deletes what it does not list; without the flag any partial
  response is ignored and the whole batch deleted.  One script entry is used per
  message per receive, throttled or not.
* **Batching window**: messages are received as they come and invoked when the
  batch is full or the window has passed since the first of them.  The
  effective visibility timeout (window + function timeout + 30 s when they
  exceed the visibility timeout) is passed on every ``ReceiveMessage``.

Time.  moto reads the clock through ``moto.sqs.models.unix_time`` /
``unix_time_millis`` only (visibility, delays, retention, receive timestamps)
and takes ``VisibilityTimeout`` / ``MessageRetentionPeriod`` as integer
seconds.  Three clocks:

* ``clock="virtual"`` (default): those two functions are patched, for the run
  only, to return ``epoch_at_start + scenario_seconds`` of a clock that moves only
  when the driver moves it.  The driver advances it to the next moment something
  can happen (an arrival, the end of a run or a batching window, a visibility
  timeout or retention period of a message it knows of, just past it) and never
  by more than ``VIRTUAL_STEP_SECONDS`` at once, so moto is polled at least that
  often whatever the driver expects.  No wall time passes between two polls:
  times are exact, and ``time_scale`` does not matter.
* ``clock="scaled"``: the same patch on a wall clock sped up by ``1 / time_scale``.
* ``clock="wall"``: nothing is patched and every scenario duration given to moto
  must scale to whole wall seconds (``value * time_scale`` an integer), else
  ``UnsupportedScenarioError``.

Observations: ``arrival`` (send), ``receive`` (with moto's receive count),
``invocation``/``throttle``/``service_error``, ``delete`` (a successful
``DeleteMessage``), ``sink`` with ``sink="dlq"`` when a message is seen in the
DLQ (read right after each source receive, which is when moto redrives; recorded
before the receives of that call, since the move happens first), and
``expired`` if the queue's message count drops below the messages the driver
knows are outstanding.  ``visible`` is not observable through the API and is
not emitted.  The DLQ is read with ``ReceiveMessage`` (VisibilityTimeout
43200), so the DLQ ``ApproximateReceiveCount`` in ``detail`` includes that read.
The run ends at ``until``, or as soon as every message was deleted or seen in
the DLQ (nothing more can happen then).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import INSTALL_HINT, PeerError, UnsupportedScenarioError
from ._common import (
    Item,
    Recorder,
    Scenario,
    ScenarioClock,
    finish_trace,
    is_whole,
    make_header,
    one_line,
    package_version,
    parse_scenario,
)
from ._sqs_contract import Decision, Entry, decide, report_for, split_reports

PEER = "moto"
POLL_INTERVAL_SCENARIO_SECONDS = 0.1
"""How long the poller idles after an empty receive on a wall clock (scenario seconds)."""
VIRTUAL_STEP_SECONDS = 0.5
"""On the virtual clock, the longest step between two polls of moto (scenario seconds)."""
JUST_AFTER = 0.001
"""How far past a deadline the virtual clock polls: moto's ``visible`` is strictly after ``visible_at``."""
MIN_POLL_INTERVAL_WALL = 0.002
DLQ_READ_VISIBILITY = 43200
ACCOUNT_REGION = "us-east-1"
ESM_CONCURRENCY_CEILING = 1000
"""Concurrent batches of one SQS event source mapping without MaximumConcurrency [SQS-SCALE]."""
EFFECTIVE_VISIBILITY_MARGIN = 30
CLOCKS = ("virtual", "scaled", "wall")


def available() -> str | None:
    try:
        import boto3  # noqa: F401
        import moto
        import moto.sqs.models  # noqa: F401
        from moto import mock_aws  # noqa: F401
    except ImportError as exc:
        return f"moto is not installed ({exc.name}): {INSTALL_HINT}"
    return None


class _Clock(Protocol):
    time_scale: float

    def now(self) -> float: ...
    def restart(self) -> None: ...
    def check(self, doing: str) -> None: ...
    def sleep_until(self, scenario_t: float, doing: str = "waiting") -> None: ...


class VirtualClock:
    """Scenario seconds that pass only when the driver says so; the wall deadline still holds."""

    def __init__(self, time_scale: float, deadline_seconds: float, peer: str) -> None:
        self._wall = ScenarioClock(time_scale, deadline_seconds, peer)
        self.time_scale = self._wall.time_scale
        self._now = 0.0

    def now(self) -> float:
        return self._now

    def restart(self) -> None:
        self._now = 0.0

    def check(self, doing: str) -> None:
        self._wall.check(doing)

    def sleep_until(self, scenario_t: float, doing: str = "waiting") -> None:
        self._now = max(self._now, float(scenario_t))
        self.check(doing)


@contextmanager
def _patched_moto_clock(clock: _Clock) -> Iterator[None]:
    """Make moto's SQS backend read scenario seconds (see module docstring)."""
    import moto.sqs.models as sqs_models

    namespace = vars(sqs_models)
    originals = (namespace["unix_time"], namespace["unix_time_millis"])
    epoch0 = time.time()
    real_unix_time: Callable[..., float] = originals[0]

    def unix_time(dt: Any = None) -> float:
        if dt is not None:
            return real_unix_time(dt)
        return epoch0 + clock.now()

    def unix_time_millis(dt: Any = None) -> float:
        return unix_time(dt) * 1000.0

    namespace["unix_time"] = unix_time
    namespace["unix_time_millis"] = unix_time_millis
    try:
        yield
    finally:
        namespace["unix_time"], namespace["unix_time_millis"] = originals


def _moto_seconds(name: str, scenario_value: float, clock_mode: str, time_scale: float) -> int:
    """The integer moto must be given for a scenario duration, or UnsupportedScenarioError."""
    value = scenario_value if clock_mode != "wall" else scenario_value * time_scale
    if not is_whole(value) or value < 0:
        where = "scenario seconds" if clock_mode != "wall" else f"wall seconds at time_scale {time_scale:g}"
        raise UnsupportedScenarioError(f"moto takes whole seconds only: {name}={scenario_value:g} is {value:g} {where}")
    return round(value)


def run_scenario(
    scenario: dict[str, Any],
    *,
    time_scale: float,
    deadline_seconds: float,
    clock: str = "virtual",
) -> list[dict[str, Any]]:
    """Run an ``sqs_poll`` scenario against moto's SQS; return the observed trace."""
    missing = available()
    if missing:
        raise PeerError(missing)
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, got {clock!r}")
    stripped, reports = split_reports(scenario)
    sc = parse_scenario(stripped, ["sqs_poll"], PEER)
    sclock: _Clock = (VirtualClock if clock == "virtual" else ScenarioClock)(time_scale, deadline_seconds, PEER)
    need = sc.until * time_scale
    if clock != "virtual" and need >= deadline_seconds:
        raise PeerError(
            f"moto: scenario needs {need:.1f} s wall (until={sc.until:g} x time_scale={time_scale:g}) "
            f"but the deadline is {deadline_seconds:g} s"
        )
    from moto import mock_aws

    recorder = Recorder()
    knobs: dict[str, Any] = {}
    try:
        with mock_aws():
            if clock == "wall":
                _drive(sc, reports, sclock, clock, recorder, knobs)
            else:
                with _patched_moto_clock(sclock):
                    _drive(sc, reports, sclock, clock, recorder, knobs)
    except PeerError:
        raise
    except Exception as exc:  # moto or botocore blew up: one line for the report
        raise PeerError(f"moto crashed: {one_line(exc)}") from exc
    header = make_header("sqs_poll", f"moto {package_version('moto')}", time_scale, knobs)
    return finish_trace(header, recorder)


@dataclass
class _Run:
    batch: list[tuple[str, dict[str, Any]]]
    due: float
    decision: Decision


@dataclass
class _Filling:
    since: float
    batch: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class _Poller:
    """The Lambda side: the event source mapping's pollers and the scripted function."""

    def __init__(
        self,
        sc: Scenario,
        reports: dict[str, list[str | None]],
        clock: _Clock,
        recorder: Recorder,
        sqs: Any,
        src_url: str,
        dlq_url: str | None,
        visibility: int,
        visibility_scenario: float,
        step: float,
    ) -> None:
        self.sc = sc
        self.reports = reports
        self.clock = clock
        self.rec = recorder
        self.sqs = sqs
        self.src_url = src_url
        self.dlq_url = dlq_url
        cfg = sc.config
        self.batch_size = max(1, int(cfg["batch_size"]))
        self.window = float(cfg.get("maximum_batching_window_seconds") or 0)
        self.rbif = bool(cfg.get("report_batch_item_failures"))
        self.fifo = bool(cfg.get("fifo"))
        self.function_timeout = float(cfg["function_timeout_seconds"])
        self.retention = float(cfg["message_retention_seconds"])
        mc = cfg.get("maximum_concurrency")
        self.cap = int(mc) if mc else ESM_CONCURRENCY_CEILING
        rc = cfg.get("reserved_concurrency")
        self.reserved = None if rc is None else int(rc)
        self.visibility = visibility
        """The ``VisibilityTimeout`` given to moto (its units)."""
        self.visibility_scenario = visibility_scenario
        """The same in scenario seconds, for the driver's deadlines."""
        self.step = step
        self.attempts: dict[str, int] = {}
        self.arrived: dict[str, float] = {}
        self.order: dict[str, float] = {}
        self.groups: dict[str, str] = {}
        self.outstanding: set[str] = set()
        self.back_at: dict[str, float] = {}
        """When a received, undeleted message's visibility timeout ends (as the driver set it)."""
        self.dlq_seen: set[str] = set()
        self.expired: set[str] = set()
        self.delete_failures: list[str] = []
        self.pending: list[Item] = list(sc.items)
        self.running: list[_Run] = []
        self.filling: _Filling | None = None
        self.throttled = 0

    # -- sending ---------------------------------------------------------------

    def pump_arrivals(self) -> None:
        now = self.clock.now()
        while self.pending and self.pending[0].at <= now:
            self.send(self.pending.pop(0))

    def send(self, item: Item) -> None:
        kwargs: dict[str, Any] = {"QueueUrl": self.src_url, "MessageBody": json.dumps({"id": item.id})}
        if self.fifo:
            group = str(item.extra.get("group") or "default")
            kwargs["MessageGroupId"] = group
            kwargs["MessageDeduplicationId"] = item.id
            self.groups[item.id] = group
        self.sqs.send_message(**kwargs)
        t = self.clock.now()
        self.arrived[item.id] = t
        self.order[item.id] = float(len(self.order))
        self.outstanding.add(item.id)
        self.rec.add(t, "arrival", item=item.id)

    # -- receiving -------------------------------------------------------------

    def receive(self, want: int) -> list[tuple[str, dict[str, Any]]]:
        """One ``ReceiveMessage``; the DLQ moves it made are recorded before its receives."""
        t = self.clock.now()
        resp = self.sqs.receive_message(
            QueueUrl=self.src_url,
            MaxNumberOfMessages=want,
            MessageSystemAttributeNames=["All"],
            VisibilityTimeout=self.visibility,
            WaitTimeSeconds=0,
        )
        self.poll_dlq(t)  # moto redrives lazily inside ReceiveMessage, before it returns
        out = []
        for msg in resp.get("Messages", []):
            item = json.loads(msg["Body"])["id"]
            count = int(msg.get("Attributes", {}).get("ApproximateReceiveCount", "0"))
            self.rec.add(t, "receive", item=item, receive_count=count, detail={"message_id": msg["MessageId"]})
            self.back_at[item] = t + self.visibility_scenario
            out.append((item, msg))
        return out

    def next_batch(self) -> list[tuple[str, dict[str, Any]]]:
        """The batch to invoke now ([] if none): full, or once the batching window has passed."""
        now = self.clock.now()
        if self.filling is None:
            self.filling = _Filling(now)
        filling = self.filling
        while len(filling.batch) < self.batch_size:
            got = self.receive(min(10, self.batch_size - len(filling.batch)))
            if not got:
                break
            filling.batch.extend(got)
        if not filling.batch:
            self.filling = None
            return []
        if len(filling.batch) >= self.batch_size or self.window <= 0 or now >= filling.since + self.window:
            self.filling = None
            return filling.batch
        return []

    def poll_dlq(self, t: float | None = None) -> None:
        if not self.dlq_url:
            return
        at = self.clock.now() if t is None else t
        while True:
            resp = self.sqs.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=10,
                MessageSystemAttributeNames=["All"],
                VisibilityTimeout=DLQ_READ_VISIBILITY,
                WaitTimeSeconds=0,
            )
            msgs = resp.get("Messages", [])
            if not msgs:
                return
            for msg in msgs:
                item = json.loads(msg["Body"])["id"]
                attrs = msg.get("Attributes", {})
                if item in self.dlq_seen:
                    continue
                self.dlq_seen.add(item)
                self.outstanding.discard(item)
                self.rec.add(
                    at,
                    "sink",
                    items=[item],
                    sink="dlq",
                    condition=None,
                    approximate_invoke_count=None,
                    detail={
                        "message_id": msg["MessageId"],
                        "dlq_receive_count_after_driver_read": int(attrs.get("ApproximateReceiveCount", "0")),
                        "dead_letter_queue_source_arn": attrs.get("DeadLetterQueueSourceArn"),
                        "age_at_observation": round(at - self.arrived.get(item, at), 6),
                    },
                )

    def check_expiry(self) -> None:
        """Report items the queue dropped without a delete or a redrive."""
        now = self.clock.now()
        aged = sorted(
            (i for i in self.outstanding if now - self.arrived[i] >= self.retention),
            key=lambda i: self.arrived[i],
        )
        if not aged:
            return
        # moto computes each count of one GetQueueAttributes at a slightly different
        # instant, so (on a wall clock) a message turning visible in between is counted
        # in neither; two reads, keeping the larger, avoid calling that an expiry.
        # Messages moved to the DLQ but not read by the driver yet still count.
        present = max(self._count(self.src_url) for _ in range(2))
        if self.dlq_url:
            present += max(0, self._count(self.dlq_url) - len(self.dlq_seen))
        deficit = len(self.outstanding) - present
        for item in aged[: max(0, deficit)]:
            self.outstanding.discard(item)
            self.expired.add(item)
            self.rec.add(now, "expired", item=item, detail={"queue_count": present})

    def _count(self, url: str) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        names = (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
        return sum(int(attrs.get(n, 0)) for n in names)

    # -- invoking --------------------------------------------------------------

    def dispatch(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        t0 = self.clock.now()
        items = [i for i, _ in batch]
        entries: dict[str, Entry] = {}
        for item in items:
            self.attempts[item] = self.attempts.get(item, 0) + 1
            step = self.sc.handler.step(item, self.attempts[item])
            report = report_for(self.reports, item, self.attempts[item])
            entries[item] = Entry(step.result, step.duration or 0.0, report)
        decision = decide(
            items,
            entries,
            report_batch_item_failures=self.rbif,
            function_timeout=self.function_timeout,
            groups=self.groups if self.fifo else None,
            order=self.order,
        )
        detail: dict[str, Any] = {"attempts": {i: self.attempts[i] for i in items}}
        if self.reserved is not None and len(self.running) >= self.reserved:
            detail["cause"] = f"reserved concurrency {self.reserved} in use"
            self.throttled += 1
            self.rec.add(t0, "throttle", items=items, detail=detail)
            return  # not deleted: back after the visibility timeout
        if decision.kind != "run":
            detail["cause"] = "scripted"
            self.rec.add(t0, decision.kind, items=items, detail=detail)
            return
        detail.update({"duration": decision.duration, "response": decision.response})
        fields: dict[str, Any] = {"items": items, "result": decision.result}
        if decision.result == "partial":
            fields["failed_items"] = list(decision.failed)
            if decision.response == "listed":
                detail["listed"] = list(decision.listed)
        self.rec.add(t0, "invocation", detail=detail, **fields)
        self.running.append(_Run(batch, t0 + decision.duration, decision))

    def finish_due(self) -> None:
        now = self.clock.now()
        for run in [r for r in self.running if r.due <= now]:
            self.running.remove(run)
            self.finish(run)

    def finish(self, run: _Run) -> None:
        for item, msg in run.batch:
            if item not in run.decision.delete:
                continue
            try:
                self.sqs.delete_message(QueueUrl=self.src_url, ReceiptHandle=msg["ReceiptHandle"])
            except Exception as exc:  # a stale receipt handle is an observation, not a crash
                self.delete_failures.append(f"{item}: {one_line(exc)}")
                continue
            self.outstanding.discard(item)
            self.back_at.pop(item, None)
            self.rec.add(self.clock.now(), "delete", item=item)

    def poll(self) -> None:
        """Everything that happens at this instant: runs that end, then receives while there is room."""
        self.finish_due()
        while len(self.running) < self.cap:
            batch = self.next_batch()
            if not batch:
                return
            self.dispatch(batch)
            self.finish_due()  # a run of no duration ends at once

    # -- time --------------------------------------------------------------------

    def settled(self) -> bool:
        return not (self.pending or self.running or self.filling or self.outstanding)

    def next_wake(self) -> float:
        now = self.clock.now()
        times = [now + self.step, self.sc.until]
        times += [p.at for p in self.pending[:1]]
        times += [r.due for r in self.running]
        if self.filling is not None:
            times.append(self.filling.since + self.window)
        for item in self.outstanding:
            times.append(self.arrived[item] + self.retention + JUST_AFTER)
            if item in self.back_at:
                times.append(self.back_at[item] + JUST_AFTER)
        return min(t for t in times if t > now) if any(t > now for t in times) else now + self.step


def _drive(
    sc: Scenario,
    reports: dict[str, list[str | None]],
    clock: _Clock,
    clock_mode: str,
    recorder: Recorder,
    knobs: dict[str, Any],
) -> None:
    import boto3

    cfg = sc.config
    ts = clock.time_scale
    vt_scenario = float(cfg["visibility_timeout_seconds"])
    window = float(cfg.get("maximum_batching_window_seconds") or 0)
    ft = float(cfg["function_timeout_seconds"])
    effective_vt = vt_scenario
    if window > 0 and window + ft > vt_scenario:
        effective_vt = window + ft + EFFECTIVE_VISIBILITY_MARGIN
    vt = _moto_seconds("visibility_timeout_seconds", vt_scenario, clock_mode, ts)
    visibility = _moto_seconds("effective visibility timeout", effective_vt, clock_mode, ts)
    retention = _moto_seconds("message_retention_seconds", float(cfg["message_retention_seconds"]), clock_mode, ts)
    fifo = bool(cfg.get("fifo"))
    mrc = cfg.get("max_receive_count")
    results = sc.handler.all_results(sc.item_ids())

    sqs = boto3.client(
        "sqs",
        region_name=ACCOUNT_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    suffix = ".fifo" if fifo else ""
    fifo_attrs = {"FifoQueue": "true"} if fifo else {}
    dlq_url: str | None = None
    src_attrs: dict[str, str] = {
        "VisibilityTimeout": str(vt),
        "MessageRetentionPeriod": str(retention),
        **fifo_attrs,
    }
    if mrc is not None:
        dlq_url = sqs.create_queue(
            QueueName=f"dlq{suffix}",
            Attributes={"MessageRetentionPeriod": "1209600", **fifo_attrs},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        src_attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": int(mrc)})
    src_url = sqs.create_queue(QueueName=f"src{suffix}", Attributes=src_attrs)["QueueUrl"]

    if clock_mode == "virtual":
        step = VIRTUAL_STEP_SECONDS
    else:
        step = max(MIN_POLL_INTERVAL_WALL / ts, POLL_INTERVAL_SCENARIO_SECONDS)
    # Effective visibility in the driver's own (scenario) seconds, for its deadlines.
    visibility_scenario = visibility / ts if clock_mode == "wall" else float(visibility)
    poller = _Poller(sc, reports, clock, recorder, sqs, src_url, dlq_url, visibility, visibility_scenario, step)
    knobs.update(
        {
            "boto3": package_version("boto3"),
            "clock": {
                "virtual": "virtual: moto.sqs.models.unix_time/unix_time_millis patched to a scenario clock the "
                f"driver advances (to each deadline, at most {VIRTUAL_STEP_SECONDS:g} s at once)",
                "scaled": "scaled: moto.sqs.models.unix_time/unix_time_millis patched to scenario seconds",
                "wall": "wall: moto unpatched, durations given to moto in whole wall seconds",
            }[clock_mode],
            "queue": {
                "fifo": fifo,
                "VisibilityTimeout": vt,
                "ReceiveMessage.VisibilityTimeout": visibility,
                "MessageRetentionPeriod": retention,
                "maxReceiveCount": mrc,
                "units": "wall seconds" if clock_mode == "wall" else "scenario seconds",
            },
            "poller": {
                "played_by": "the driver (moto's own ESM is not used)",
                "concurrent_batches": poller.cap,
                "reserved_concurrency": poller.reserved,
                "poll_step_seconds": step,
                "receive": "ReceiveMessage WaitTimeSeconds=0 with the effective visibility timeout",
                "batch_size": poller.batch_size,
                "maximum_batching_window_seconds": poller.window,
                "report_batch_item_failures": poller.rbif,
                "function_timeout_seconds": poller.function_timeout,
                "step_per_item_per_receive": True,
            },
            "dlq_read": f"ReceiveMessage VisibilityTimeout={DLQ_READ_VISIBILITY} after every source receive",
            "ignored_config": sorted(set(sc.unknown_config) - {"reserved_concurrency"}),
            "results_used": sorted(results),
        }
    )

    clock.restart()
    while clock.now() < sc.until:
        clock.check("polling the queue")
        poller.pump_arrivals()
        poller.poll()
        if poller.settled():
            break
        poller.check_expiry()
        nxt = min(poller.next_wake(), sc.until)
        clock.sleep_until(nxt, "polling the queue")
    poller.poll_dlq()
    poller.check_expiry()
    knobs["throttled_batches"] = poller.throttled
    knobs["delete_failures"] = poller.delete_failures
    knobs["outstanding_at_end"] = sorted(poller.outstanding)
    knobs["ended_at"] = round(clock.now(), 6)
