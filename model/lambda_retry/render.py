"""Diagrams and tables generated from a mode's table: deterministic, byte for byte.

Visual grammar of every diagram: left to right from a start dot; phases as
rounded boxes; terminal phases with a double border, coloured by outcome;
environment choices dashed, service decisions solid; labels ``event [guard]``;
each edge's tooltip is its rule's note.
"""

from __future__ import annotations

import ast
import inspect
import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import graphviz

from .settings import as_json, settings_of
from .spec import Actor, ModeSpec, always

OUTCOME_COLOURS = {
    "succeeded": "#c8e6c9", "deleted": "#c8e6c9", "processed": "#c8e6c9",
    "dead_lettered": "#ffe0b2", "discarded": "#e0e0e0", "function_error": "#ffe0b2",
    "lost": "#ffcdd2", "expired": "#ffcdd2", "failed": "#ffcdd2", "throttled": "#ffcdd2",
}
FONT = "Helvetica"


@dataclass(frozen=True)
class LifecycleRow:
    """A row of a descriptive lifecycle (one drawn beside a mode's main table)."""

    source: str
    event: str
    guard: str
    dest: str
    note: str
    actor: str = Actor.SERVICE.value


@dataclass(frozen=True)
class Lifecycle:
    """A second lifecycle of a mode (a shard, an HTTP request) drawn from its own rows."""

    name: str
    title: str
    initial: str
    terminal: frozenset[str]
    rows: tuple[LifecycleRow, ...]


def phase_notes(phases: type[StrEnum]) -> dict[str, str]:
    """Each phase's docstring (the string literal under its member in the source)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(phases)))
    except (OSError, TypeError):
        return {}
    notes: dict[str, str] = {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for first, second in zip(body, body[1:], strict=False):
        if (
            isinstance(first, ast.Assign)
            and isinstance(first.targets[0], ast.Name)
            and isinstance(second, ast.Expr)
            and isinstance(second.value, ast.Constant)
            and isinstance(second.value.value, str)
        ):
            member = getattr(phases, first.targets[0].id, None)
            if member is not None:
                notes[member.value] = " ".join(second.value.value.split())
    return notes


def lifecycle_of(spec: ModeSpec) -> Lifecycle:
    """A mode's main per-unit lifecycle as rows (one per rule and source phase)."""
    rows = []
    for r in spec.rules:
        if r.dest is None:
            continue
        guard = "" if r.guard is always else r.guard.__name__
        for source in sorted(r.source, key=spec.phase_rank):
            rows.append(LifecycleRow(str(source), r.event, guard, str(r.dest), r.note, r.actor.value))
    return Lifecycle(spec.name, f"{spec.title}: the life of one {spec.lifecycle}",
                     str(spec.initial_phase), frozenset(str(t) for t in spec.terminal), tuple(rows))


def dot(life: Lifecycle, phases: Sequence[str] | None = None) -> str:
    """DOT source of a lifecycle diagram."""
    g = graphviz.Digraph(name=life.name)
    g.attr(rankdir="LR", fontname=FONT, labelloc="t", fontsize="16", nodesep="0.35")
    g.attr("node", fontname=FONT, fontsize="11", shape="box", style="rounded,filled", fillcolor="#e3f2fd")
    g.attr("edge", fontname=FONT, fontsize="9")
    names = list(phases) if phases is not None else _phases_in_rows(life)
    g.node("__start__", label="", shape="point", width="0.15", style="filled", fillcolor="black")
    for p in names:
        if p in life.terminal:
            g.node(p, p, peripheries="2", fillcolor=OUTCOME_COLOURS.get(p, "#eeeeee"))
        else:
            g.node(p, p)
    g.edge("__start__", life.initial)
    for row in life.rows:
        label = f"{row.event} [{row.guard}]" if row.guard else row.event
        style = "dashed" if row.actor == Actor.ENVIRONMENT.value else "solid"
        g.edge(row.source, row.dest, label=label, style=style, tooltip=row.note)
    g.attr(label=f"{life.title}\\ndashed: environment choice   solid: service decision   "
                 "double border: outcome")
    return g.source


def _phases_in_rows(life: Lifecycle) -> list[str]:
    seen: list[str] = [life.initial]
    for row in life.rows:
        for p in (row.source, row.dest):
            if p not in seen:
                seen.append(p)
    return seen


def mode_dot(spec: ModeSpec) -> str:
    return dot(lifecycle_of(spec), [str(p.value) for p in spec.phases])


def svg(source: str) -> bytes | None:
    """SVG rendered by graphviz's ``dot``, or ``None`` where ``dot`` is not installed."""
    if shutil.which("dot") is None:
        return None
    return graphviz.Source(source).pipe(format="svg")


# -- Markdown tables ---------------------------------------------------------------------------


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def phases_table(spec: ModeSpec) -> str:
    notes = phase_notes(spec.phases)
    rows = []
    for p in spec.phases:
        kind = "initial" if p.value == spec.initial_phase else ("outcome" if p.value in spec.terminal else "")
        rows.append([f"`{p.value}`", kind, notes.get(p.value, "")])
    return table(["Phase", "Kind", "Meaning"], rows)


def rules_table(spec: ModeSpec) -> str:
    rows = []
    for n, r in enumerate(spec.rules, start=1):
        source = ", ".join(f"`{p}`" for p in sorted(r.source, key=spec.phase_rank)) or "any"
        dest = f"`{r.dest}`" if r.dest is not None else "(same)"
        guard = "" if r.guard is always else f"`{r.guard.__name__}`"
        rows.append([n, f"`{r.event}`", source, dest, guard, r.actor.value, r.note, r.source_ref])
    return table(["#", "Event", "From", "To", "Guard", "Actor", "Note", "Source"], rows)


def lifecycle_table(life: Lifecycle) -> str:
    rows = [[f"`{r.source}`", f"`{r.event}`", f"`{r.guard}`" if r.guard else "", f"`{r.dest}`", r.note]
            for r in life.rows]
    return table(["From", "Event", "Guard", "To", "Note"], rows)


def settings_table(config_cls: type) -> str:
    rows = []
    for name, default, s in settings_of(config_cls):
        aws = f"`{s.aws}`" if s.aws else ("⚠ modelling switch" if s.switch else "")
        shown = "absent" if default is None else f"`{_json(as_json(default))}`"
        rows.append([f"`{name}`", aws, s.allowed, shown, s.doc, s.ref])
    return table(["Key", "AWS setting", "Allowed", "Default", "Meaning", "Source"], rows)


def _json(value: Any) -> str:
    import json

    return json.dumps(value)

