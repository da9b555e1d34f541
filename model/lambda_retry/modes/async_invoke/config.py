"""Settings of asynchronous invocation: AWS's, with their ranges and defaults, and the modelling switches."""

from __future__ import annotations

from dataclasses import dataclass

from lambda_retry.settings import (
    boolean,
    int_list,
    int_range,
    one_of,
    setting,
    subset_of,
)
from lambda_retry.spec import Time

SINKS = ("dlq", "on_failure", "on_success")
DLQ_TARGETS = ("sqs", "sns")
ON_FAILURE_TARGETS = ("sqs", "sns", "lambda", "eventbridge", "s3")
ON_SUCCESS_TARGETS = ("sqs", "sns", "lambda", "eventbridge")
FAILURE_RESULTS = ("error", "timeout", "oom")
REJECTIONS = ("throttle", "service_error")


@dataclass(frozen=True)
class Environment:
    """What the world outside Lambda may do.  Bounds the explorer; scenarios open it fully."""

    results: tuple[str, ...] = ("ok", "error")
    """Handler results the environment may choose: ``ok``, ``error``, ``timeout``, ``oom``."""
    run_durations: tuple[Time, ...] = (0,)
    """How long a run may take, in virtual seconds."""
    rejections: tuple[str, ...] = ("throttle",)
    """Rejections before the function runs that may happen: ``throttle``, ``service_error``."""
    rejections_per_event: int = 0
    """How many times one event may be rejected before running (a bound for the explorer)."""
    duplicates_per_event: int = 0
    """How many duplicate deliveries of one event the internal queue may make (at least once)."""


UNBOUNDED = Environment(
    results=("ok",) + FAILURE_RESULTS,
    rejections=REJECTIONS,
    rejections_per_event=10**9,
    duplicates_per_event=10**9,
)


@dataclass(frozen=True)
class Config:
    """Asynchronous invocation settings (``PutFunctionEventInvokeConfig`` and the function's DLQ)."""

    maximum_retry_attempts: int = setting(
        2, int_range(0, 2), "an integer from 0 to 2",
        aws="MaximumRetryAttempts",
        doc="Retries after a function error; the first run is not counted.",
        ref="[BC-LAMBDA][ASYNC-CFG]",
    )
    maximum_event_age_seconds: int = setting(
        21600, int_range(60, 21600), "an integer from 60 to 21600",
        aws="MaximumEventAgeInSeconds",
        doc="An event this old or older is never run again; it fails with EventAgeExceeded.",
        ref="[BC-LAMBDA][ASYNC-CFG]",
    )
    retry_delays_seconds: tuple[int, ...] = setting(
        (60, 120), int_list(1, 21600, min_len=1, max_len=2), "a list of 1 or 2 integers from 1 to 21600",
        doc="Wait before retry 1 and retry 2 (the last entry repeats). AWS documents about 1 minute, then 2.",
        ref="[ASYNC-EH]",
    )
    dead_letter_queue: str | None = setting(
        None, one_of(*DLQ_TARGETS, nullable=True), "null, \"sqs\" or \"sns\"",
        aws="DeadLetterConfig.TargetArn",
        doc="The function's dead-letter queue, if any.",
        ref="[ASYNC-2023][BC-LAMBDA]",
    )
    on_failure: str | None = setting(
        None, one_of(*ON_FAILURE_TARGETS, nullable=True),
        "null, \"sqs\", \"sns\", \"lambda\", \"eventbridge\" or \"s3\"",
        aws="DestinationConfig.OnFailure",
        doc="The OnFailure destination, if any.",
        ref="[PFEIC][ASYNC-REC]",
    )
    on_success: str | None = setting(
        None, one_of(*ON_SUCCESS_TARGETS, nullable=True),
        "null, \"sqs\", \"sns\", \"lambda\" or \"eventbridge\" (not s3)",
        aws="DestinationConfig.OnSuccess",
        doc="The OnSuccess destination, if any.",
        ref="[PFEIC][ONS]",
    )
    reserved_concurrency: int | None = setting(
        None, int_range(0, None, nullable=True), "null or an integer >= 0",
        aws="ReservedConcurrentExecutions",
        doc="0 sends every event straight to the failure sinks without running it.",
        ref="[ASYNC-2023]",
    )
    failing_sinks: tuple[str, ...] = setting(
        (), subset_of(*SINKS), "a list drawn from \"dlq\", \"on_failure\", \"on_success\"",
        doc="Sinks whose delivery fails (permissions, size, FIFO target): the record is lost for that sink.",
        ref="[ASYNC-2023][METRICS]",
    )
    failure_to_both_sinks: bool = setting(
        True, boolean, "true or false", switch=True,
        doc="⚠ When both a DLQ and an OnFailure destination are set, both receive the failed event "
        "(false: only OnFailure, as MiniStack does).",
        ref="[PFEIC] §14.3",
    )
    throttles_consume_retries: bool = setting(
        False, boolean, "true or false", switch=True,
        doc="⚠ A throttle or 5xx before the run uses up a retry attempt (AWS: inferred not).",
        ref="[ASYNC-EH][ASYNC-CFG] §14.2",
    )
    retry_delay_anchor: str = setting(
        "failure", one_of("failure", "attempt_start"), "\"failure\" or \"attempt_start\"", switch=True,
        doc="⚠ Whether a retry delay is counted from the failure or from the start of the failed run.",
        ref="[ASYNC-EH] §14.1",
    )
    event_age_check: str = setting(
        "look_ahead", one_of("look_ahead", "when_due"), "\"look_ahead\" or \"when_due\"", switch=True,
        doc="⚠ look_ahead: fail with EventAgeExceeded as soon as the next attempt would be too old "
        "(what AWS's recorded runs show); when_due: fail when that attempt comes due.",
        ref="[ASYNC-CFG] conformance-peers §1.3",
    )
    env: Environment = Environment()

    def delay_before_retry(self, retry: int) -> int:
        """The wait before retry number ``retry`` (1-based)."""
        delays = self.retry_delays_seconds
        return delays[min(retry, len(delays)) - 1]

    @property
    def failure_sinks(self) -> tuple[str, ...]:
        """The failure sinks that receive a failed event, in delivery order."""
        if self.dead_letter_queue and self.on_failure:
            return ("dlq", "on_failure") if self.failure_to_both_sinks else ("on_failure",)
        if self.dead_letter_queue:
            return ("dlq",)
        if self.on_failure:
            return ("on_failure",)
        return ()
