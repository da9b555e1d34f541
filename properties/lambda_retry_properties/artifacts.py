"""Generated files: diagrams and the generated blocks of the docs pages.

Every generated file is derived from the tables and the property sets only, so
``lambda-retry diagrams`` and ``lambda-retry docs`` produce the same bytes on
every machine; the freshness tests regenerate them and compare.
"""

from __future__ import annotations

import re
from importlib import import_module
from pathlib import Path

from lambda_retry.render import (
    Lifecycle,
    LifecycleRow,
    dot,
    lifecycle_table,
    mode_dot,
    phases_table,
    rules_table,
    settings_table,
    svg,
    table,
)

from .registry import Mode, modes

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"(<!-- generated:(\w+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def extra_lifecycles(mode: Mode) -> list[Lifecycle]:
    """Descriptive lifecycles a mode exports beside its table (a shard's, an HTTP request's)."""
    package = import_module(f"lambda_retry.modes.{mode.name}")
    found = []
    for attr, suffix, title in (("SHARD_LIFECYCLE", "shard", "the life of a shard"),
                                ("REQUEST_LIFECYCLE", "request", "the life of one Invoke request")):
        rows = getattr(package, attr, None)
        if rows is None:
            continue
        actors = {r.event: r.actor.value for r in mode.spec.rules}
        parsed = tuple(r if isinstance(r, LifecycleRow) else
                       LifecycleRow(*(*r, actors.get(r[1], "service"))[:6]) for r in rows)
        initial = getattr(package, f"{attr}_INITIAL", parsed[0].source)
        sources = {r.source for r in parsed}
        terminal = frozenset(r.dest for r in parsed if r.dest not in sources)
        found.append(Lifecycle(f"{mode.name}.{suffix}", f"{mode.spec.title}: {title}", initial, terminal, parsed))
    return found


def diagram_files(mode: Mode) -> dict[str, str]:
    """``{file name: DOT source}`` for every diagram of a mode."""
    files = {f"{mode.name}.dot": mode_dot(mode.spec)}
    for life in extra_lifecycles(mode):
        files[f"{life.name}.dot"] = dot(life)
    return files


def write_diagrams(out: Path, *, render_svg: bool = True) -> tuple[list[Path], bool]:
    """Write every DOT file (and SVG where graphviz's ``dot`` exists); report if SVG was skipped."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    svg_missing = False
    for mode in modes().values():
        for name, source in diagram_files(mode).items():
            path = out / name
            path.write_text(source, encoding="utf-8")
            written.append(path)
            if render_svg:
                image = svg(source)
                if image is None:
                    svg_missing = True
                else:
                    path.with_suffix(".svg").write_bytes(image)
                    written.append(path.with_suffix(".svg"))
    return written, svg_missing


def properties_table(mode: Mode) -> str:
    caught: dict[str, list[str]] = {}
    for profile in mode.variant_profiles:
        for pid in profile.must_break:
            caught.setdefault(pid, []).append(profile.name.split(".", 1)[1])
    rows = [[f"`{p.id}`", p.kind.value, f"`{p.name}`", p.statement, p.source,
             ", ".join(f"`{v}`" for v in caught.get(p.id, []))] for p in mode.properties]
    return table(["ID", "Kind", "Name", "Statement", "Source", "Wrong variants it catches"], rows)


def profiles_table(mode: Mode) -> str:
    rows = [[f"`{p.name}`", len(p.cases), f"{p.states:,}" if p.states is not None else "",
             f"{p.edges:,}" if p.edges is not None else ""] for p in mode.profiles]
    return table(["Profile", "Cases", "Pinned states", "Pinned edges"], rows)


def blocks(mode: Mode) -> dict[str, str]:
    package = import_module(f"lambda_retry.modes.{mode.name}")
    diagram = [f"![{mode.spec.title}](../../diagrams/{mode.name}.svg)",
               "",
               f"Source: [`diagrams/{mode.name}.dot`](../../diagrams/{mode.name}.dot). "
               "Dashed edges are environment choices, solid edges service decisions; "
               "double borders are outcomes."]
    for life in extra_lifecycles(mode):
        diagram += ["", f"![{life.title}](../../diagrams/{life.name}.svg)", "", lifecycle_table(life)]
    return {
        "diagram": "\n".join(diagram),
        "phases": phases_table(mode.spec),
        "rules": rules_table(mode.spec),
        "settings": settings_table(package.Config),
        "properties": properties_table(mode) + "\n\nExhaustive profiles:\n\n" + profiles_table(mode),
    }


def fill(text: str, generated: dict[str, str]) -> str:
    def replace(m: re.Match[str]) -> str:
        name = m.group(2)
        if name not in generated:
            return m.group(0)
        return f"{m.group(1)}{generated[name]}\n{m.group(4)}"

    return BLOCK.sub(replace, text)


def divergence_table() -> str:
    from .conformance.kit import load_catalogue

    rows = [[f"`{e['peer']}`", f"`{e['mode']}`", f"`{e['name']}`", e["reason"], e["source"]]
            for e in load_catalogue()]
    return table(["Peer", "Mode", "Divergence", "What the peer does, and what AWS does", "Source"], rows)


def doc_pages(root: Path = ROOT) -> dict[Path, str]:
    """Every docs page with its generated blocks filled in, keyed by path."""
    pages: dict[Path, str] = {}
    conformance = root / "docs" / "conformance.md"
    if conformance.exists():
        pages[conformance] = fill(conformance.read_text(encoding="utf-8"), {"divergences": divergence_table()})
    for mode in modes().values():
        path = root / "docs" / "modes" / f"{mode.name}.md"
        if path.exists():
            pages[path] = fill(path.read_text(encoding="utf-8"), blocks(mode))
    return pages
