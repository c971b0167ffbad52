"""What the dashboard shows, computed from the database and the tracker (no Qt): an immutable snapshot the
GUI copies into its models. Every rate carries its sample size and interval; nothing is invented.

Closed signals are kept in memory by `ClosedHistory` and extended only by the rows closed since the last
snapshot: re-reading every closed row each second took ~300 ms at 10k rows in the worker thread, and the GIL
it held showed up as event-loop lag in the window (issue 10's soak)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core import stats
from app.core.candles import timeframe_ms
from app.core.outcomes import Costs, net_pnl_pct
from app.market.sources import ConnectionState, Quote
from app.services.live.accuracy import AccuracyTable
from app.services.live.watchlist import WatchRow
from app.storage.db import Database

TRACKING = "Tracking live…"
_ID_CHUNK = 500  # ids per `IN (...)`: well under SQLite's host-parameter limit


@dataclass(frozen=True, slots=True)
class OpenRow:
    """An open signal as the window shows it (a row of the active-signals table)."""

    id: int
    symbol: str
    timeframe: str
    side: str
    entry: float
    stop_loss: float
    take_profit: float
    last_price: float | None
    unrealised_pct: float | None  # if closed at the last price, after fees and slippage on both sides
    confluence_score: float
    accuracy: str  # what history says about its score band (AccuracyTable.text)
    ml_probability: float | None
    status_text: str
    closed_candle_ms: int  # when the signal candle closed: the start of its real elapsed time
    signal_time: int
    bars_held: int
    mfe_pct: float | None
    mae_pct: float | None
    provisional: bool = False  # entry is the signal candle's close until the next candle opens


@dataclass(frozen=True, slots=True)
class ClosedRow:
    """A signal that reached its outcome (a row of the completions table)."""

    id: int
    symbol: str
    timeframe: str
    side: str
    entry: float
    stop_loss: float
    take_profit: float
    exit_price: float | None
    status: str  # WIN / LOSS / EXPIRED
    pnl_pct: float  # after fees and slippage on both sides
    closed_at: int  # open time of the candle that decided it
    signal_time: int
    bars_held: int
    confluence_score: float
    ml_probability: float | None
    source: str
    ambiguous: bool = False

    @staticmethod
    def of(r: Any) -> ClosedRow:
        return ClosedRow(int(r["id"]), r["symbol"], r["timeframe"], r["side"], float(r["entry"]),
                         float(r["stop_loss"]), float(r["take_profit"]), r["exit_price"], r["status"],
                         float(r["pnl_pct"]), int(r["closed_at"]), int(r["signal_time"]), int(r["bars_held"] or 0),
                         float(r["confluence_score"]), r["ml_probability"], r["source"], bool(r["ambiguous"]))


@dataclass(frozen=True)
class Snapshot:
    open_rows: tuple[OpenRow, ...]
    closed_rows: tuple[ClosedRow, ...]  # most recent first
    today: stats.Summary
    all_time: stats.Summary
    equity: tuple[np.ndarray, np.ndarray]  # the account's return % after each exit (s), read-only (app.core.portfolio)
    calibration: dict[str, Any]
    source: str
    ml_status: str
    last_scan_ms: int | None
    errors: dict[str, str] = field(default_factory=dict)
    drift_alerts: tuple[str, ...] = ()
    made_at: float = 0.0
    has_history: bool = True  # a finished backtest exists (else every accuracy is "not enough history")
    headline: dict[str, Any] = field(default_factory=dict)  # expectancy (clustered interval) and the account
    verdict: dict[str, Any] | None = None  # the backtest verdict for these settings: {run_id, verdict, text}
    quotes: dict[str, Quote] = field(default_factory=dict)  # symbol -> latest prices (sources that have them)
    connection: ConnectionState | None = None  # of the source, always shown
    watchlist: tuple[WatchRow, ...] = ()  # every watched symbol, in the settings' order
    ticks: dict[str, float] = field(default_factory=dict)  # symbol -> tick size, for every price shown
    timeframes: tuple[str, ...] = ()  # the watched timeframes (the first is the watchlist's)
    min_score: float = 0.0  # a setup at or above it is a signal
    symbols_watched: int = 0
    clock_ms: int | None = None  # the source's clock when made (a replay's clock is not the wall clock)
    skipped_for_costs: int = 0  # setups turned away this session: their target did not pay its costs
    notifications: dict[str, Any] = field(default_factory=dict)  # alerts and tasks (app.session.health)
    disk_warning: str | None = None  # the data folder's disk is almost full


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


_DTYPES = {"id": np.int64, "closed_at": np.int64, "pnl": np.float64, "status": "<U7", "score": np.float64,
           "ml": np.float64, "bars": np.int64, "symbol": object, "signal_time": np.int64, "tf_ms": np.int64,
           "stop_pct": np.float64}
_BUCKETS = int(100 / stats.BAND_WIDTH)  # score bands, as stats.band_of
_BINS = 10  # ML probability deciles


class ClosedHistory:
    """The closed signals of one source as columns ordered by (closed_at, id), their running totals, and the
    most recent rows whole.

    `on_event` collects the ids the tracker reports closed (events arrive after their transaction commits);
    `sync` reads just those rows. When another connection has written (`PRAGMA data_version`), a count check
    against the table catches what no event told (e.g. `scalpdesk track` on the same database) and falls back
    to a full reload, so the figures always equal the table.

    Rows are appended to preallocated buffers and every total is additive, so a second's work depends on the
    rows that closed in it, not on the size of the history (a 20-minute soak at 1,000 signals a minute showed
    the snapshot time doubling when everything was recomputed). Rows that arrive out of order rebuild the
    buffers; the views handed out earlier are never written to."""

    _COLS = ("id, closed_at, pnl_pct, status, confluence_score, ml_probability, bars_held, symbol, signal_time, "
             "timeframe, entry, stop_loss")

    def __init__(self, db: Database, source: str, recent: int = 300, risk_pct: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, headline_every_s: float = 10.0) -> None:
        self.db = db
        self.source = source
        self.risk_pct = risk_pct
        self.headline_every_s = headline_every_s
        self._clock = clock
        self._headline: tuple[int, float, dict[str, Any]] | None = None  # (version, when, figures)
        self.recent = recent
        self._pending: set[int] = set()
        self.version = 0
        self.rebuilds = 0  # in-memory rebuilds (rows out of order); full reloads are counted by `reloads`
        self.reloads = 0
        self._data_version = 0
        self._reload()

    def __len__(self) -> int:
        return self._n

    @property
    def cols(self) -> dict[str, np.ndarray]:
        return {k: _frozen(v[:self._n]) for k, v in self._buf.items()}

    def on_event(self, event: Any) -> None:
        if event.kind == "signal_closed":
            self._pending.add(int(event.data["id"]))

    def sync(self) -> bool:
        """Bring the columns up to date with the database; True when something changed."""
        # data_version moves only when another connection commits: our own tracker's closes come as events.
        version = int(self.db.query("PRAGMA data_version")[0][0])
        other_writer, self._data_version = version != self._data_version, version
        pending, self._pending = self._pending, set()
        if not pending and not other_writer:
            return False
        before, reloads = len(self), self.reloads
        ids = self._buf["id"][:self._n]
        fresh = sorted(pending - set(ids[np.isin(ids, list(pending))].tolist()))
        rows = []
        for k in range(0, len(fresh), _ID_CHUNK):
            part = fresh[k:k + _ID_CHUNK]
            rows += self.db.query(f"SELECT * FROM live_view WHERE status != 'OPEN' AND source = ? AND id IN "
                                  f"({','.join('?' * len(part))})", (self.source, *part))
        if rows:
            self._extend(rows)
        if other_writer and self._count() != len(self):  # a count is O(history): only when someone else wrote
            self._reload()
        if len(self) == before and self.reloads == reloads:
            return False
        self.version += 1
        return True

    def _count(self) -> int:
        return int(self.db.query("SELECT COUNT(*) FROM live_signals WHERE status != 'OPEN' AND source = ?",
                                 (self.source,))[0][0])

    def _columns(self, rows: Sequence[Any]) -> dict[str, np.ndarray]:
        names = [c.strip() for c in self._COLS.split(",")]
        cols = list(zip(*[[r[n] for n in names] for r in rows], strict=True)) if rows else [()] * len(names)
        out = {
            "id": np.array(cols[0], dtype=np.int64), "closed_at": np.array(cols[1], dtype=np.int64),
            "pnl": np.array(cols[2], dtype=np.float64), "status": np.array(cols[3], dtype="<U7"),
            "score": np.array(cols[4], dtype=np.float64),
            "ml": np.array([np.nan if v is None else v for v in cols[5]], dtype=np.float64),
            "bars": np.array(cols[6], dtype=np.int64), "symbol": np.array(cols[7], dtype=object),
            "signal_time": np.array(cols[8], dtype=np.int64),
            "tf_ms": np.array([timeframe_ms(t) for t in cols[9]], dtype=np.int64),
            "stop_pct": 100.0 * np.abs(np.array(cols[10], dtype=np.float64) - np.array(cols[11], dtype=np.float64))
            / np.array(cols[10], dtype=np.float64) if rows else np.empty(0),
        }
        order = np.lexsort((out["id"], out["closed_at"]))
        out = {k: v[order] for k, v in out.items()}
        return out

    def _rebuild(self, cols: dict[str, np.ndarray]) -> None:
        """Fresh buffers and totals from sorted columns."""
        n = len(cols["id"])
        self._buf = {k: np.empty(max(1024, 2 * n), dtype=_DTYPES[k]) for k in _DTYPES}
        self._n = 0
        self.totals = stats.Totals()
        self._score_n = np.zeros(_BUCKETS, dtype=np.int64)
        self._score_wins = np.zeros(_BUCKETS, dtype=np.int64)
        self._ml_n = np.zeros(_BINS, dtype=np.int64)
        self._ml_wins = np.zeros(_BINS, dtype=np.int64)
        self._ml_p = np.zeros(_BINS, dtype=np.float64)
        self._append(cols)

    def _append(self, new: dict[str, np.ndarray]) -> None:
        """Sorted rows that all come after the ones held: written past the end, totals extended."""
        a, b = self._n, self._n + len(new["id"])
        if b > len(self._buf["id"]):  # grow: new buffers, so views already handed out stay as they were
            self._buf = {k: np.concatenate([v[:a], np.empty(max(b, 2 * a) - a, dtype=v.dtype)])
                         for k, v in self._buf.items()}
        for k, v in new.items():
            self._buf[k][a:b] = v
        self.totals.add(new["status"], new["pnl"], new["bars"])
        win = new["status"] == "WIN"
        bucket = (stats.band_of(new["score"]) / stats.BAND_WIDTH).astype(np.int64)
        np.add.at(self._score_n, bucket, 1)
        np.add.at(self._score_wins, bucket[win], 1)
        has = ~np.isnan(new["ml"])
        dec = np.minimum((new["ml"][has] * _BINS).astype(np.int64), _BINS - 1)
        np.add.at(self._ml_n, dec, 1)
        np.add.at(self._ml_wins, dec[win[has]], 1)
        np.add.at(self._ml_p, dec, new["ml"][has])
        self._n = b

    def _reload(self) -> None:
        self.reloads += 1
        self._data_version = int(self.db.query("PRAGMA data_version")[0][0])
        rows = self.db.query(f"SELECT {self._COLS} FROM live_view WHERE status != 'OPEN' AND source = ?",
                             (self.source,))
        self._rebuild(self._columns(rows))
        self.recent_rows = tuple(ClosedRow.of(r) for r in self.db.query(
            "SELECT * FROM live_view WHERE status != 'OPEN' AND source = ? ORDER BY closed_at DESC, id DESC "
            "LIMIT ?", (self.source, self.recent)))

    def _extend(self, rows: Sequence[Any]) -> None:
        new = self._columns(rows)
        n = self._n
        last = (self._buf["closed_at"][n - 1], self._buf["id"][n - 1]) if n else None
        if last is None or (new["closed_at"][0], new["id"][0]) > last:
            self._append(new)
        else:  # a row older than the newest held (another timeframe, a catch-up): rebuild in order
            self.rebuilds += 1
            held = {k: v[:n] for k, v in self._buf.items()}
            merged = {k: np.concatenate([held[k], new[k]]) for k in held}
            order = np.lexsort((merged["id"], merged["closed_at"]))
            self._rebuild({k: v[order] for k, v in merged.items()})
        merged_rows = [*self.recent_rows, *(ClosedRow.of(r) for r in rows)]
        merged_rows.sort(key=lambda r: (r.closed_at, r.id), reverse=True)
        self.recent_rows = tuple(merged_rows[:self.recent])

    def headline(self) -> dict[str, Any]:
        """Net expectancy per trade with its interval clustered by day, and the account simulation of the closed
        signals (app.core.portfolio): recomputed when signals closed, at most every `headline_every_s` seconds once
        the history is large (`as_of_version` tells which history it describes)."""
        now = self._clock()
        cached = self._headline
        if cached is not None and (cached[0] == self.version or
                                   (self._n > 2000 and now - cached[1] < self.headline_every_s)):
            return cached[2]
        from app.core.bootstrap import mean_interval
        from app.core.portfolio import simulate

        n = self._n
        b = {k: v[:n] for k, v in self._buf.items()}
        order = np.argsort(b["signal_time"], kind="stable")
        exp = mean_interval(b["pnl"][order], b["signal_time"][order], reps=1000)
        port = simulate(b["symbol"], b["signal_time"] + b["tf_ms"], b["closed_at"] + b["tf_ms"], b["pnl"],
                        b["stop_pct"], self.risk_pct)
        figures = {"expectancy": exp.to_dict(), "portfolio": port.to_dict(),
                   "account_curve": (_frozen(port.curve_time / 1000.0), _frozen(port.curve_equity)),
                   "as_of_version": self.version}
        self._headline = (self.version, now, figures)
        return figures

    def summary(self, since_ms: int | None = None) -> stats.Summary:
        if since_ms is None:
            return stats.summary_of(self.totals)
        start = int(np.searchsorted(self._buf["closed_at"][:self._n], since_ms, side="left"))
        return stats.summary(*(self._buf[k][start:self._n] for k in ("status", "pnl", "bars")))

    def calibration(self) -> dict[str, Any]:
        """Observed win rate per score bucket, and per ML-probability decile against the mean prediction."""
        live = [{"lo": float(b * 5.0), "hi": float((b + 1) * 5.0),
                 **stats.rate_entry(int(self._score_wins[b]), int(self._score_n[b]))}
                for b in np.flatnonzero(self._score_n)]
        ml = [{"lo": float(b / _BINS), "hi": float((b + 1) / _BINS),
               "mean_predicted": float(self._ml_p[b] / self._ml_n[b]),
               **stats.rate_entry(int(self._ml_wins[b]), int(self._ml_n[b]))} for b in np.flatnonzero(self._ml_n)]
        return {"live": live, "ml": ml}


_OPEN_COLS = ("id, symbol, timeframe, side, entry, stop_loss, take_profit, last_price, confluence_score, "
              "ml_probability, entry_provisional, signal_time, bars_held, mfe_pct, mae_pct")


def open_rows(db: Database, accuracy: AccuracyTable, costs: Costs, source: str) -> tuple[OpenRow, ...]:
    rows = []
    texts: dict[tuple[str, str, float], str] = {}  # the accuracy text per signal kind, formatted once a snapshot
    # Only this source's records: simulated numbers never mix with live or replayed ones.
    for r in db.query(f"SELECT {_OPEN_COLS} FROM live_view WHERE status = 'OPEN' AND source = ? ORDER BY id",
                      (source,)):
        side = 1 if r["side"] == "LONG" else -1
        last = r["last_price"]
        score = r["confluence_score"]
        key = (r["symbol"], r["timeframe"], score)
        if key not in texts:
            texts[key] = accuracy.text(score, r["symbol"], r["timeframe"])
        provisional = bool(r["entry_provisional"])
        rows.append(OpenRow(
            int(r["id"]), r["symbol"], r["timeframe"], r["side"], float(r["entry"]), float(r["stop_loss"]),
            float(r["take_profit"]), last, None if last is None else float(net_pnl_pct(side, r["entry"], last, costs)),
            float(score), texts[key], r["ml_probability"], TRACKING + (" (entry at next open)" if provisional else ""),
            int(r["signal_time"]) + timeframe_ms(r["timeframe"]), int(r["signal_time"]), int(r["bars_held"] or 0),
            r["mfe_pct"], r["mae_pct"], provisional))
    return tuple(rows)


def build(db: Database, history: ClosedHistory, accuracy: AccuracyTable, costs: Costs, ml_status: str,
          last_scan_ms: int | None, errors: dict[str, str], now_s: float, label: str | None = None,
          quotes: dict[str, Quote] | None = None, connection: ConnectionState | None = None,
          watchlist: Callable[[tuple[OpenRow, ...]], tuple[WatchRow, ...]] | None = None, **extra: Any) -> Snapshot:
    """The snapshot of `history.source` (the tracker's label for the records); `label` is what the status bar
    shows. `watchlist` makes the watchlist rows from the open ones; `extra` fills the remaining Snapshot fields."""
    history.sync()
    opened = open_rows(db, accuracy, costs, history.source)
    clock_ms = extra.get("clock_ms")  # "today" is the source's day: a replay of August is not judged by today's date
    day_of = now_s if clock_ms is None else clock_ms / 1000.0
    day_start = int(dt.datetime.fromtimestamp(day_of, dt.UTC).replace(hour=0, minute=0, second=0,
                                                                       microsecond=0).timestamp() * 1000)
    all_stats = history.summary()
    all_stats["open"] = len(opened)
    alerts = tuple(r["message"] for r in db.query("SELECT message FROM events WHERE kind = 'drift_alert' "
                                                  "ORDER BY id DESC LIMIT 20"))
    head = history.headline()
    t, e = head["account_curve"]
    return Snapshot(opened, history.recent_rows, history.summary(day_start), all_stats, (t, _frozen((e - 1.0) * 100.0)),
                    {**history.calibration(), "backtest": accuracy.buckets}, label or history.source, ml_status,
                    last_scan_ms, dict(errors), alerts, now_s, accuracy.run_id is not None,
                    {k: v for k, v in head.items() if k != "account_curve"}, accuracy.verdict(),
                    dict(quotes or {}), connection, watchlist(opened) if watchlist is not None else (), **extra)
