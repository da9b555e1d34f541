"""moto peer: SQS-level facts of an ``sqs_poll`` scenario, driven in-process.

moto's Lambda side cannot act as a retry peer (conformance-peers.md §2.2: its
ESM is a synchronous push inside ``SendMessage``, failed batches come back at
once, ``ReportBatchItemFailures`` is ignored).  So this driver *is* the poller:
it creates the queue (standard or FIFO, visibility timeout, retention, a
redrive policy to a DLQ of the same kind), sends each item at its ``at`` time,
and loops ``ReceiveMessage`` → scripted handler → ``DeleteMessage``, the way
the Lambda SQS poller does.  What moto decides is recorded: which messages a
receive returns, their ``ApproximateReceiveCount``, when a message is moved to
the DLQ, whether a message expires.

Time.  moto reads the clock through ``moto.sqs.models.unix_time`` /
``unix_time_millis`` (visibility, delays, retention, receive timestamps all go
through them) and takes ``VisibilityTimeout`` / ``MessageRetentionPeriod`` as
integer seconds.  With ``clock="scaled"`` (default) those two functions are
patched, for the duration of the run only, to return
``epoch_at_start + scenario_seconds``: moto then runs in scenario seconds on a
wall clock sped up by ``1 / time_scale``, so a 30 s visibility timeout takes
``30 * time_scale`` wall seconds and every integer value stays exact.  moto's
own logic is untouched.  With ``clock="wall"`` nothing is patched and every
scenario duration given to moto must scale to whole wall seconds
(``value * time_scale`` an integer), else ``UnsupportedScenarioError``.

What the driver adds (the Lambda side, not moto): one poller, sequential
batches (``maximum_concurrency`` is recorded as ignored); the batching window
as repeated receives; a function that runs longer than
``function_timeout_seconds`` is recorded as ``timeout`` after that time;
``throttle`` / ``service_error`` steps leave the batch in flight (not deleted)
without running the function.  A step is consumed for every item of a batch on
every attempt, throttled or not.

Observations: ``arrival`` (send), ``receive`` (with moto's receive count),
``invocation``/``throttle``/``service_error``, ``delete`` (a successful
``DeleteMessage``), ``sink`` with ``sink="dlq"`` when a message is seen in the
DLQ (polled right after each source receive, which is when moto redrives), and
``expired`` if the queue's message count drops below the messages the driver
knows are outstanding.  ``visible`` is not observable through the API and is
not emitted.  The DLQ is read with ``ReceiveMessage`` (VisibilityTimeout
43200), so the DLQ ``ApproximateReceiveCount`` in ``detail`` includes that read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import INSTALL_HINT, PeerError, UnsupportedScenarioError
from ._common import (
    Item,
    Recorder,
    Scenario,
    ScenarioClock,
    Step,
    finish_trace,
    is_whole,
    make_header,
    one_line,
    package_version,
    parse_scenario,
)

PEER = "moto"
POLL_INTERVAL_SCENARIO_SECONDS = 0.1
"""How long the poller idles after an empty receive (scenario seconds)."""
MIN_POLL_INTERVAL_WALL = 0.002
DLQ_READ_VISIBILITY = 43200
ACCOUNT_REGION = "us-east-1"


def available() -> str | None:
    try:
        import boto3  # noqa: F401
        import moto
        import moto.sqs.models  # noqa: F401
        from moto import mock_aws  # noqa: F401
    except ImportError as exc:
        return f"moto is not installed ({exc.name}): {INSTALL_HINT}"
    return None


@contextmanager
def _scaled_moto_clock(clock: ScenarioClock) -> Iterator[None]:
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
    value = scenario_value if clock_mode == "scaled" else scenario_value * time_scale
    if not is_whole(value) or value < 0:
        where = "scenario seconds" if clock_mode == "scaled" else f"wall seconds at time_scale {time_scale:g}"
        raise UnsupportedScenarioError(f"moto takes whole seconds only: {name}={scenario_value:g} is {value:g} {where}")
    return round(value)


def run_scenario(
    scenario: dict[str, Any],
    *,
    time_scale: float,
    deadline_seconds: float,
    clock: str = "scaled",
) -> list[dict[str, Any]]:
    """Run an ``sqs_poll`` scenario against moto's SQS; return the observed trace."""
    missing = available()
    if missing:
        raise PeerError(missing)
    if clock not in ("scaled", "wall"):
        raise ValueError(f"clock must be 'scaled' or 'wall', got {clock!r}")
    sc = parse_scenario(scenario, ["sqs_poll"], PEER)
    sclock = ScenarioClock(time_scale, deadline_seconds, PEER)
    need = sc.until * time_scale
    if need >= deadline_seconds:
        raise PeerError(
            f"moto: scenario needs {need:.1f} s wall (until={sc.until:g} x time_scale={time_scale:g}) "
            f"but the deadline is {deadline_seconds:g} s"
        )
    from moto import mock_aws

    recorder = Recorder()
    knobs: dict[str, Any] = {}
    try:
        with mock_aws():
            if clock == "scaled":
                with _scaled_moto_clock(sclock):
                    _drive(sc, sclock, clock, recorder, knobs)
            else:
                _drive(sc, sclock, clock, recorder, knobs)
    except PeerError:
        raise
    except Exception as exc:  # moto or botocore blew up: one line for the report
        raise PeerError(f"moto crashed: {one_line(exc)}") from exc
    header = make_header("sqs_poll", f"moto {package_version('moto')}", time_scale, knobs)
    return finish_trace(header, recorder)


