"""Historical accuracy of a live signal, looked up from stored backtest results by score bucket."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core import stats
from app.storage import backtests as repo
from app.storage.db import Database


class AccuracyTable:
    """Win rate with its Wilson interval and sample size per 5-point score bucket of one backtest run."""

    def __init__(self, buckets: list[dict[str, Any]], run_id: int | None) -> None:
        self.buckets = buckets
        self.run_id = run_id

    @classmethod
    def from_db(cls, db: Database, run_id: int | None = None) -> AccuracyTable:
        rid = run_id if run_id is not None else repo.latest_run_id(db)
        if rid is None:
            return cls([], None)
        cols = repo.load_signals(db, rid)
        return cls(stats.by_score(cols["score"], cols["outcome"]), rid)

    def lookup(self, score: float) -> dict[str, Any]:
        """The bucket of `score`; win_rate None ("not enough history") under 30 samples or with no backtest."""
        b = float(min(np.floor(score / 5.0), 19) * 5.0)
        for entry in self.buckets:
            if entry["lo"] == b:
                return entry
        return {"lo": b, "hi": b + 5.0, "n": 0, "wins": 0, "win_rate": None, "ci_low": None, "ci_high": None}

    # the prototype's name
    _estimate_accuracy = lookup

    def text(self, score: float) -> str:
        return stats.accuracy_text(self.lookup(score))
