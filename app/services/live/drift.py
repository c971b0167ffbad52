"""Drift monitor: live win rates against the backtest's interval, per score bucket and overall.

When a live rate with at least 30 closed signals falls outside the backtest's 95 % interval, an alert is
raised once (and again only after it came back inside): backtests that do not match live are the
trader's most common complaint, so ScalpDesk watches for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from app.core import stats


def _bucket(score: float) -> float:
    return float(min(np.floor(score / 5.0), 19) * 5.0)


class DriftMonitor:
    def __init__(self, backtest_buckets: Sequence[Mapping[str, Any]], overall: Mapping[str, Any] | None) -> None:
        self.expected = {b["lo"]: b for b in backtest_buckets}
        self.overall = overall
        self.alerting: set[str] = set()

    def check(self, scores: np.ndarray, wins: np.ndarray) -> list[dict[str, Any]]:
        """New alerts for the live closed signals given (scores, win flags)."""
        everything = np.ones(len(scores), dtype=bool)
        groups: list[tuple[str, Mapping[str, Any] | None, np.ndarray]] = [("all", self.overall, everything)]
        buckets = np.array([_bucket(s) for s in scores]) if len(scores) else np.empty(0)
        for lo, bucket in self.expected.items():
            groups.append((f"{lo:g}-{lo + 5:g}", bucket, buckets == lo))
        alerts = []
        for name, exp, mask in groups:
            n = int(mask.sum())
            if exp is None or exp.get("ci_low") is None or n < stats.MIN_SAMPLES:
                continue
            rate = float(wins[mask].mean())
            outside = rate < exp["ci_low"] or rate > exp["ci_high"]
            if outside and name not in self.alerting:
                self.alerting.add(name)
                direction = "below" if rate < exp["ci_low"] else "above"
                message = (f"score {name}: live win rate {rate:.0%} over {n} signals is {direction} the backtest's "
                           f"{exp['ci_low']:.0%}–{exp['ci_high']:.0%}")
                alerts.append({"bucket": name, "live_win_rate": rate, "live_n": n,
                               "backtest_ci": [exp["ci_low"], exp["ci_high"]], "message": message})
            elif not outside:
                self.alerting.discard(name)
        return alerts
