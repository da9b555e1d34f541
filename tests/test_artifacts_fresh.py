"""Generated diagrams and docs blocks are committed fresh, and generation is deterministic."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lambda_retry.render import mode_dot, svg
from lambda_retry_properties import artifacts
from lambda_retry_properties.registry import Mode

ROOT = Path(__file__).resolve().parents[1]


def test_committed_dot_files_are_fresh(mode: Mode) -> None:
    for name, source in artifacts.diagram_files(mode).items():
        committed = ROOT / "diagrams" / name
        assert committed.exists(), f"{name} missing: run `lambda-retry diagrams`"
        assert committed.read_text(encoding="utf-8") == source, f"{name} is stale: run `lambda-retry diagrams`"
        assert committed.with_suffix(".svg").exists(), f"{name}: SVG missing"


def test_dot_is_byte_for_byte_deterministic(mode: Mode) -> None:
    assert mode_dot(mode.spec) == mode_dot(mode.spec)


def test_diagram_follows_the_visual_grammar() -> None:
    from lambda_retry.modes.async_invoke import SPEC

    source = mode_dot(SPEC)
    assert 'style=dashed' in source and 'style=solid' in source
    assert 'dead_lettered [label=dead_lettered fillcolor="#ffe0b2" peripheries=2]' in source
    assert 'label="handler_fails [run_failed_and_retry_fits]"' in source


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_svg_renders() -> None:
    from lambda_retry.modes.async_invoke import SPEC

    image = svg(mode_dot(SPEC))
    assert image is not None and image.lstrip().startswith(b"<?xml")


def test_docs_pages_are_fresh() -> None:
    pages = artifacts.doc_pages(ROOT)
    assert pages, "no docs pages found"
    stale = [str(p) for p, text in pages.items() if p.read_text(encoding="utf-8") != text]
    assert not stale, f"stale docs, run `lambda-retry docs`: {stale}"


def test_docs_blocks_are_filled(mode: Mode) -> None:
    text = (ROOT / "docs" / "modes" / f"{mode.name}.md").read_text(encoding="utf-8")
    for block in ("diagram", "phases", "rules", "settings", "properties"):
        assert f"<!-- generated:{block} -->" in text, block
    assert f"`{mode.spec.rules[0].event}`" in text


def test_fill_replaces_only_generated_blocks() -> None:
    text = "intro\n<!-- generated:rules -->\nold\n<!-- end generated -->\noutro\n"
    expected = "intro\n<!-- generated:rules -->\nnew\n<!-- end generated -->\noutro\n"
    assert artifacts.fill(text, {"rules": "new"}) == expected
