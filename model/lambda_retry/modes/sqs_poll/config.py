"""Settings of SQS polling: the queue's, the event source mapping's and the function's, with AWS's
ranges and defaults, and the modelling switches for what AWS does not document."""

from __future__ import annotations

from dataclasses import dataclass

from lambda_retry.settings import boolean, int_range, setting
from lambda_retry.spec import Time

FUNCTION_ERRORS = ("error", "timeout", "oom")
"""Run results that fail the whole batch: the function threw, timed out or ran out of memory."""
RUN_RESULTS = ("ok", *FUNCTION_ERRORS, "invalid_response", "partial")
"""What the environment may make of a batch's run (see :class:`Environment`)."""
RESPONSES = ("failed_and_rest_of_group", "failed_only", "swallow")
"""How a handler reports the messages it failed on, when it does not throw."""
REJECTIONS = ("throttle", "service_error")
MAX_ESM_CONCURRENCY = 1000
"""Concurrent batches of one SQS event source mapping, without MaximumConcurrency [SQS-SCALE]."""
EFFECTIVE_VISIBILITY_MARGIN = 30
"""Seconds Lambda adds when the batching window plus the function timeout exceed the visibility timeout."""


@dataclass(frozen=True)
class Environment:
    """What the world outside Lambda and SQS may do.  Bounds the explorer; scenarios open it fully."""

    results: tuple[str, ...] = ("ok", "error")
    """What a batch's run may end with: ``ok``; ``error`` (the function throws), ``timeout``,
    ``oom`` (no response at all); ``invalid_response`` (a malformed partial batch response);
    ``partial`` (the handler fails some messages and says so in a partial batch response, as
    ``responses`` allow)."""
    responses: tuple[str, ...] = ("failed_and_rest_of_group",)
    """How a handler that fails some messages answers without throwing: it lists the failed
    messages and, in a FIFO queue, the later messages of their groups that it did not process
    (``failed_and_rest_of_group``, the documented contract); only the failed ones
    (``failed_only``, the FIFO bug); or nothing at all (``swallow``, the error is lost)."""
    run_durations: tuple[Time, ...] = (0,)
    """How long a run may take, in virtual seconds (never more than the function timeout)."""
    rejections: tuple[str, ...] = ("throttle",)
    """Rejections before the function runs that the environment may cause: ``throttle``, ``service_error``."""
    rejections_per_message: int = 0
    """How many of a message's receives the environment may throttle (a bound for the explorer);
    throttles caused by reserved concurrency are the service's and are not bounded."""
    duplicates_per_message: int = 0
    """How many duplicate deliveries a standard queue may make of one message (at least once)."""
    max_failed_per_batch: int = 10**9
    """The most messages of one batch a partial batch response may fail (a bound for the explorer)."""
    failing: tuple[tuple[bool, ...], ...] | None = None
    """When a script decides (scenarios): per message, whether the handler fails on it at its 1st,
    2nd, … receive (the last entry repeats); ``None`` lets any set of a batch's messages fail (the
    explorer)."""

    def fails(self, message: int, receive: int) -> bool:
        """Whether the script makes the handler fail on ``message`` at its ``receive``-th receive (0-based)."""
        assert self.failing is not None
        seq = self.failing[message]
        return seq[min(receive, len(seq) - 1)]


UNBOUNDED = Environment(
    results=RUN_RESULTS,
    responses=RESPONSES,
    rejections=REJECTIONS,
    rejections_per_message=10**9,
    duplicates_per_message=10**9,
)


