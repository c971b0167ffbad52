"""The ML signal filter as the scanner uses it. Off, with the reason, whenever no usable model exists."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.core.signals import Signal
    from app.settings import Settings


class InactiveFilter:
    """No model: every signal passes unrated and every output says why."""

    active = False

    def __init__(self, reason: str) -> None:
        self.status = f"off: {reason}"

    def apply(self, signals: list[Signal], context: dict[str, Any]) -> tuple[list[Signal], list[Signal]]:
        return signals, []


def load_filter(model_path: Path, settings: Settings) -> Any:
    if not settings.ml.enabled:
        return InactiveFilter("disabled in the settings")
    if not model_path.exists():
        return InactiveFilter(f"no model at {model_path} (train one: python -m app train)")
    from app.ml.model import ModelFilter

    return ModelFilter.load_or_inactive(model_path, settings)
