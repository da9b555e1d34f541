"""The ``sqs_poll`` scenario contract as the peer drivers apply it (standard library only).

``_common.HandlerScript`` knows a step's ``result`` and ``duration``.  An ``sqs_poll``
step may also carry ``report``: how the handler tells Lambda about an ``"error"``
(``model/lambda_retry/modes/sqs_poll/scenario.py`` is the reference):

* ``"throw"`` (the default without ReportBatchItemFailures): a function error;
* ``"failed_and_rest_of_group"`` (the default with it): a partial batch response listing
  the failed messages and, in a FIFO queue, the later messages of their groups in the
  batch, which the handler left unprocessed;
* ``"failed_only"``: a partial batch response listing only the failed messages;
* ``"invalid"``: a malformed partial batch response (here: one empty ``itemIdentifier``);
* ``"swallow"``: the handler catches the error and returns success.

A batch's outcome is made from the entries of all its messages: any ``throttle`` (else
any ``service_error``) rejects it before it runs; it runs as long as its slowest
message; ``timeout`` (or a run longer than the function timeout) and ``oom`` fail it
whole; otherwise the first of throw, invalid, failed_only, failed_and_rest_of_group,
swallow that a failed message asks for is the batch's response.  In a FIFO queue a
handler that reports failures stops processing a group at its first failure.

:func:`split_reports` takes the ``report`` keys out of a scenario (so that
``_common.parse_scenario`` accepts the rest) and :func:`decide` applies the rules
above to one batch.  This file is also shipped, as ``sqs_contract.py``, inside the
MiniStack function's zip, so the handler there answers by the very same rules; it
must import nothing but the standard library.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

REPORTS = ("throw", "invalid", "failed_only", "failed_and_rest_of_group", "swallow")
"""How a handler reports a failed message, in order of precedence within one batch."""
REJECTIONS = ("throttle", "service_error")
INVALID_RESPONSE: dict[str, Any] = {"batchItemFailures": [{"itemIdentifier": ""}]}
"""The malformed partial batch response a handler gives for ``"invalid"``: an empty
identifier, a complete failure for AWS [SQS-ERR]."""


def split_reports(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str | None]]]:
    """The scenario without ``report`` keys in its handler steps, and the reports per handler key.

    Raises ``ValueError`` for a report that is not one of :data:`REPORTS`, or on a step whose
    result is not ``"error"`` (as the model does)."""
    scenario = copy.deepcopy(dict(raw))
    handler = scenario.get("handler")
    reports: dict[str, list[str | None]] = {}
    if not isinstance(handler, Mapping):
        return scenario, reports
    stripped: dict[str, Any] = {}
    for key, seq in handler.items():
        steps = [seq] if isinstance(seq, str | Mapping) else seq
        if not isinstance(steps, list):
            stripped[key] = seq  # malformed: let parse_scenario say so
            continue
        out: list[Any] = []
        told: list[str | None] = []
        for n, step in enumerate(steps):
            if isinstance(step, Mapping) and "report" in step:
                value = step["report"]
                if value not in REPORTS:
                    allowed = ", ".join(REPORTS)
                    raise ValueError(f"handler[{key!r}][{n}].report: {value!r} is not one of {allowed}")
                if step.get("result") != "error":
                    raise ValueError(f"handler[{key!r}][{n}].report: only an \"error\" result has a report")
                told.append(str(value))
                step = {k: v for k, v in step.items() if k != "report"}
            else:
                told.append(None)
            out.append(step)
        stripped[key] = out
        reports[str(key)] = told
    scenario["handler"] = stripped
    return scenario, reports


def report_for(reports: Mapping[str, Sequence[str | None]], item: str, attempt: int) -> str | None:
    """The ``report`` of ``item``'s step for its ``attempt``-th receive (1-based; the last repeats)."""
    seq = reports.get(item)
    if seq is None:
        seq = reports.get("default") or [None]
    return seq[min(attempt, len(seq)) - 1]


@dataclass(frozen=True)
class Entry:
    """One message's scripted entry for one receive."""

    result: str
    duration: float = 0.0
    report: str | None = None


@dataclass
class Decision:
    """What a batch's entries make of it."""

    kind: str
    """``run``, or the rejection: ``throttle`` / ``service_error``."""
    result: str = ""
    """The invocation's result as a trace shows it: ``ok``, ``error``, ``timeout``, ``oom`` or
    ``partial`` (the handler returned a partial batch response, valid or not, honoured or not)."""
    duration: float = 0.0
    response: str = ""
    """What the handler does: ``ok`` (returns), ``throw``, ``swallow``, ``invalid``, ``listed``
    (a partial batch response listing :attr:`listed`), ``timeout``, ``oom``."""
    failed: list[str] = field(default_factory=list)
    """Messages the handler failed on (after a FIFO group's first failure the rest are not processed)."""
    listed: list[str] = field(default_factory=list)
    """The messages a valid partial batch response lists."""
    delete: list[str] = field(default_factory=list)
    """The messages Lambda deletes after the run (AWS's rules, given ReportBatchItemFailures)."""


def decide(
    batch: Sequence[str],
    entries: Mapping[str, Entry],
    *,
    report_batch_item_failures: bool,
    function_timeout: float,
    groups: Mapping[str, str] | None = None,
    order: Mapping[str, float] | None = None,
) -> Decision:
    """Apply the contract to one batch (``batch``: its messages; ``groups``/``order``: each
    message's FIFO group and place in the send order, for a FIFO queue only)."""
    rbif = report_batch_item_failures
    kinds = {entries[i].result for i in batch}
    for rejection in REJECTIONS:
        if rejection in kinds:
            return Decision(rejection, response=rejection)
    duration = max((float(entries[i].duration or 0.0) for i in batch), default=0.0)
    if "timeout" in kinds or duration > function_timeout:
        return Decision("run", "timeout", float(function_timeout), "timeout")
    if "oom" in kinds:
        return Decision("run", "oom", duration, "oom")
    everything = list(batch)
    erring = [i for i in batch if entries[i].result == "error"]
    if not erring:
        return Decision("run", "ok", duration, "ok", delete=everything)
    default = "failed_and_rest_of_group" if rbif else "throw"
    asked = {entries[i].report or default for i in erring}
    response = next(r for r in REPORTS if r in asked)
    if response == "throw":
        return Decision("run", "error", duration, "throw", failed=erring)
    if response == "swallow":
        return Decision("run", "ok", duration, "swallow", failed=erring, delete=everything)
    rank = {i: (order or {}).get(i, float(n)) for n, i in enumerate(batch)}
    first_failure: dict[str, float] = {}
    failed: list[str] = []
    for i in sorted(erring, key=lambda i: rank[i]):
        group = (groups or {}).get(i)
        if group is not None and group in first_failure:
            continue  # a handler that keeps order stopped this group at its first failure
        failed.append(i)
        if group is not None:
            first_failure[group] = rank[i]
    rest = [i for i in batch if i not in failed and (groups or {}).get(i) in first_failure
            and rank[i] > first_failure[(groups or {})[i]]]
    if response == "invalid":
        return Decision("run", "partial", duration, "invalid", failed=failed, delete=[] if rbif else everything)
    listed = failed if response == "failed_only" else [i for i in batch if i in failed or i in rest]
    delete = [i for i in batch if i not in listed] if rbif else everything
    return Decision("run", "partial", duration, "listed", failed=failed, listed=listed, delete=delete)


__all__ = ["INVALID_RESPONSE", "REPORTS", "Decision", "Entry", "decide", "report_for", "split_reports"]
