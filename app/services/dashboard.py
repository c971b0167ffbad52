"""What the dashboard shows, computed from the database and the tracker (no Qt): an immutable snapshot the
GUI copies into its models. Every rate carries its sample size and interval; nothing is invented."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core import stats
from app.core.candles import timeframe_ms
from app.core.outcomes import Costs, net_pnl_pct
from app.services.accuracy import AccuracyTable
from app.storage.db import Database

TRACKING = "Tracking live…"


@dataclass(frozen=True)
class Snapshot:
    open_rows: tuple[dict[str, Any], ...]
    closed_rows: tuple[dict[str, Any], ...]  # most recent first
    today: dict[str, Any]
    all_time: dict[str, Any]
    equity: tuple[tuple[int, float], ...]  # (closed_at, cumulative pnl %)
    calibration: dict[str, Any]
    source: str
    ml_status: str
    last_scan_ms: int | None
    errors: dict[str, str] = field(default_factory=dict)
    drift_alerts: tuple[str, ...] = ()
    made_at: float = 0.0
    has_history: bool = True  # a finished backtest exists (else every accuracy is "not enough history")


def _stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    outcome = np.array([r["status"] for r in rows], dtype=object)
    pnl = np.array([r["pnl_pct"] for r in rows], dtype=np.float64)
    return stats.summary(outcome, pnl, np.array([r["bars_held"] for r in rows]))


def build(db: Database, accuracy: AccuracyTable, costs: Costs, source: str, ml_status: str,
          last_scan_ms: int | None, errors: dict[str, str], now_s: float, recent: int = 300,
          label: str | None = None) -> Snapshot:
    """`source` selects the records (as the tracker labels them); `label` is what the status bar shows."""
    open_rows = []
    # Only this source's records: simulated numbers never mix with live or replayed ones.
    for r in db.query("SELECT * FROM live_view WHERE status = 'OPEN' AND source = ? ORDER BY id", (source,)):
        side = 1 if r["side"] == "LONG" else -1
        last = r["last_price"]
        open_rows.append({
            "id": r["id"], "symbol": r["symbol"], "timeframe": r["timeframe"], "side": r["side"], "entry": r["entry"],
            "stop_loss": r["stop_loss"], "take_profit": r["take_profit"], "last_price": last,
            "unrealised_pct": None if last is None else float(net_pnl_pct(side, r["entry"], last, costs)),
            "confluence_score": r["confluence_score"], "accuracy": accuracy.text(r["confluence_score"]),
            "ml_probability": r["ml_probability"], "status_text": TRACKING + (" (entry at next open)"
                                                                             if r["entry_provisional"] else ""),
            "closed_candle_ms": r["signal_time"] + timeframe_ms(r["timeframe"]), "signal_time": r["signal_time"],
            "bars_held": r["bars_held"], "mfe_pct": r["mfe_pct"], "mae_pct": r["mae_pct"],
        })
    closed = [dict(r) for r in db.query("SELECT * FROM live_view WHERE status != 'OPEN' AND source = ? "
                                        "ORDER BY closed_at, id", (source,))]
    for c in closed:
        c["closed_text"] = dt.datetime.fromtimestamp(c["closed_at"] / 1000, dt.UTC).strftime("%m-%d %H:%M")
    day_start = int(dt.datetime.fromtimestamp(now_s, dt.UTC).replace(hour=0, minute=0, second=0,
                                                                      microsecond=0).timestamp() * 1000)
    today = [r for r in closed if r["closed_at"] >= day_start]
    all_stats = _stats(closed)
    all_stats["open"] = len(open_rows)
    today_stats = _stats(today)
    cum = np.cumsum([r["pnl_pct"] for r in closed]) if closed else np.empty(0)
    equity = tuple((int(r["closed_at"]), float(v)) for r, v in zip(closed, cum, strict=True))
    scores = np.array([r["confluence_score"] for r in closed], dtype=np.float64)
    outcome = np.array([r["status"] for r in closed], dtype=object)
    live_buckets = stats.by_score(scores, outcome)
    probs = [(r["ml_probability"], r["status"] == "WIN") for r in closed if r["ml_probability"] is not None]
    ml_bins = []
    if probs:
        p = np.array([x[0] for x in probs])
        w = np.array([x[1] for x in probs])
        idx = np.minimum((p * 10).astype(int), 9)
        for b in np.unique(idx):
            m = idx == b
            ml_bins.append({"lo": b / 10, "hi": (b + 1) / 10, "mean_predicted": float(p[m].mean()),
                            **stats.rate_entry(int(w[m].sum()), int(m.sum()))})
    alerts = tuple(r["message"] for r in db.query("SELECT message FROM events WHERE kind = 'drift_alert' "
                                                  "ORDER BY id DESC LIMIT 20"))
    return Snapshot(tuple(open_rows), tuple(reversed(closed[-recent:])), today_stats, all_stats, equity,
                    {"live": live_buckets, "backtest": accuracy.buckets, "ml": ml_bins}, label or source, ml_status,
                    last_scan_ms, dict(errors), alerts, now_s, accuracy.run_id is not None)