@dataclass(frozen=True)
class Config:
    """An SQS queue, the event source mapping polling it and the function it invokes."""

    visibility_timeout_seconds: int = setting(
        30, int_range(0, 43200), "an integer from 0 to 43200",
        aws="VisibilityTimeout",
        doc="How long a received message stays invisible to other receives.",
        ref="[BC-SQS]",
    )
    message_retention_seconds: int = setting(
        345600, int_range(60, 1209600), "an integer from 60 to 1209600",
        aws="MessageRetentionPeriod",
        doc="A message this old that was neither deleted nor moved disappears (reported as expired).",
        ref="[BC-SQS]",
    )
    max_receive_count: int | None = setting(
        None, int_range(1, None, nullable=True), "null (no redrive policy) or an integer >= 1",
        aws="RedrivePolicy.maxReceiveCount",
        doc="With a redrive policy, SQS moves a message to the dead-letter queue (of the same kind) "
        "on the receive after this many receives. Lambda recommends at least 5.",
        ref="[BC-SQS][SQS-2023]",
    )
    fifo: bool = setting(
        False, boolean, "true or false",
        aws="FifoQueue",
        doc="A FIFO queue: messages carry a group, are delivered in order within it, and never twice.",
        ref="[BC-SQS][SQS-SCALE]",
    )
    batch_size: int = setting(
        10, int_range(1, 10000), "an integer from 1 to 10000 (at most 10 for a FIFO queue)",
        aws="BatchSize",
        doc="The most messages one invocation is given. Above 10 needs a batching window of at least 1 s.",
        ref="[BC-LAMBDA][SQS-PARAMS]",
    )
    maximum_batching_window_seconds: int = setting(
        0, int_range(0, 300), "an integer from 0 to 300 (0 for a FIFO queue)",
        aws="MaximumBatchingWindowInSeconds",
        doc="How long the poller may wait to fill a batch; it invokes when the batch is full or the "
        "window ends, whichever comes first.",
        ref="[BC-LAMBDA][ESM-2023][SQS-PARAMS]",
    )
    report_batch_item_failures: bool = setting(
        False, boolean, "true or false",
        aws="FunctionResponseTypes: [\"ReportBatchItemFailures\"]",
        doc="Honour partial batch responses: only the messages the function lists come back. "
        "Without it, a partial response is ignored and every message is deleted.",
        ref="[SQS-ERR][SQS-2023]",
    )
    maximum_concurrency: int | None = setting(
        None, int_range(2, 1000, nullable=True), "null or an integer from 2 to 1000",
        aws="ScalingConfig.MaximumConcurrency",
        doc="The most batches the mapping runs at once (without it: up to 1000). Keeps the poller "
        "from receiving what the function cannot run.",
        ref="[SCALINGCFG][SQS-SCALE][ZC-2019]",
    )
    function_timeout_seconds: int = setting(
        3, int_range(1, 900), "an integer from 1 to 900",
        aws="Timeout",
        doc="The function's timeout; it must not exceed the visibility timeout.",
        ref="[BC-LAMBDA][SQS-CFG]",
    )
    reserved_concurrency: int | None = setting(
        None, int_range(0, None, nullable=True), "null or an integer >= 0",
        aws="ReservedConcurrentExecutions",
        doc="The most runs of the function at once. The poller does not take it into account: a batch "
        "received beyond it is throttled, yet its receive counts.",
        ref="[KC-SQSSCALE][ZC-2019]",
    )
    function_timeout_validated: bool = setting(
        True, boolean, "true or false", switch=True,
        doc="⚠ Lambda rejects a function timeout above the visibility timeout, but only when the mapping "
        "is created or updated (false: the timeout was raised later and not re-checked, so a run may "
        "outlive its messages' visibility timeout).",
        ref="[SQS-CFG][I-TF-18099] §12.5 Q7 §14.10",
    )
    service_error_runs_function: bool = setting(
        False, boolean, "true or false", switch=True,
        doc="⚠ A Lambda service error (5xx) on an SQS batch is not documented separately: false treats "
        "it like a throttle (the function did not run); true counts it as a run that failed.",
        ref="§1.5",
    )
    env: Environment = Environment()

    def validate(self) -> str | None:
        vt, ft = self.visibility_timeout_seconds, self.function_timeout_seconds
        if self.function_timeout_validated and ft > vt:
            return (f"InvalidParameterValueException: Queue visibility timeout: {vt} seconds is less than "
                    f"Function timeout: {ft} seconds (visibility_timeout_seconds must be >= "
                    f"function_timeout_seconds)")
        if vt == 0:
            return ("visibility_timeout_seconds: 0 would let a failed message be received again in no time; "
                    "the model needs at least 1")
        if self.fifo and self.batch_size > 10:
            return f"batch_size: {self.batch_size} is too large for a FIFO queue; allowed: 1 to 10"
        if self.fifo and self.maximum_batching_window_seconds:
            return ("maximum_batching_window_seconds: a FIFO queue does not support a batching window; "
                    "allowed: 0")
        if self.batch_size > 10 and self.maximum_batching_window_seconds < 1:
            return (f"batch_size: {self.batch_size} is above 10, which needs "
                    f"maximum_batching_window_seconds of at least 1")
        return None

    @property
    def effective_visibility_seconds(self) -> int:
        """How long a received message stays invisible: the visibility timeout, or, when the batching
        window plus the function timeout exceed it, that sum plus 30 s [SQS-2023] §12.5 Q12."""
        window, ft = self.maximum_batching_window_seconds, self.function_timeout_seconds
        vt = self.visibility_timeout_seconds
        if window > 0 and window + ft > vt:
            return window + ft + EFFECTIVE_VISIBILITY_MARGIN
        return vt

    @property
    def concurrency_cap(self) -> int:
        """The most batches the mapping runs at once."""
        return self.maximum_concurrency if self.maximum_concurrency is not None else MAX_ESM_CONCURRENCY
