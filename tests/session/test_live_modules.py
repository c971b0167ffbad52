"""app.session.live was split (sources, changes); the names callers import from it stay importable there."""

from __future__ import annotations


def test_the_split_modules_names_are_still_importable_from_live():
    from app.session import changes, live, sources

    for name in ("SourceSpec", "Watch", "open_source", "timeframes_of"):
        assert getattr(live, name) is getattr(sources, name)
    for name in ("describe_changes", "needs_rebuild"):
        assert getattr(live, name) is getattr(changes, name)
    assert set(live.__all__) >= {"LiveSession", "SourceSpec", "engine_config", "costs_of", "describe_changes"}