class _Poller:
    """The Lambda-side poller the driver plays, one sequential consumer."""

    def __init__(
        self,
        sc: Scenario,
        clock: ScenarioClock,
        recorder: Recorder,
        sqs: Any,
        src_url: str,
        dlq_url: str | None,
    ) -> None:
        self.sc = sc
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
        self.attempts: dict[str, int] = {}
        self.arrived: dict[str, float] = {}
        self.outstanding: set[str] = set()
        self.dlq_seen: set[str] = set()
        self.poll_wall = max(MIN_POLL_INTERVAL_WALL, POLL_INTERVAL_SCENARIO_SECONDS * clock.time_scale)
        self.delete_failures: list[str] = []
        self.pending: list[Item] = list(sc.items)

    # -- waiting (arrivals keep their times while the handler "runs") ---------

    def pump_arrivals(self) -> None:
        now = self.clock.now()
        while self.pending and self.pending[0].at <= now:
            self.send(self.pending.pop(0))

    def wait_until(self, scenario_t: float, doing: str) -> None:
        while True:
            self.pump_arrivals()
            left = scenario_t - self.clock.now()
            if left <= 0:
                return
            self.clock.sleep(min(self.poll_wall, self.clock.wall(left)), doing)

    # -- sending ---------------------------------------------------------------

    def send(self, item: Item) -> None:
        kwargs: dict[str, Any] = {"QueueUrl": self.src_url, "MessageBody": json.dumps({"id": item.id})}
        if self.fifo:
            kwargs["MessageGroupId"] = str(item.extra.get("group") or "default")
            kwargs["MessageDeduplicationId"] = item.id
        self.sqs.send_message(**kwargs)
        t = self.clock.now()
        self.arrived[item.id] = t
        self.outstanding.add(item.id)
        self.rec.add(t, "arrival", item=item.id)

    # -- receiving -------------------------------------------------------------

    def receive_batch(self) -> list[tuple[str, dict[str, Any]]]:
        """One poll: up to batch_size messages, filling for the batching window."""
        batch: list[tuple[str, dict[str, Any]]] = []
        window_end = self.clock.now() + self.window
        while True:
            want = min(10, self.batch_size - len(batch))
            resp = self.sqs.receive_message(
                QueueUrl=self.src_url,
                MaxNumberOfMessages=want,
                MessageSystemAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            t = self.clock.now()
            for msg in resp.get("Messages", []):
                item = json.loads(msg["Body"])["id"]
                count = int(msg.get("Attributes", {}).get("ApproximateReceiveCount", "0"))
                self.rec.add(
                    t,
                    "receive",
                    item=item,
                    receive_count=count,
                    detail={"message_id": msg["MessageId"]},
                )
                batch.append((item, msg))
            # moto redrives lazily inside ReceiveMessage: look at the DLQ now.
            self.poll_dlq()
            if len(batch) >= self.batch_size or self.window <= 0 or self.clock.now() >= window_end:
                return batch
            self.wait_until(
                min(window_end, self.clock.now() + self.poll_wall / self.clock.time_scale), "filling a batching window"
            )

    def poll_dlq(self) -> None:
        if not self.dlq_url:
            return
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
            t = self.clock.now()
            for msg in msgs:
                item = json.loads(msg["Body"])["id"]
                attrs = msg.get("Attributes", {})
                if item in self.dlq_seen:
                    continue
                self.dlq_seen.add(item)
                self.outstanding.discard(item)
                self.rec.add(
                    t,
                    "sink",
                    items=[item],
                    sink="dlq",
                    condition=None,
                    approximate_invoke_count=None,
                    detail={
                        "message_id": msg["MessageId"],
                        "dlq_receive_count_after_driver_read": int(attrs.get("ApproximateReceiveCount", "0")),
                        "dead_letter_queue_source_arn": attrs.get("DeadLetterQueueSourceArn"),
                        "age_at_observation": round(t - self.arrived.get(item, t), 6),
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
        # moto computes each count of one GetQueueAttributes at a slightly
        # different instant, so a message turning visible in between is counted
        # in neither; two reads a moment apart, keeping the larger, avoid
        # calling that an expiry.  Messages moved to the DLQ but not read by the
        # driver yet still count as present.
        present = max(self._count(self.src_url) for _ in range(2))
        if self.dlq_url:
            present += max(0, self._count(self.dlq_url) - len(self.dlq_seen))
        deficit = len(self.outstanding) - present
        for item in aged[: max(0, deficit)]:
            self.outstanding.discard(item)
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

    def process(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        items = [i for i, _ in batch]
        steps: dict[str, Step] = {}
        for item in items:
            self.attempts[item] = self.attempts.get(item, 0) + 1
            steps[item] = self.sc.handler.step(item, self.attempts[item])
        t0 = self.clock.now()
        results = {s.result for s in steps.values()}
        detail: dict[str, Any] = {"attempts": {i: self.attempts[i] for i in items}}
        if "throttle" in results or "service_error" in results:
            kind = "throttle" if "throttle" in results else "service_error"
            self.rec.add(t0, kind, items=items, detail=detail)
            return  # not deleted: back after the visibility timeout
        ft = self.function_timeout
        durations = [s.duration or 0.0 for s in steps.values()]
        duration = max(durations, default=0.0)
        failed: list[str] = []
        if "timeout" in results or duration > ft:
            result, duration = "timeout", ft
        elif "oom" in results:
            result = "oom"
        elif "error" in results:
            failed = [i for i in items if steps[i].result == "error"]
            result = "partial" if self.rbif else "error"
        else:
            result = "ok"
        detail["duration"] = duration
        fields: dict[str, Any] = {"items": items, "result": result}
        if result == "partial":
            fields["failed_items"] = failed
        self.rec.add(t0, "invocation", detail=detail, **fields)
        self.wait_until(t0 + duration, "running the scripted handler")
        if result == "ok":
            to_delete = batch
        elif result == "partial":
            to_delete = [(i, m) for i, m in batch if i not in failed]
        else:
            to_delete = []
        for item, msg in to_delete:
            try:
                self.sqs.delete_message(QueueUrl=self.src_url, ReceiptHandle=msg["ReceiptHandle"])
            except Exception as exc:  # a stale receipt handle is an observation, not a crash
                self.delete_failures.append(f"{item}: {one_line(exc)}")
                continue
            self.outstanding.discard(item)
            self.rec.add(self.clock.now(), "delete", item=item)


def _drive(sc: Scenario, clock: ScenarioClock, clock_mode: str, recorder: Recorder, knobs: dict[str, Any]) -> None:
    import boto3

    cfg = sc.config
    ts = clock.time_scale
    vt = _moto_seconds("visibility_timeout_seconds", float(cfg["visibility_timeout_seconds"]), clock_mode, ts)
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

    poller = _Poller(sc, clock, recorder, sqs, src_url, dlq_url)
    knobs.update(
        {
            "boto3": package_version("boto3"),
            "clock": (
                "scaled: moto.sqs.models.unix_time/unix_time_millis patched to scenario seconds"
                if clock_mode == "scaled"
                else "wall: moto unpatched, durations given to moto in whole wall seconds"
            ),
            "queue": {
                "fifo": fifo,
                "VisibilityTimeout": vt,
                "MessageRetentionPeriod": retention,
                "maxReceiveCount": mrc,
                "units": "scenario seconds" if clock_mode == "scaled" else "wall seconds",
            },
            "poller": {
                "consumers": 1,
                "poll_interval_seconds": POLL_INTERVAL_SCENARIO_SECONDS,
                "receive": "ReceiveMessage WaitTimeSeconds=0, queue default visibility timeout",
                "batch_size": poller.batch_size,
                "maximum_batching_window_seconds": poller.window,
                "report_batch_item_failures": poller.rbif,
                "function_timeout_seconds": poller.function_timeout,
                "step_per_item_per_attempt": True,
            },
            "dlq_read": f"ReceiveMessage VisibilityTimeout={DLQ_READ_VISIBILITY} after every source receive",
            "ignored_config": sorted(
                {*sc.unknown_config, *(["maximum_concurrency"] if cfg.get("maximum_concurrency") else [])}
            ),
            "results_used": sorted(results),
        }
    )

    clock.restart()
    while clock.now() < sc.until:
        clock.check("polling the queue")
        poller.pump_arrivals()
        batch = poller.receive_batch()
        if batch:
            poller.process(batch)
        else:
            poller.check_expiry()
            nxt = min([p.at for p in poller.pending[:1]] + [sc.until])
            poller.wait_until(min(nxt, clock.now() + POLL_INTERVAL_SCENARIO_SECONDS), "polling the queue")
    poller.poll_dlq()
    poller.check_expiry()
    knobs["delete_failures"] = poller.delete_failures
    knobs["outstanding_at_end"] = sorted(poller.outstanding)
