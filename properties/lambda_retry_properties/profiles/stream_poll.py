"""Bounded profiles of stream polling, and the wrong variants each property must catch.

Every profile keeps to two shards of two to four records, batch sizes 1 to 3 and retry limits
0 to 2.  The retry backoff (a modelling switch) is set coarse where a profile needs virtual time
to pass (record age, retention): the clock jumps, so only the number of retries matters.  The
retries, parallel and resharding profiles keep AWS's settings only (no switch), so the scenarios
the conformance kit generates from them can run on real peers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from itertools import product

from lambda_retry.modes.stream_poll import SPEC, Config, Environment, RecordSpec, initial_world
from lambda_retry.modes.stream_poll.variants import VARIANTS

from ..check import Case
from . import Profile


def _case(label: str, config: Config, records: Sequence[RecordSpec]) -> Case:
    names = tuple(f"r{k + 1}" for k in range(len(records)))
    return Case(label, config, initial_world(config, records), names)


def _flags(**settings: object) -> str:
    return ",".join(f"{k}={v}" for k, v in settings.items())


def _results(rbif: bool) -> tuple[str, ...]:
    return ("ok", "error", "report") + (("invalid_report",) if rbif else ())


TWO_SHARDS = (RecordSpec("s1"), RecordSpec("s1"), RecordSpec("s2"), RecordSpec("s2"))
"""Two shards of two records, all written at once."""

RETRIES = tuple(
    _case(_flags(batch=batch, retries=retries, bisect=bisect, rbif=rbif),
          Config(batch_size=batch, maximum_retry_attempts=retries, bisect_batch_on_function_error=bisect,
                 report_batch_item_failures=rbif, on_failure=("sqs", "s3")[retries % 2],
                 env=Environment(results=_results(rbif))),
          TWO_SHARDS)
    for batch, retries, bisect, rbif in product((1, 2), (0, 1, 2), (False, True), (False, True))
) + tuple(
    _case(_flags(batch=2, retries=retries, rbif=True, results="ok|report"),
          Config(batch_size=2, maximum_retry_attempts=retries, report_batch_item_failures=True, on_failure="sqs",
                 env=Environment(results=("ok", "report"))),
          TWO_SHARDS)
    for retries in (1, 2)
)

RECORD_AGE = tuple(
    _case(_flags(batch=batch, bisect=bisect, rbif=rbif, retries=retries),
          Config(batch_size=batch, maximum_record_age_seconds=60, maximum_retry_attempts=retries,
                 bisect_batch_on_function_error=bisect, report_batch_item_failures=rbif, on_failure="sns",
                 retry_backoff_seconds=(10, 20), env=Environment(results=_results(rbif))),
          (RecordSpec("s1", at=0), RecordSpec("s1", at=0), RecordSpec("s1", at=20), RecordSpec("s1", at=50)))
    for batch, bisect, rbif, retries in product((1, 2), (False, True), (False, True), (-1, 2))
)

RETENTION = tuple(
    _case(_flags(source=source, batch=batch, bisect=bisect),
          Config(source=source, batch_size=batch, bisect_batch_on_function_error=bisect,
                 retry_backoff_seconds=(21600,)),
          (RecordSpec("s1", at=0), RecordSpec("s1", at=0), RecordSpec("s2", at=0)))
    for source, batch, bisect in product(("kinesis", "dynamodb"), (1, 2), (False, True))
) + (
    _case("kinesis,retention=48h,rbif", Config(retention_hours=48, batch_size=2, report_batch_item_failures=True,
                                               retry_backoff_seconds=(43200,),
                                               env=Environment(results=("ok", "error", "report"))),
          (RecordSpec("s1", at=0), RecordSpec("s1", at=0), RecordSpec("s1", at=3600), RecordSpec("s2", at=60))),
    _case("kinesis,long runs", Config(batch_size=1, retry_backoff_seconds=(21600,),
                                      env=Environment(run_durations=(0, 21600))),
          (RecordSpec("s1", at=0), RecordSpec("s1", at=0))),
    _case("kinesis,child shard", Config(batch_size=1, retry_backoff_seconds=(21600,)),
          (RecordSpec("s1", at=0), RecordSpec("s2", at=0, parent="s1"), RecordSpec("s2", at=0, parent="s1"))),
)

PARALLEL = tuple(
    _case(_flags(factor=factor, ordering=ordering, batch=batch, retries=retries),
          Config(parallelization_factor=factor, parallel_ordering=ordering, batch_size=batch,
                 maximum_retry_attempts=retries),
          (RecordSpec("s1", "k1"), RecordSpec("s1", "k2"), RecordSpec("s1", "k1"), RecordSpec("s1", "k3")))
    for factor, ordering, batch, retries in product((1, 2), ("per_key", "per_shard"), (1, 2), (0, 1))
    if factor > 1 or ordering == "per_key"
)

RESHARDING = tuple(
    _case(_flags(waits=waits, batch=batch, retries=retries),
          Config(child_waits_for_parent=waits, batch_size=batch, maximum_retry_attempts=retries),
          (RecordSpec("s1"), RecordSpec("s1"), RecordSpec("s2", parent="s1"), RecordSpec("s2", parent="s1")))
    for waits, batch, retries in product((True, False), (1, 2), (0, 1))
)

REJECTIONS_AND_DUPLICATES = tuple(
    _case(_flags(batch=batch, retries=retries),
          Config(batch_size=batch, maximum_retry_attempts=retries, retry_backoff_seconds=(1, 2),
                 env=Environment(rejections=("throttle", "service_error"), rejections_per_batch=1,
                                 duplicates_per_record=1)),
          (RecordSpec("s1"), RecordSpec("s1"), RecordSpec("s2")))
    for batch, retries in product((1, 2), (0, 1))
) + (
    _case("durations,duplicates", Config(batch_size=1, maximum_retry_attempts=1, retry_backoff_seconds=(5,),
                                         env=Environment(run_durations=(0, 10), duplicates_per_record=1)),
          (RecordSpec("s1"), RecordSpec("s1", at=3), RecordSpec("s2", at=3))),
)

WINDOW_AND_DURATIONS = tuple(
    _case(_flags(window=window, batch=batch),
          Config(maximum_batching_window_seconds=window, batch_size=batch, maximum_retry_attempts=1,
                 retry_backoff_seconds=(5,), env=Environment(run_durations=(0, 30))),
          (RecordSpec("s1", at=0), RecordSpec("s1", at=4), RecordSpec("s1", at=12), RecordSpec("s2", at=0)))
    for window, batch in product((0, 10), (2, 3))
)

BISECT_SWITCHES = tuple(
    _case(_flags(counter=counter, single=single, counts=counts, invalid_bisects=invalid),
          Config(batch_size=3, maximum_retry_attempts=1, bisect_batch_on_function_error=True,
                 report_batch_item_failures=True, bisect_retry_counter=counter, bisect_until_single_record=single,
                 partial_response_counts_as_retry=counts, invalid_report_bisects=invalid,
                 retry_backoff_seconds=(28800,),
                 env=Environment(results=("ok", "error", "invalid_report", "report"))),
          (RecordSpec("s1"), RecordSpec("s1"), RecordSpec("s1")))
    for counter, single, counts, invalid in product(("inherit", "reset"), (True, False), (True, False), (True, False))
)

PROFILES: tuple[Profile, ...] = (
    Profile("stream_poll.retries", SPEC, RETRIES, states=17640, edges=35109),
    Profile("stream_poll.record_age", SPEC, RECORD_AGE, states=15400, edges=21234),
    Profile("stream_poll.retention", SPEC, RETENTION, states=4294, edges=5409),
    Profile("stream_poll.parallel", SPEC, PARALLEL, states=1690, edges=2617),
    Profile("stream_poll.resharding", SPEC, RESHARDING, states=939, edges=1255),
    Profile("stream_poll.rejections_duplicates", SPEC, REJECTIONS_AND_DUPLICATES, states=19953, edges=28449),
    Profile("stream_poll.window_durations", SPEC, WINDOW_AND_DURATIONS, states=14668, edges=15969),
    Profile("stream_poll.bisect_switches", SPEC, BISECT_SWITCHES, states=3359, edges=4637),
)

_VARIANT = {v.name: v for v in VARIANTS}

_one = (RecordSpec("s1"),)
_pair = (RecordSpec("s1"), RecordSpec("s1"))
_plain = Config(maximum_retry_attempts=1, on_failure="sqs", retry_backoff_seconds=(1,))
_rbif = replace(_plain, report_batch_item_failures=True, batch_size=2, env=Environment(results=("ok", "report")))

_VARIANT_CASES: dict[str, tuple[tuple[Config, tuple[RecordSpec, ...]], ...]] = {
    "bug_checkpoint_past_failed_batch": ((_plain, _one),),
    "bug_retries_once_more": ((_plain, _one),),
    "bug_bisect_counts_as_retry": ((replace(_plain, batch_size=2, bisect_batch_on_function_error=True), _pair),),
    "bug_age_checked_ahead": ((replace(_plain, maximum_retry_attempts=-1, maximum_record_age_seconds=60,
                                       retry_backoff_seconds=(40,)), _one),),
    "bug_ignores_parallelization_factor": ((replace(_plain, parallelization_factor=2),
                                            (RecordSpec("s1", "k1"), RecordSpec("s1", "k2"),
                                             RecordSpec("s1", "k3"))),),
    "bug_batch_mixes_shards": ((replace(_plain, batch_size=2), (RecordSpec("s1"), RecordSpec("s2"))),),
    "bug_throttle_rewinds_checkpoint": ((replace(_plain, batch_size=1, env=Environment(rejections_per_batch=1)),
                                         _pair),),
    "bug_reads_past_failing_batch": ((replace(_plain, batch_size=1), _pair),),
    "bug_ignores_record_age": ((replace(_plain, maximum_retry_attempts=-1, maximum_record_age_seconds=60,
                                        retry_backoff_seconds=(21600,)), _one),),
    "bug_retries_only_reported_records": ((replace(_rbif, batch_size=3), _pair + _one),),
    "bug_honours_report_without_flag": ((replace(_rbif, report_batch_item_failures=False,
                                                 retry_backoff_seconds=(21600,)), _pair),),
    "bug_skips_failing_batch": ((_plain, _one),),
    "bug_throttle_uses_retry": ((replace(_plain, env=Environment(rejections_per_batch=1)), _one),),
    "bug_child_before_parent": ((_plain, (RecordSpec("s1"), RecordSpec("s2", parent="s1"))),),
    "bug_failing_batch_blocks_stream": ((replace(_plain, retry_backoff_seconds=(10,)),
                                         (RecordSpec("s1"), RecordSpec("s2", at=1))),),
    "bug_stays_blocked_after_discard": ((replace(_plain, maximum_retry_attempts=0, batch_size=1), _pair),),
    "bug_no_duplicates": ((replace(_plain, env=Environment(duplicates_per_record=1)), _one),),
    "bug_partial_failure_not_counted": ((replace(_rbif, retry_backoff_seconds=(43200,)), _pair),),
    "bug_timeout_not_a_function_error": ((replace(_plain, env=Environment(results=("timeout",))), _one),),
}

MUST_BREAK: dict[str, tuple[str, ...]] = {
    "bug_checkpoint_past_failed_batch": ("STREAM-S01",),
    "bug_retries_once_more": ("STREAM-S02",),
    "bug_bisect_counts_as_retry": ("STREAM-S03",),
    "bug_age_checked_ahead": ("STREAM-S04",),
    "bug_ignores_parallelization_factor": ("STREAM-S05",),
    "bug_batch_mixes_shards": ("STREAM-T01",),
    "bug_throttle_rewinds_checkpoint": ("STREAM-T02",),
    "bug_reads_past_failing_batch": ("STREAM-T03",),
    "bug_ignores_record_age": ("STREAM-T04",),
    "bug_retries_only_reported_records": ("STREAM-T05",),
    "bug_honours_report_without_flag": ("STREAM-T06",),
    "bug_skips_failing_batch": ("STREAM-T07",),
    "bug_throttle_uses_retry": ("STREAM-T08",),
    "bug_child_before_parent": ("STREAM-T09",),
    "bug_failing_batch_blocks_stream": ("STREAM-T10",),
    "bug_stays_blocked_after_discard": ("STREAM-R01",),
    "bug_no_duplicates": ("STREAM-R02",),
    "bug_partial_failure_not_counted": ("STREAM-R03",),
    "bug_timeout_not_a_function_error": ("STREAM-L01",),
}

VARIANT_PROFILES: tuple[Profile, ...] = tuple(
    Profile(
        f"stream_poll.{name}",
        _VARIANT[name].spec,
        tuple(_case(name, c, records) for c, records in cases),
        must_break=MUST_BREAK[name],
        max_states=20_000,
    )
    for name, cases in _VARIANT_CASES.items()
)
