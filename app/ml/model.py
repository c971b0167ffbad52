"""Meta-labelling model: training with purged walk-forward folds, calibration, verified persistence.

Every figure reported (AUC, Brier, log loss, precision and coverage at the minimum probability, the
reliability table) is computed on out-of-sample predictions only: each fold is predicted by a model
trained on earlier signals whose label windows (H candles) end before the fold starts, and calibrated
by a calibrator fitted on earlier folds' out-of-sample predictions.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app import __version__
from app.core import stats
from app.core.selection import PurgedWalkForward
from app.errors import CancelledError, ModelError
from app.ml.features import FEATURE_NAMES

log = logging.getLogger(__name__)
MIN_SAMPLES = 200
MIN_AUC = 0.52


@dataclass(frozen=True)
class TrainingData:
    X: np.ndarray  # (n, F) float32, rows in time order
    y: np.ndarray  # 1 WIN, 0 otherwise
    signal_time: np.ndarray  # ms
    horizon_ms: int  # H candles: a label is known only this long after its signal
    description: dict[str, Any]


def thread_cap() -> int | None:
    """Threads for OpenMP and BLAS while training: the cores this process may use that other processes leave
    free (1-minute load average), at least 1. OpenMP threads spin at every barrier waiting for a thread the OS has
    descheduled, so one thread too many on a busy machine made training ~40x slower (issue 20)."""
    import os

    env = os.environ.get("SCALPDESK_TRAIN_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        busy = 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))


def _limited() -> Any:
    # scikit-learn's OpenMP runtime must be loaded before the limit: threadpoolctl limits only loaded libraries
    import sklearn.ensemble  # noqa: F401
    from threadpoolctl import threadpool_limits

    cap = thread_cap()
    return threadpool_limits(limits=cap) if cap is not None else contextlib.nullcontext()


def _hgb() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.06, max_leaf_nodes=31, min_samples_leaf=40,
                                          l2_regularization=1.0, random_state=0)


def _logit() -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=500))


def _calibrator(raw: np.ndarray, y: np.ndarray) -> Any:
    """Isotonic with enough samples, else Platt (sigmoid) scaling."""
    if len(raw) >= 1000 and 0 < y.sum() < len(y):
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(raw, y)
        return iso
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression()
    lr.fit(raw.reshape(-1, 1), y)
    return lr


def apply_calibrator(cal: Any, raw: np.ndarray) -> np.ndarray:
    if hasattr(cal, "predict_proba"):
        return np.asarray(cal.predict_proba(raw.reshape(-1, 1))[:, 1])
    return np.asarray(cal.predict(raw))


def reliability(prob: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    rows = []
    edges = np.linspace(0, 1, bins + 1)
    idx = np.minimum((prob * bins).astype(int), bins - 1)
    for b in range(bins):
        mask = idx == b
        n = int(mask.sum())
        if n == 0:
            continue
        rows.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "mean_predicted": float(prob[mask].mean()),
                     **stats.rate_entry(int(y[mask].sum()), n)})
    return rows


def evaluate(prob: np.ndarray, y: np.ndarray, base_train: float, min_probability: float) -> dict[str, Any]:
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    both = 0 < y.sum() < len(y)
    chosen = prob >= min_probability
    n_chosen = int(chosen.sum())
    enough = n_chosen >= stats.MIN_SAMPLES  # under 30 kept signals a precision is not a number worth showing
    precision = float(y[chosen].mean()) if enough else None
    lo, hi = stats.wilson(int(y[chosen].sum()), n_chosen) if enough else (None, None)
    return {
        "oos_samples": len(y),
        "base_win_rate": float(y.mean()) if len(y) else None,
        "auc": float(roc_auc_score(y, prob)) if both else None,
        "brier": float(brier_score_loss(y, prob)),
        "brier_base_rate": float(np.mean((y - base_train) ** 2)),
        "log_loss": float(log_loss(y, np.clip(prob, 1e-6, 1 - 1e-6), labels=[0, 1])),
        "precision_at_min_probability": precision,
        "precision_ci": [lo, hi] if enough else None,
        "coverage_at_min_probability": n_chosen / len(y) if len(y) else 0.0,
        "kept_signals": n_chosen,
    }


class MLModelTrainer:
    """Trains, saves, loads and applies the signal classifier (the prototype's API names kept)."""

    def __init__(self, min_probability: float = 0.60, folds: int = 5) -> None:
        self.min_probability = min_probability
        self.folds = folds
        self.model: Any = None
        self.calibrator: Any = None
        self.manifest: dict[str, Any] = {}

    # ---------------------------------------------------------------- training
    def train(self, data: TrainingData, progress: Any = None, cancel: Any = None) -> dict[str, Any]:
        with _limited():
            return self._train(data, progress, cancel)

    def _train(self, data: TrainingData, progress: Any = None, cancel: Any = None) -> dict[str, Any]:
        report = progress or (lambda f, m: None)
        X, y, t = data.X, data.y.astype(np.int8), data.signal_time
        if len(y) < MIN_SAMPLES:
            raise ModelError(f"only {len(y)} decided backtest signals; at least {MIN_SAMPLES} are needed to train "
                             f"and test a model (run a longer backtest, e.g. with --min-score 50)")
        if y.sum() == 0 or y.sum() == len(y):
            raise ModelError("every backtest signal has the same outcome; nothing to learn")
        order = np.argsort(t, kind="stable")
        X, y, t = X[order], y[order], t[order]
        splits = list(PurgedWalkForward(self.folds).split(t, data.horizon_ms))
        raw_oos = np.full(len(y), np.nan)
        lr_oos = np.full(len(y), np.nan)
        fold_of = np.full(len(y), -1)
        for k, (train, test) in enumerate(splits):
            if cancel is not None and cancel.is_set():
                raise CancelledError("training cancelled")
            report(k / (len(splits) + 1), f"fold {k + 1} of {len(splits)}: {len(train)} train, {len(test)} test")
            if y[train].min() == y[train].max():
                continue
            m = _hgb().fit(X[train], y[train])
            raw_oos[test] = m.predict_proba(X[test])[:, 1]
            lr_oos[test] = _logit().fit(X[train], y[train]).predict_proba(X[test])[:, 1]
            fold_of[test] = k
        # calibrate each fold with a calibrator fitted on the earlier folds' out-of-sample predictions
        prob = np.full(len(y), np.nan)
        for k in range(1, len(splits)):
            earlier = (fold_of >= 0) & (fold_of < k)
            now = fold_of == k
            if earlier.sum() < 50 or not now.any():
                continue
            cal = _calibrator(raw_oos[earlier], y[earlier])
            prob[now] = apply_calibrator(cal, raw_oos[now])
        scored = np.isfinite(prob)
        if scored.sum() < 50:
            raise ModelError("too few out-of-sample predictions to judge a model; run a longer backtest")
        first_scored = np.flatnonzero(scored)[0]
        base_train = float(y[:first_scored].mean())
        metrics = evaluate(prob[scored], y[scored], base_train, self.min_probability)
        lr_scored = scored & np.isfinite(lr_oos)
        from sklearn.metrics import roc_auc_score

        metrics["baseline_logistic_auc"] = (float(roc_auc_score(y[lr_scored], lr_oos[lr_scored]))
                                            if 0 < y[lr_scored].sum() < lr_scored.sum() else None)
        metrics["reliability"] = reliability(prob[scored], y[scored])
        useful, why = judge(metrics)
        report(len(splits) / (len(splits) + 1), "final fit on all signals")
        if cancel is not None and cancel.is_set():
            raise CancelledError("training cancelled")
        self.model = _hgb().fit(X, y)
        have = fold_of >= 0
        self.calibrator = _calibrator(raw_oos[have], y[have])
        self.manifest = {
            "feature_names": list(FEATURE_NAMES), "created_at": int(time.time() * 1000),
            "versions": _versions(), "data": data.description, "samples": len(y),
            "metrics": metrics, "useful": useful, "verdict": why, "enabled": useful,
            "min_probability": self.min_probability, "folds": len(splits), "horizon_ms": data.horizon_ms,
        }
        report(1.0, "done")
        return self.manifest

    # ---------------------------------------------------------------- persistence
    def save(self, path: Path, enabled: bool | None = None) -> Path:
        """Model, calibrator and manifest in one file, replaced in one rename (see app.ml.persist)."""
        from app.ml import persist

        if self.model is None:
            raise ModelError("no trained model to save")
        manifest = dict(self.manifest)
        if enabled is not None:
            manifest["enabled"] = enabled
        self.manifest = persist.write(path, {"model": self.model, "calibrator": self.calibrator}, manifest)
        return path

    @classmethod
    def load(cls, path: Path) -> MLModelTrainer:
        """Verify the manifest (hash, feature list, versions) before building anything; building runs no code."""
        from app.ml import persist

        manifest, payload = persist.read(path)
        if list(manifest["feature_names"]) != list(FEATURE_NAMES):
            raise ModelError(f"{path}: trained for other features ({len(manifest['feature_names'])} vs "
                             f"{len(FEATURE_NAMES)} now); retrain")
        want = manifest.get("versions", {}).get("scikit-learn")
        have = _versions()["scikit-learn"]
        if want and want.split(".")[:2] != have.split(".")[:2]:
            raise ModelError(f"{path}: trained with scikit-learn {want}, this app has {have}; retrain")
        bundle = persist.estimators(path, payload)
        obj = cls(min_probability=float(manifest.get("min_probability", 0.6)))
        obj.model, obj.calibrator, obj.manifest = bundle["model"], bundle["calibrator"], manifest
        return obj

    # ---------------------------------------------------------------- prediction
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise ModelError("no model loaded")
        raw = self.model.predict_proba(X)[:, 1]
        return np.asarray(np.clip(apply_calibrator(self.calibrator, raw), 0.0, 1.0))

    def predict(self, features: np.ndarray, min_probability: float | None = None) -> tuple[int, float]:
        """(prediction 1 win / 0 loss, calibrated win probability) for one signal's feature row."""
        p = float(self.predict_proba(np.asarray(features, dtype=np.float32).reshape(1, -1))[0])
        threshold = self.min_probability if min_probability is None else min_probability
        return (1 if p >= threshold else 0), p


def judge(metrics: dict[str, Any]) -> tuple[bool, str]:
    auc = metrics.get("auc")
    prec = metrics.get("precision_at_min_probability")
    base = metrics.get("base_win_rate")
    if auc is None or auc < MIN_AUC:
        return False, (f"not useful: out-of-sample AUC {auc if auc is None else round(auc, 3)} is under {MIN_AUC}; "
                       f"the model does not rank winners above losers")
    if prec is None:
        return False, (f"not useful: only {metrics.get('kept_signals', 0)} out-of-sample signals reach the minimum "
                       f"probability (at least {stats.MIN_SAMPLES} are needed to measure its precision)")
    if base is not None and prec <= base:
        return False, (f"not useful: precision {prec:.3f} at the minimum probability does not beat the base win "
                       f"rate {base:.3f}")
    return True, f"useful: AUC {auc:.3f}, precision {prec:.3f} vs base {base:.3f} out of sample"


def _versions() -> dict[str, str]:
    import sklearn

    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "scalpdesk": __version__}
