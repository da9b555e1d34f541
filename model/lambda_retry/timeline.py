"""Runs as timelines: the entries of a scenario's ``trace`` and the text a person reads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict

from .explore import Step
from .spec import ModeSpec


class Entry(TypedDict, total=False):
    t: float
    item: str
    rule: str
    actor: str
    to: str
    detail: str


def number(value: float) -> int | float:
    """Times as JSON numbers: integral values without a trailing ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def detail_of(param: Any) -> str:
    """The part of a rule's parameter that is not the item: a result, a duration, a reason."""
    if isinstance(param, tuple) and param and isinstance(param[0], int):
        rest = param[1:]
    elif isinstance(param, tuple) and param and isinstance(param[0], tuple):
        rest = param[1:]
    else:
        return ""
    return " ".join(str(number(x) if isinstance(x, float) else x) for x in rest)


def entries(spec: ModeSpec, steps: Iterable[Step]) -> list[dict[str, Any]]:
    """One entry per item a step moved (clock steps are left out: every entry carries ``t``)."""
    out: list[dict[str, Any]] = []
    for s in steps:
        r = spec.rules[s.action[0]]
        units = r.units(s.action[1])
        detail = r.describe(s.action[1]) if r.describe else detail_of(s.action[1])
        for unit, name in zip(units, s.units, strict=True):
            new_index = s.names_after.index(name)
            entry: dict[str, Any] = {
                "t": number(s.before.clock),
                "item": name,
                "rule": r.event,
                "from": s.before.items[unit].phase.__str__(),
                "to": s.after.items[new_index].phase.__str__(),
            }
            if detail:
                entry["detail"] = detail
            out.append(entry)
    return out


def render(trace: list[dict[str, Any]], *, width_item: int = 6) -> str:
    """A fixed-width timeline: time, item, rule, phase change and detail."""
    lines = []
    width_item = max([width_item] + [len(e["item"]) for e in trace])
    width_rule = max([12] + [len(e["rule"]) for e in trace])
    for e in trace:
        t = f"t={e['t']}"
        change = f"{e['from']} -> {e['to']}" if e["from"] != e["to"] else f"({e['to']})"
        detail = f"  [{e['detail']}]" if e.get("detail") else ""
        lines.append(f"{t:>10}  {e['item']:<{width_item}}  {e['rule']:<{width_rule}}  {change}{detail}")
    return "\n".join(lines)
