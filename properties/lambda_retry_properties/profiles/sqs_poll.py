"""Bounded profiles of SQS polling, and the wrong variants each property must catch."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

from lambda_retry.modes.sqs_poll import SPEC, Config, Environment, initial_world
from lambda_retry.modes.sqs_poll.variants import VARIANTS

from ..check import Case
from . import Profile


def _case(label: str, config: Config, arrivals: tuple[float, ...], groups: tuple[str, ...] | None = None) -> Case:
    names = tuple(f"m{k + 1}" for k in range(len(arrivals)))
    return Case(label, config, initial_world(arrivals, groups), names)


def _label(**settings: object) -> str:
    return ",".join(f"{k}={v}" for k, v in settings.items())


PARTIAL = Environment(results=("ok", "error", "partial"))

STANDARD = tuple(
    _case(_label(max_receive=mrc, rbif=rbif, batch=bs),
          Config(visibility_timeout_seconds=30, message_retention_seconds=70, max_receive_count=mrc,
                 batch_size=bs, report_batch_item_failures=rbif, env=PARTIAL),
          (0, 0, 0))
    for mrc, rbif, bs in product((None, 1, 2), (False, True), (1, 2))
)

FAILURES = tuple(
    _case(_label(max_receive=mrc, rbif=rbif),
          Config(visibility_timeout_seconds=5, function_timeout_seconds=3, message_retention_seconds=60,
                 max_receive_count=mrc, batch_size=2, report_batch_item_failures=rbif,
                 env=Environment(results=("ok", "timeout", "oom", "invalid_response", "partial"),
                                 responses=("failed_and_rest_of_group", "swallow"), run_durations=(0, 3))),
          (0, 0))
    for mrc, rbif in product((None, 2), (False, True))
)

THROTTLES = tuple(
    _case(_label(reserved=reserved, max_concurrency=cap, service_error_runs=runs),
          Config(visibility_timeout_seconds=30, message_retention_seconds=100, max_receive_count=2,
                 batch_size=1, reserved_concurrency=reserved, maximum_concurrency=cap,
                 service_error_runs_function=runs,
                 env=Environment(results=("ok", "error"), rejections=("throttle", "service_error"),
                                 rejections_per_message=1, run_durations=(0, 10))),
          (0, 0, 0))
    for reserved, cap, runs in product((0, 1, 2), (None, 2), (False, True))
    if not (runs and reserved == 0)
) + tuple(
    _case(_label(reserved=reserved, max_concurrency=2, max_receive=1),
          Config(visibility_timeout_seconds=30, function_timeout_seconds=10, message_retention_seconds=100,
                 max_receive_count=1, batch_size=1, reserved_concurrency=reserved, maximum_concurrency=2,
                 env=Environment(run_durations=(0, 10))),
          (0, 0, 0, 0))
    for reserved in (2, 3)
)

DUPLICATES = tuple(
    _case(_label(max_receive=mrc, duration=d),
          Config(visibility_timeout_seconds=30, message_retention_seconds=70, max_receive_count=mrc, batch_size=2,
                 env=Environment(duplicates_per_message=1, run_durations=(d,))),
          (0, 0))
    for mrc, d in product((None, 2), (0, 3))
)

FIFO = tuple(
    _case(_label(max_receive=mrc, rbif=rbif, batch=bs, responses="+".join(responses)),
          Config(fifo=True, visibility_timeout_seconds=30, message_retention_seconds=70, max_receive_count=mrc,
                 batch_size=bs, report_batch_item_failures=rbif,
                 env=Environment(results=("ok", "error", "partial"), responses=responses)),
          (0, 0, 0), ("g1", "g1", "g2"))
    for mrc, rbif, bs, responses in product(
        (None, 2), (False, True), (1, 2, 3), (("failed_and_rest_of_group",), ("failed_and_rest_of_group", "swallow")))
)

FIFO_CONTRACT = tuple(
    _case(_label(max_receive=mrc, batch=bs, responses="+".join(responses)),
          Config(fifo=True, visibility_timeout_seconds=30, message_retention_seconds=70, max_receive_count=mrc,
                 batch_size=bs, report_batch_item_failures=True,
                 env=Environment(results=("ok", "error", "partial"), responses=responses)),
          (0, 0, 0), ("g1", "g1", "g2"))
    for mrc, bs, responses in product((None, 2), (2, 3),
                                      (("failed_only",), ("failed_only", "failed_and_rest_of_group")))
)

WINDOW = tuple(
    _case(_label(window=window, batch=bs),
          Config(visibility_timeout_seconds=30, message_retention_seconds=120, max_receive_count=2, batch_size=bs,
                 maximum_batching_window_seconds=window, function_timeout_seconds=3,
                 env=Environment(run_durations=(0, 3))),
          (0, 4, 12))
    for window, bs in ((0, 2), (5, 2), (5, 11), (40, 2))
)

UNCHECKED_TIMEOUT = tuple(
    _case(_label(visibility=vt, timeout=10, max_receive=mrc),
          Config(visibility_timeout_seconds=vt, function_timeout_seconds=10, function_timeout_validated=False,
                 message_retention_seconds=60, max_receive_count=mrc, batch_size=1,
                 env=Environment(run_durations=(0, 8))),
          (0, 0))
    for vt, mrc in product((5, 30), (None, 2))
)

BUSY = (
    _case("four messages,one late,batch=2,rbif,max_concurrency=2,max_receive=2,throttles,runs of 0 or 3 s",
          Config(visibility_timeout_seconds=30, message_retention_seconds=100, max_receive_count=2, batch_size=2,
                 report_batch_item_failures=True, maximum_concurrency=2,
                 env=Environment(results=("ok", "error", "partial"), rejections_per_message=1,
                                 run_durations=(0, 3))),
          (0, 0, 0, 20)),
    _case("four messages,batch=2,rbif,reserved=1,max_receive=1,throttles",
          Config(visibility_timeout_seconds=30, function_timeout_seconds=10, message_retention_seconds=100,
                 max_receive_count=1, batch_size=2, report_batch_item_failures=True, reserved_concurrency=1,
                 env=Environment(results=("ok", "error", "partial"), rejections_per_message=1,
                                 run_durations=(0, 10))),
          (0, 0, 0, 10)),
    _case("three messages,batch=2,duplicates,max_receive=3",
          Config(visibility_timeout_seconds=30, message_retention_seconds=100, max_receive_count=3, batch_size=2,
                 env=Environment(results=("ok", "error", "timeout"), duplicates_per_message=1,
                                 run_durations=(0, 3))),
          (0, 0, 5)),
    _case("fifo,two groups of two,batch=3,rbif,max_receive=2",
          Config(fifo=True, visibility_timeout_seconds=30, message_retention_seconds=100, max_receive_count=2,
                 batch_size=3, report_batch_item_failures=True, maximum_concurrency=2,
                 env=Environment(results=("ok", "error", "partial"),
                                 responses=("failed_and_rest_of_group", "failed_only"))),
          (0, 0, 0, 0), ("g1", "g2", "g1", "g2")),
)

PROFILES: tuple[Profile, ...] = (
    Profile("sqs_poll.standard", SPEC, STANDARD, states=1826, edges=3718),
    Profile("sqs_poll.failures", SPEC, FAILURES, states=2410, edges=3892),
    Profile("sqs_poll.throttles", SPEC, THROTTLES, states=14263, edges=24624),
    Profile("sqs_poll.duplicates", SPEC, DUPLICATES, states=210, edges=270),
    Profile("sqs_poll.fifo", SPEC, FIFO, states=7528, edges=11271),
    Profile("sqs_poll.fifo_contract", SPEC, FIFO_CONTRACT, states=2156, edges=2892),
    Profile("sqs_poll.window", SPEC, WINDOW, states=2500, edges=2816),
    Profile("sqs_poll.unchecked_timeout", SPEC, UNCHECKED_TIMEOUT, states=1462, edges=2155),
    Profile("sqs_poll.busy", SPEC, BUSY, states=34560, edges=52329),
)

_VARIANT = {v.name: v for v in VARIANTS}

_STD = Config(visibility_timeout_seconds=30, message_retention_seconds=70, max_receive_count=2, batch_size=2)
_PARTIAL = replace(_STD, report_batch_item_failures=True, env=PARTIAL)
_FIFO = Config(fifo=True, visibility_timeout_seconds=30, message_retention_seconds=70, max_receive_count=2,
               batch_size=1)
_FIFO_PARTIAL = replace(_FIFO, batch_size=2, report_batch_item_failures=True, env=PARTIAL)
_NO_DLQ = Config(visibility_timeout_seconds=30, message_retention_seconds=60, batch_size=1)
G2 = ("g1", "g1")
_VARIANT_CASES: dict[str, tuple[tuple[Config, tuple[float, ...], tuple[str, ...] | None], ...]] = {
    "bug_deletes_batch_on_failure": ((_STD, (0, 0), None),),
    "bug_error_treated_as_partial_response": ((_STD, (0, 0), None),),
    "bug_failed_batch_visible_at_once": ((_STD, (0,), None),),
    "bug_throttle_keeps_receive_count": ((replace(_STD, reserved_concurrency=0), (0,), None),),
    "bug_redrives_one_receive_early": ((_STD, (0,), None),),
    "bug_delivers_past_max_receive_count": ((_STD, (0,), None),),
    "bug_ignores_maximum_concurrency": ((replace(_STD, batch_size=1, maximum_concurrency=2), (0, 0, 0), None),),
    "bug_receives_one_message_too_many": ((replace(_STD, batch_size=1), (0, 0), None),),
    "bug_fifo_serves_blocked_group": ((_FIFO, (0, 0), G2),),
    "bug_fifo_parallel_group_batches": ((_FIFO, (0, 0), G2),),
    "bug_fifo_processes_past_a_failure": ((_FIFO_PARTIAL, (0, 0), G2),),
    "bug_fifo_deletes_reported_tail": ((_FIFO_PARTIAL, (0, 0), G2),),
    "bug_lambda_returns_unreported_tail": (
        (replace(_FIFO_PARTIAL, env=replace(PARTIAL, responses=("failed_only",))), (0, 0), G2),),
    "bug_honours_partial_response_without_flag": ((replace(_STD, env=PARTIAL), (0, 0), None),),
    "bug_runs_deleted_message_again": ((replace(_STD, env=Environment(duplicates_per_message=1)), (0,), None),),
    "bug_no_duplicates": ((replace(_STD, env=Environment(duplicates_per_message=1)), (0,), None),),
    "bug_lambda_retries_batch_itself": ((_STD, (0,), None),),
    "bug_throttles_below_reserved_concurrency": (
        (replace(_STD, batch_size=1, max_receive_count=1, reserved_concurrency=2, maximum_concurrency=2),
         (0, 0), None),),
    "bug_throttle_counted_as_run": ((replace(_STD, reserved_concurrency=0), (0,), None),),
    "bug_receives_expired_message": ((_NO_DLQ, (0,), None),),
    "bug_expiry_waits_for_visibility": ((replace(_NO_DLQ, visibility_timeout_seconds=50), (0,), None),),
    "bug_never_expires": ((replace(_NO_DLQ, env=Environment(results=("error",))), (0,), None),),
    "bug_standard_queue_blocks_behind_failure": ((_NO_DLQ, (0, 10), None),),
}

MUST_BREAK: dict[str, tuple[str, ...]] = {
    "bug_deletes_batch_on_failure": ("SQS-T01", "SQS-T02"),
    "bug_error_treated_as_partial_response": ("SQS-T02",),
    "bug_failed_batch_visible_at_once": ("SQS-T03",),
    "bug_throttle_keeps_receive_count": ("SQS-T04",),
    "bug_redrives_one_receive_early": ("SQS-T05", "SQS-S02"),
    "bug_delivers_past_max_receive_count": ("SQS-S02",),
    "bug_ignores_maximum_concurrency": ("SQS-S03",),
    "bug_receives_one_message_too_many": ("SQS-S04",),
    "bug_fifo_serves_blocked_group": ("SQS-T09",),
    "bug_fifo_parallel_group_batches": ("SQS-S05",),
    "bug_fifo_processes_past_a_failure": ("SQS-T08",),
    "bug_fifo_deletes_reported_tail": ("SQS-T10",),
    "bug_lambda_returns_unreported_tail": ("SQS-R03",),
    "bug_honours_partial_response_without_flag": ("SQS-T11",),
    "bug_runs_deleted_message_again": ("SQS-T12",),
    "bug_no_duplicates": ("SQS-R02",),
    "bug_lambda_retries_batch_itself": ("SQS-S01",),
    "bug_throttles_below_reserved_concurrency": ("SQS-S07",),
    "bug_throttle_counted_as_run": ("SQS-R01",),
    "bug_receives_expired_message": ("SQS-T06",),
    "bug_expiry_waits_for_visibility": ("SQS-S06",),
    "bug_never_expires": ("SQS-L01",),
    "bug_standard_queue_blocks_behind_failure": ("SQS-T07",),
}

VARIANT_PROFILES: tuple[Profile, ...] = tuple(
    Profile(
        f"sqs_poll.{name}",
        _VARIANT[name].spec,
        tuple(_case(name, c, arrivals, groups) for c, arrivals, groups in cases),
        must_break=MUST_BREAK[name],
        max_states=20_000,
    )
    for name, cases in _VARIANT_CASES.items()
)
