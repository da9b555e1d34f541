"""The project's shape: one stem per mode everywhere, two source roots, no packaging traps."""

from __future__ import annotations

from pathlib import Path

from lambda_retry_properties.registry import MODE_NAMES, Mode

ROOT = Path(__file__).resolve().parents[1]


def test_source_roots_are_not_packages() -> None:
    assert not (ROOT / "model" / "__init__.py").exists()
    assert not (ROOT / "properties" / "__init__.py").exists()


def test_no_module_is_named_after_a_keyword() -> None:
    assert not list(ROOT.glob("model/**/async.py"))


def test_every_mode_has_every_artefact(mode: Mode) -> None:
    stem = mode.name
    assert stem in MODE_NAMES
    assert mode.spec.name == stem
    for path in (
        f"model/lambda_retry/modes/{stem}/rules.py",
        f"model/lambda_retry/modes/{stem}/variants.py",
        f"model/lambda_retry/modes/{stem}/scenario.py",
        f"properties/lambda_retry_properties/{stem}.py",
        f"properties/lambda_retry_properties/profiles/{stem}.py",
        f"diagrams/{stem}.dot",
        f"docs/modes/{stem}.md",
    ):
        assert (ROOT / path).exists(), path


def test_property_ids_use_the_mode_prefix_and_are_unique(mode: Mode) -> None:
    ids = [p.id for p in mode.properties]
    assert len(ids) == len(set(ids))
    assert all(i.startswith(mode.properties.prefix + "-") for i in ids)
    assert all(p.statement and p.source for p in mode.properties)


def test_every_property_has_a_wrong_variant_that_must_break_it(mode: Mode) -> None:
    caught = {pid for p in mode.variant_profiles for pid in p.must_break}
    missing = [p.id for p in mode.properties if p.id not in caught]
    assert not missing, f"properties no wrong variant is written against: {missing}"


def test_the_model_never_imports_the_properties() -> None:
    for path in (ROOT / "model").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "lambda_retry_properties" not in text, path


def test_all_four_modes_are_built(monkeypatch: object) -> None:
    import os

    from lambda_retry_properties.registry import modes

    if os.environ.get("LAMBDA_RETRY_MODES"):
        import pytest

        pytest.skip("LAMBDA_RETRY_MODES limits the modes on purpose")
    assert tuple(modes()) == MODE_NAMES
