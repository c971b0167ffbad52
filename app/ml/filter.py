"""The ML signal filter as the scanner uses it. Off, with the reason, whenever no usable model exists."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.core.confluence import COMPONENTS
from app.errors import ModelError

if TYPE_CHECKING:
    from app.core.signals import Analysis, Signal
    from app.ml.model import MLModelTrainer
    from app.settings import Settings

log = logging.getLogger(__name__)


class InactiveFilter:
    """No usable model: every signal passes unrated (ml fields None) and every output says why."""

    active = False

    def __init__(self, reason: str) -> None:
        self.status = f"off: {reason}"

    def apply(self, signals: list[Signal], context: dict[tuple[str, str], Analysis]
              ) -> tuple[list[Signal], list[Signal]]:
        return signals, []


class ModelFilter:
    """Rates each signal with the model; below the minimum probability it is skipped and the skip logged."""

    active = True

    def __init__(self, trainer: MLModelTrainer, min_probability: float, path: Path) -> None:
        self.trainer = trainer
        self.min_probability = min_probability
        self.path = path
        made = dt.datetime.fromtimestamp(trainer.manifest.get("created_at", 0) / 1000, dt.UTC)
        auc = trainer.manifest.get("metrics", {}).get("auc")
        sim = " trained on the SIMULATED market" if trainer.manifest.get("data", {}).get("source") == "SIMULATED" \
            else ""
        self.status = (f"on: model of {made:%Y-%m-%d %H:%M} UTC{sim} (out-of-sample AUC "
                       f"{'n/a' if auc is None else f'{auc:.3f}'}), minimum probability {min_probability:.2f}")

    @classmethod
    def load_or_inactive(cls, path: Path, settings: Settings) -> ModelFilter | InactiveFilter:
        from app.ml.model import MLModelTrainer

        try:
            trainer = MLModelTrainer.load(path)
        except ModelError as exc:
            log.warning("ML filter off: %s", exc)
            return InactiveFilter(str(exc))
        if not trainer.manifest.get("enabled", False):
            return InactiveFilter(f"the model at {path} did not beat the base rate out of sample "
                                  f"({trainer.manifest.get('verdict', 'not useful')}); retrain, or train --force")
        return cls(trainer, settings.ml.min_probability, path)

    def apply(self, signals: list[Signal], context: dict[tuple[str, str], Analysis]
              ) -> tuple[list[Signal], list[Signal]]:
        if not signals:
            return [], []
        prob = self.trainer.predict_proba(signal_features(signals, context))
        kept, skipped = [], []
        for s, p in zip(signals, prob, strict=True):
            p = float(p)
            if p >= self.min_probability:
                kept.append(replace(s, ml_prediction=1, ml_probability=p))
            else:
                log.info("ML filter skipped %s %s %s at %d: probability %.3f < %.2f", s.symbol, s.timeframe, s.side,
                         s.signal_time, p, self.min_probability)
                skipped.append(replace(s, ml_prediction=0, ml_probability=p))
        return kept, skipped


def signal_features(signals: list[Signal], contexts: dict[tuple[str, str], Analysis]) -> np.ndarray:
    """Feature rows of scanned signals from their candles' analysis (the backtest's extractor)."""
    from app.ml.features import MLFeatureExtractor

    ext = MLFeatureExtractor()
    rows = []
    for s in signals:
        an = contexts[(s.symbol, s.timeframe)]
        idx = int(np.searchsorted(an.candles.time, s.signal_time))
        names = list(an.pattern_flags)
        pats = np.array([[name in s.patterns for name in names]], dtype=bool)
        comps = np.array([[s.components[c] for c in COMPONENTS]])
        rows.append(ext.extract(an, np.array([idx]), np.array([1 if s.side == "LONG" else -1]),
                                np.array([s.confluence_score]), comps, pats)[0])
    return np.vstack(rows)


def load_filter(model_path: Path, settings: Settings) -> ModelFilter | InactiveFilter:
    if not settings.ml.enabled:
        return InactiveFilter("disabled in the settings")
    if not model_path.exists():
        return InactiveFilter(f"no model at {model_path} (train one: python -m app train)")
    return ModelFilter.load_or_inactive(model_path, settings)
