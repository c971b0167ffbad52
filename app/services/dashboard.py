"""What the dashboard shows, computed from the database and the tracker (no Qt): an immutable snapshot the
GUI copies into its models. Every rate carries its sample size and interval; nothing is invented.

Closed signals are kept in memory by `ClosedHistory` and extended only by the rows closed since the last
snapshot: re-reading every closed row each second took ~300 ms at 10k rows in the worker thread, and the GIL
it held showed up as event-loop lag in the window (issue 10's soak)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core import stats
from app.core.candles import timeframe_ms
from app.core.outcomes import Costs, net_pnl_pct
from app.services.accuracy import AccuracyTable
from app.storage.db import Database

TRACKING = "Tracking live…"
_ID_CHUNK = 500  # ids per `IN (...)`: well under SQLite's host-parameter limit


@dataclass(frozen=True)
class Snapshot:
    open_rows: tuple[dict[str, Any], ...]
    closed_rows: tuple[dict[str, Any], ...]  # most recent first
    today: dict[str, Any]
    all_time: dict[str, Any]
    equity: tuple[np.ndarray, np.ndarray]  # closed_at in seconds, cumulative pnl % (read-only arrays)
    calibration: dict[str, Any]
    source: str
    ml_status: str
    last_scan_ms: int | None
    errors: dict[str, str] = field(default_factory=dict)
    drift_alerts: tuple[str, ...] = ()
    made_at: float = 0.0
    has_history: bool = True  # a finished backtest exists (else every accuracy is "not enough history")


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


class ClosedHistory:
    """The closed signals of one source as columns (ordered by closed_at, id) plus the most recent rows whole.

    `on_event` collects the ids the tracker reports closed (events arrive after their transaction commits);
    `sync` reads just those rows. A count check against the table catches anything the events missed (another
    writer, a restart) and falls back to a full reload, so the columns always equal the table."""

    _COLS = "id, closed_at, pnl_pct, status, confluence_score, ml_probability, bars_held"

    def __init__(self, db: Database, source: str, recent: int = 300) -> None:
        self.db = db
        self.source = source
        self.recent = recent
        self._pending: set[int] = set()
        self.version = 0
        self._equity: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None
        self._reload()

    def __len__(self) -> int:
        return len(self.cols["id"])

    def on_event(self, event: Any) -> None:
        if event.kind == "signal_closed":
            self._pending.add(int(event.data["id"]))

    def sync(self) -> bool:
        """Bring the columns up to date with the database; True when something changed."""
        count = int(self.db.query("SELECT COUNT(*) FROM live_signals WHERE status != 'OPEN' AND source = ?",
                                  (self.source,))[0][0])
        pending, self._pending = self._pending, set()
        if count == len(self):
            return False
        fresh = sorted(pending - set(self.cols["id"][np.isin(self.cols["id"], list(pending))].tolist()))
        rows = []
        for k in range(0, len(fresh), _ID_CHUNK):
            part = fresh[k:k + _ID_CHUNK]
            rows += self.db.query(f"SELECT * FROM live_view WHERE status != 'OPEN' AND source = ? AND id IN "
                                  f"({','.join('?' * len(part))})", (self.source, *part))
        if rows:
            self._extend(rows)
        if count != len(self):
            self._reload()
        self.version += 1
        return True

    def _columns(self, rows: Sequence[Any]) -> dict[str, np.ndarray]:
        names = [c.strip() for c in self._COLS.split(",")]
        cols = list(zip(*[[r[n] for n in names] for r in rows], strict=True)) if rows else [()] * len(names)
        return {
            "id": np.array(cols[0], dtype=np.int64), "closed_at": np.array(cols[1], dtype=np.int64),
            "pnl": np.array(cols[2], dtype=np.float64), "status": np.array(cols[3], dtype="<U7"),
            "score": np.array(cols[4], dtype=np.float64),
            "ml": np.array([np.nan if v is None else v for v in cols[5]], dtype=np.float64),
            "bars": np.array(cols[6], dtype=np.int64),
        }

    def _set(self, cols: dict[str, np.ndarray]) -> None:
        order = np.lexsort((cols["id"], cols["closed_at"]))
        self.cols = {k: _frozen(v[order]) for k, v in cols.items()}

    @staticmethod
    def _whole(row: Any) -> dict[str, Any]:
        r = dict(row)
        r["closed_text"] = dt.datetime.fromtimestamp(r["closed_at"] / 1000, dt.UTC).strftime("%m-%d %H:%M")
        return r

    def _reload(self) -> None:
        rows = self.db.query(f"SELECT {self._COLS} FROM live_view WHERE status != 'OPEN' AND source = ?",
                             (self.source,))
        self._set(self._columns(rows))
        self.recent_rows = tuple(self._whole(r) for r in self.db.query(
            "SELECT * FROM live_view WHERE status != 'OPEN' AND source = ? ORDER BY closed_at DESC, id DESC "
            "LIMIT ?", (self.source, self.recent)))

    def _extend(self, rows: Sequence[Any]) -> None:
        new = self._columns(rows)
        self._set({k: np.concatenate([v, new[k]]) for k, v in self.cols.items()})
        merged = [*self.recent_rows, *(self._whole(r) for r in rows)]
        merged.sort(key=lambda r: (r["closed_at"], r["id"]), reverse=True)
        self.recent_rows = tuple(merged[:self.recent])

    def equity(self) -> tuple[np.ndarray, np.ndarray]:
        """(closed_at in seconds, cumulative pnl %), recomputed only when the history changed."""
        if self._equity is None or self._equity[0] != self.version:
            c = self.cols
            self._equity = (self.version, (_frozen(c["closed_at"] / 1000.0), _frozen(np.cumsum(c["pnl"]))))
        return self._equity[1]

    def summary(self, since_ms: int | None = None) -> dict[str, Any]:
        c = self.cols
        m = slice(None) if since_ms is None else c["closed_at"] >= since_ms
        return stats.summary(c["status"][m], c["pnl"][m], c["bars"][m])

    def calibration(self) -> dict[str, Any]:
        """Observed win rate per score bucket, and per ML-probability decile against the mean prediction."""
        c = self.cols
        has = ~np.isnan(c["ml"])
        p, win = c["ml"][has], c["status"][has] == "WIN"
        idx = np.minimum((p * 10).astype(int), 9)
        bins = [{"lo": b / 10, "hi": (b + 1) / 10, "mean_predicted": float(p[idx == b].mean()),
                 **stats.rate_entry(int(win[idx == b].sum()), int((idx == b).sum()))} for b in np.unique(idx)]
        return {"live": stats.by_score(c["score"], c["status"]), "ml": bins}


def open_rows(db: Database, accuracy: AccuracyTable, costs: Costs, source: str) -> tuple[dict[str, Any], ...]:
    rows = []
    # Only this source's records: simulated numbers never mix with live or replayed ones.
    for r in db.query("SELECT * FROM live_view WHERE status = 'OPEN' AND source = ? ORDER BY id", (source,)):
        side = 1 if r["side"] == "LONG" else -1
        last = r["last_price"]
        rows.append({
            "id": r["id"], "symbol": r["symbol"], "timeframe": r["timeframe"], "side": r["side"], "entry": r["entry"],
            "stop_loss": r["stop_loss"], "take_profit": r["take_profit"], "last_price": last,
            "unrealised_pct": None if last is None else float(net_pnl_pct(side, r["entry"], last, costs)),
            "confluence_score": r["confluence_score"], "accuracy": accuracy.text(r["confluence_score"]),
            "ml_probability": r["ml_probability"], "status_text": TRACKING + (" (entry at next open)"
                                                                             if r["entry_provisional"] else ""),
            "closed_candle_ms": r["signal_time"] + timeframe_ms(r["timeframe"]), "signal_time": r["signal_time"],
            "bars_held": r["bars_held"], "mfe_pct": r["mfe_pct"], "mae_pct": r["mae_pct"],
        })
    return tuple(rows)


def build(db: Database, history: ClosedHistory, accuracy: AccuracyTable, costs: Costs, ml_status: str,
          last_scan_ms: int | None, errors: dict[str, str], now_s: float, label: str | None = None) -> Snapshot:
    """The snapshot of `history.source` (the tracker's label for the records); `label` is what the status bar
    shows."""
    history.sync()
    opened = open_rows(db, accuracy, costs, history.source)
    day_start = int(dt.datetime.fromtimestamp(now_s, dt.UTC).replace(hour=0, minute=0, second=0,
                                                                      microsecond=0).timestamp() * 1000)
    all_stats = history.summary()
    all_stats["open"] = len(opened)
    alerts = tuple(r["message"] for r in db.query("SELECT message FROM events WHERE kind = 'drift_alert' "
                                                  "ORDER BY id DESC LIMIT 20"))
    return Snapshot(opened, history.recent_rows, history.summary(day_start), all_stats, history.equity(),
                    {**history.calibration(), "backtest": accuracy.buckets}, label or history.source, ml_status,
                    last_scan_ms, dict(errors), alerts, now_s, accuracy.run_id is not None)
