"""Training the signal filter from stored backtest signals; the current model stays until a new one is
accepted (useful out of sample, or forced by the user)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from app.core.candles import timeframe_ms
from app.errors import ModelError
from app.ml.features import FEATURE_NAMES
from app.ml.model import MLModelTrainer, TrainingData
from app.storage import backtests as repo
from app.storage.db import Database


def training_data(db: Database, run_id: int | None = None) -> TrainingData:
    run = repo.resolve_run(db, run_id)
    rid = run["id"]
    if list(run.get("feature_names") or []) != list(FEATURE_NAMES):
        raise ModelError(f"backtest run {rid} stored other features than this version computes; re-run the backtest")
    cols = repo.load_signals(db, rid, with_features=True)
    if cols["features"] is None:
        raise ModelError(f"backtest run {rid} has no stored features; re-run the backtest")
    tfs = {str(t) for t in cols["timeframe"]}
    horizon = int(run["max_hold"]) * max((timeframe_ms(t) for t in tfs), default=60_000)
    t = cols["signal_time"]
    desc = {"run_id": rid, "source": repo.run_source(run), "samples": len(t), "first": int(t.min()) if len(t) else None,
            "last": int(t.max()) if len(t) else None, "symbols": sorted({str(s) for s in cols["symbol"]}),
            "timeframes": sorted(tfs), "min_score": run["min_score"], "max_hold": run["max_hold"]}
    y = (cols["outcome"] == "WIN").astype(np.int8)
    return TrainingData(cols["features"], y, t, horizon, desc)


def train_and_store(db: Database, model_path: Path, min_probability: float, folds: int = 5, force: bool = False,
                    run_id: int | None = None, progress: Any = None,
                    cancel: threading.Event | None = None) -> dict[str, Any]:
    data = training_data(db, run_id)
    trainer = MLModelTrainer(min_probability=min_probability, folds=folds)
    manifest = trainer.train(data, progress=progress, cancel=cancel)
    accepted = bool(manifest["useful"] or force)
    target = model_path if accepted else model_path.with_name(model_path.stem + ".candidate" + model_path.suffix)
    trainer.save(target, enabled=accepted)
    out = {k: v for k, v in manifest.items() if k != "feature_names"}
    out.update(trainer.manifest and {"sha256": trainer.manifest["sha256"]})
    out.update({"model_path": str(target), "accepted": accepted, "enabled": accepted, "forced": force and not
                manifest["useful"], "features": len(FEATURE_NAMES)})
    return out
