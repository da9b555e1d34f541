"""Settings of a stream event source mapping (Kinesis Data Streams, DynamoDB Streams).

AWS's settings carry AWS's ranges and defaults; the ⚠ behaviours the documentation leaves open
are named modelling switches with a documented default.
"""

from __future__ import annotations

from dataclasses import dataclass

from lambda_retry.settings import boolean, int_list, int_range, one_of, setting
from lambda_retry.spec import Time

SOURCES = ("kinesis", "dynamodb")
ON_FAILURE_TARGETS = ("sqs", "sns", "s3")
FUNCTION_DLQ_TARGETS = ("sqs", "sns")
FUNCTION_ERRORS = ("error", "timeout", "oom")
"""Results that fail the whole batch: the handler throws, or the runtime kills it."""
INVALID_REPORT = "invalid_report"
"""A ``batchItemFailures`` response Lambda cannot use (empty or null identifier, bad key)."""
REPORT = "report"
"""A valid ``batchItemFailures`` response naming at least one record."""
REJECTIONS = ("throttle", "service_error")
DYNAMODB_RETENTION_HOURS = 24
CONDITION_EXHAUSTED = "RetryAttemptsExhausted"
CONDITION_AGE = "RecordAgeExceeded"


@dataclass(frozen=True)
class Environment:
    """What the world outside Lambda may do.  Bounds the explorer; scenarios open it fully."""

    results: tuple[str, ...] = ("ok", "error")
    """How a run may end: ``ok``, ``error``, ``timeout``, ``oom`` (whole-batch function errors),
    ``invalid_report`` and ``report`` (a ``batchItemFailures`` response)."""
    run_durations: tuple[Time, ...] = (0,)
    """How long a run may take, in virtual seconds."""
    rejections: tuple[str, ...] = ("throttle",)
    """Rejections before the function runs that may happen: ``throttle``, ``service_error``."""
    rejections_per_batch: int = 0
    """How many times one batch may be rejected before running (a bound for the explorer)."""
    duplicates_per_record: int = 0
    """How many extra runs (no error involved) one record may get: delivery is at least once."""
    short_batches: bool = False
    """A read may return fewer records than are written and allowed (any non-empty prefix): a poll
    returns what has reached the shard by then.  Off in the profiles and scenarios (a batch takes
    every record written by then); on when checking a peer's trace."""

    @property
    def failures(self) -> tuple[str, ...]:
        return tuple(r for r in self.results if r in (*FUNCTION_ERRORS, INVALID_REPORT))


UNBOUNDED = Environment(
    results=("ok", *FUNCTION_ERRORS, INVALID_REPORT, REPORT),
    rejections=REJECTIONS,
    rejections_per_batch=10**9,
    duplicates_per_record=10**9,
)


@dataclass(frozen=True)
class Config:
    """An event source mapping on a Kinesis data stream or a DynamoDB stream (``CreateEventSourceMapping``)."""

    source: str = setting(
        "kinesis", one_of(*SOURCES), "\"kinesis\" or \"dynamodb\"",
        aws="EventSourceArn",
        doc="The stream: a Kinesis data stream or a DynamoDB stream (24 h retention, same ESM machinery).",
        ref="[KIN-2023][DDB-2023]",
    )
    batch_size: int = setting(
        100, int_range(1, 10000), "an integer from 1 to 10000",
        aws="BatchSize",
        doc="Most records in one batch; a batch holds records of one shard only.",
        ref="[BC-LAMBDA][KIN-PARAMS]",
    )
    maximum_batching_window_seconds: int = setting(
        0, int_range(0, 300), "an integer from 0 to 300",
        aws="MaximumBatchingWindowInSeconds",
        doc="How long the mapping gathers records before invoking, unless a full batch is there sooner.",
        ref="[ESM-2023][BC-LAMBDA]",
    )
    parallelization_factor: int = setting(
        1, int_range(1, 10), "an integer from 1 to 10",
        aws="ParallelizationFactor",
        doc="Batches of one shard processed at once; order (and blocking) is then kept per partition key.",
        ref="[KIN-2023][ESM-2023]",
    )
    retention_hours: int = setting(
        24, int_range(24, 8760), "an integer from 24 to 8760 (DynamoDB Streams: 24 only)",
        aws="RetentionPeriodHours (Kinesis stream)",
        doc="How long the stream keeps a record. A record still unprocessed then is lost (expired).",
        ref="[KDS-RET][BC-DDBS]",
    )
    maximum_retry_attempts: int = setting(
        -1, int_range(0, 10000, also=(-1,)), "-1 (no limit) or an integer from 0 to 10000",
        aws="MaximumRetryAttempts",
        doc="Retries of a batch after a function error; -1 retries until the records expire.",
        ref="[BC-LAMBDA][KIN-FAIL]",
    )
    maximum_record_age_seconds: int = setting(
        -1, int_range(60, 604800, also=(-1,)), "-1 (no limit) or an integer from 60 to 604800",
        aws="MaximumRecordAgeInSeconds",
        doc="A record this old is never sent to the function again; it is discarded (RecordAgeExceeded).",
        ref="[BC-LAMBDA][KIN-PARAMS]",
    )
    bisect_batch_on_function_error: bool = setting(
        False, boolean, "true or false",
        aws="BisectBatchOnFunctionError",
        doc="A failed batch is split in two and each half retried; a split is not a retry.",
        ref="[KIN-FAIL][KIN-2023]",
    )
    report_batch_item_failures: bool = setting(
        False, boolean, "true or false",
        aws="FunctionResponseTypes=[\"ReportBatchItemFailures\"]",
        doc="Lambda reads a batchItemFailures response and resumes from the lowest reported record.",
        ref="[KIN-PBR][DDB-PBR]",
    )
    on_failure: str | None = setting(
        None, one_of(*ON_FAILURE_TARGETS, nullable=True), "null, \"sqs\", \"sns\" or \"s3\"",
        aws="DestinationConfig.OnFailure",
        doc="Where a discarded batch is recorded: SQS and SNS get batch metadata only, S3 also the records.",
        ref="[KIN-FAIL][ONF]",
    )
    function_dead_letter_queue: str | None = setting(
        None, one_of(*FUNCTION_DLQ_TARGETS, nullable=True), "null, \"sqs\" or \"sns\"",
        aws="DeadLetterConfig.TargetArn (function)",
        doc="The function's own DLQ. It serves asynchronous invocation only: a stream mapping never uses it.",
        ref="[SQS-2023] §13.15",
    )
    retry_backoff_seconds: tuple[int, ...] = setting(
        (1, 2, 4, 8, 16, 32, 64, 128, 256, 300), int_list(1, 86400, min_len=1, max_len=16),
        "a list of 1 to 16 integers from 1 to 86400", switch=True,
        doc="⚠ Wait before the n-th consecutive retry of a shard's failed or throttled batch (the last entry "
        "repeats). AWS documents no interval; the default starts at Kinesis's 1 s poll and doubles to 5 min.",
        ref="[KIN-2023] §5.1",
    )
    bisect_retry_counter: str = setting(
        "inherit", one_of("inherit", "reset"), "\"inherit\" or \"reset\"", switch=True,
        doc="⚠ After a split, each half starts with the retries its batch had used (inherit) or with none "
        "(reset, as one emulator does).",
        ref="[KIN-FAIL][YULIN-1299] §14.5",
    )
    bisect_until_single_record: bool = setting(
        True, boolean, "true or false", switch=True,
        doc="⚠ A failing half is split again, down to single records (false: only a batch read from the "
        "stream is split).",
        ref="§14.5",
    )
    partial_response_counts_as_retry: bool = setting(
        True, boolean, "true or false", switch=True,
        doc="⚠ A valid partial batch response counts as a retry toward MaximumRetryAttempts.",
        ref="[KIN-PBR][FLOCI-3428] §14.6",
    )
    invalid_report_bisects: bool = setting(
        True, boolean, "true or false", switch=True,
        doc="⚠ An invalid batchItemFailures response is a whole-batch failure that bisects like a function "
        "error (false: it is retried whole).",
        ref="[KIN-PBR] §12.8",
    )
    parallel_ordering: str = setting(
        "per_key", one_of("per_key", "per_shard"), "\"per_key\" or \"per_shard\"", switch=True,
        doc="⚠ With ParallelizationFactor > 1, order and blocking are per partition key (ESM page) or per "
        "shard (Kinesis page; then one batch per shard, as with factor 1).",
        ref="[ESM-2023][KIN-2023] §14.8",
    )
    child_waits_for_parent: bool = setting(
        True, boolean, "true or false", switch=True,
        doc="⚠ After resharding, a child shard is read only once every record of its parent shard is "
        "processed, discarded or expired.",
        ref="[RP-SHARDS] §5.6 §14.7",
    )
    age_condition: str = setting(
        CONDITION_AGE, one_of(CONDITION_AGE, CONDITION_EXHAUSTED), "\"RecordAgeExceeded\" or "
        "\"RetryAttemptsExhausted\"", switch=True,
        doc="⚠ The OnFailure condition of records discarded for their age (RecordAgeExceeded is seen only "
        "in an AWS-validated emulator).",
        ref="[LS-STREAM] §5.4 §14.4",
    )
    env: Environment = Environment()

    def validate(self) -> str | None:
        if self.source == "dynamodb" and self.retention_hours != DYNAMODB_RETENTION_HOURS:
            return (f"retention_hours: {self.retention_hours} is not allowed with source \"dynamodb\"; "
                    "DynamoDB Streams keep records 24 hours (allowed: 24)")
        return None

    @property
    def retention_seconds(self) -> int:
        return self.retention_hours * 3600

    @property
    def per_key(self) -> bool:
        """Whether order and blocking are per (shard, partition key) rather than per shard."""
        return self.parallelization_factor > 1 and self.parallel_ordering == "per_key"

    @property
    def retries_limited(self) -> bool:
        return self.maximum_retry_attempts != -1

    @property
    def age_limited(self) -> bool:
        return self.maximum_record_age_seconds != -1

    def backoff_seconds(self, step: int) -> int:
        """The wait after the ``step``-th consecutive failed or rejected attempt (1-based)."""
        delays = self.retry_backoff_seconds
        return delays[min(step, len(delays)) - 1]
