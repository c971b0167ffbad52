"""LiveSignalTracker: follows every recorded signal to its outcome with the backtest's rules.

Open signals live in memory as columns (fast for thousands) mirrored in `live_signals`. Outcomes are
decided on closed candles only: the first candle after the signal fixes a provisional entry at its open
(SL and TP keep their ATR distances), then each candle checks stop and target exactly as
app.core.outcomes does; after H candles the signal expires at the close. A missing candle stops the
signal's clock until the candle arrives: nothing is decided on missing data. Ticks only move the last
price, the unrealised P&L and the excursions shown to the user.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.candles import timeframe_ms
from app.core.outcomes import Costs
from app.core.signals import Signal
from app.storage import live as repo
from app.storage.db import Connection, Database

COLUMNS = ("id", "side", "entry", "sl", "tp", "signal_time", "last_time", "bars", "mfe", "mae", "last_price",
           "provisional", "max_hold", "tf_ms", "created_at", "score", "atr", "sl_atr", "tp_atr")


@dataclass(frozen=True)
class Event:
    kind: str  # signal_opened, signal_updated, signal_closed, scan_finished, source_status, drift_alert, ml_skipped
    data: dict[str, Any]


Listener = Callable[[Event], None]


class LiveSignalTracker:
    def __init__(self, db: Database, costs: Costs, max_hold: int, sl_atr: float, tp_atr: float,
                 source: str = "") -> None:
        self.db = db
        self.costs = costs
        self.max_hold = max_hold
        self.sl_atr = sl_atr
        self.tp_atr = tp_atr
        self.source = source
        self.listeners: list[Listener] = []
        self._conn: Connection | None = None
        self._pending: list[Event] = []
        self._book: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        self.load_open()

    # ---------------------------------------------------------------- plumbing
    def subscribe(self, fn: Listener) -> None:
        self.listeners.append(fn)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        event = Event(kind, data)
        if self._conn is not None:
            self._pending.append(event)  # published only once the transaction is committed
        else:
            for fn in self.listeners:
                fn(event)

    @contextlib.contextmanager
    def cycle(self) -> Iterator[Connection]:
        """Everything inside is one transaction; events are published after the commit."""
        if self._conn is not None:
            yield self._conn
            return
        snapshot = {k: {c: v.copy() for c, v in g.items()} for k, g in self._book.items()}
        try:
            with self.db.transaction() as conn:
                self._conn = conn
                yield conn
        except BaseException:
            self._book = snapshot  # the database rolled back: so does the memory
            self._pending.clear()
            raise
        finally:
            self._conn = None
        events, self._pending = self._pending, []
        for event in events:
            for fn in self.listeners:
                fn(event)

    def load_open(self) -> None:
        """Resume every open signal from the database (after a restart or a crash)."""
        self._book = {}
        for r in repo.open_rows(self.db.conn):
            self._append(r["symbol"], r["timeframe"], {
                "id": r["id"], "side": 1 if r["side"] == "LONG" else -1, "entry": r["entry"], "sl": r["stop_loss"],
                "tp": r["take_profit"], "signal_time": r["signal_time"],
                "last_time": r["last_candle_time"] if r["last_candle_time"] is not None else r["signal_time"],
                "bars": r["bars_held"], "mfe": r["mfe_pct"], "mae": r["mae_pct"],
                "last_price": r["last_price"] if r["last_price"] is not None else np.nan,
                "provisional": bool(r["entry_provisional"]), "max_hold": r["max_hold"],
                "tf_ms": timeframe_ms(r["timeframe"]), "created_at": r["created_at"],
                "score": r["confluence_score"], "atr": r["atr"],
                "sl_atr": r["sl_atr"] if r["sl_atr"] is not None else self.sl_atr,
                "tp_atr": r["tp_atr"] if r["tp_atr"] is not None else self.tp_atr})

    def _append(self, symbol: str, timeframe: str, row: dict[str, Any]) -> None:
        g = self._book.get((symbol, timeframe))
        new = {c: np.array([row[c]]) for c in COLUMNS}
        new["provisional"] = new["provisional"].astype(bool)
        if g is None:
            self._book[(symbol, timeframe)] = new
        else:
            self._book[(symbol, timeframe)] = {c: np.concatenate([g[c], new[c]]) for c in COLUMNS}

    @property
    def open_count(self) -> int:
        return sum(len(g["id"]) for g in self._book.values())

    def open_keys(self) -> list[tuple[str, str]]:
        return [k for k, g in self._book.items() if len(g["id"])]

    def unrealised(self, side: np.ndarray, entry: np.ndarray, price: np.ndarray) -> np.ndarray:
        return np.asarray(100.0 * side * (price - entry) / entry - self.costs.round_trip_pct)

    # ---------------------------------------------------------------- signals
    def add_signal(self, signal: Signal) -> int | None:
        """Record a signal (once: the same symbol, timeframe, side and candle is never recorded twice)."""
        with self.cycle() as conn:
            new_id = repo.insert_signal(conn, signal, self.source, self.max_hold, self.sl_atr, self.tp_atr)
            if new_id is None:
                return None
            self._append(signal.symbol, signal.timeframe, {
                "id": new_id, "side": 1 if signal.side == "LONG" else -1, "entry": signal.entry, "sl": signal.stop_loss,
                "tp": signal.take_profit, "signal_time": signal.signal_time, "last_time": signal.signal_time,
                "bars": 0, "mfe": 0.0, "mae": 0.0, "last_price": np.nan, "provisional": signal.entry_provisional,
                "max_hold": self.max_hold, "tf_ms": timeframe_ms(signal.timeframe),
                "created_at": signal.created_at or int(time.time() * 1000), "score": signal.confluence_score,
                "atr": signal.atr, "sl_atr": self.sl_atr, "tp_atr": self.tp_atr})
            self._emit("signal_opened", {"id": new_id, **signal.to_dict()})
            return new_id

    def on_candle(self, symbol: str, timeframe: str, t: int, o: float, h: float, lo: float, c: float) -> int:
        """Apply one closed candle to the open signals of that symbol; returns how many closed."""
        g = self._book.get((symbol, timeframe))
        if g is None or len(g["id"]) == 0:
            return 0
        nxt = g["last_time"] < t
        follows = nxt & (g["last_time"] + g["tf_ms"] == t)  # a gap stops the clock: never decide on missing data
        if not follows.any():
            return 0
        idx = np.flatnonzero(follows)
        side = g["side"][idx]
        first = g["provisional"][idx] & (t == g["signal_time"][idx] + g["tf_ms"][idx])
        if first.any():  # the entry becomes the open of t+1; SL and TP keep their ATR distances
            fix = idx[first]
            g["entry"][fix] = o
            g["sl"][fix] = o - g["side"][fix] * g["sl_atr"][fix] * g["atr"][fix]
            g["tp"][fix] = o + g["side"][fix] * g["tp_atr"][fix] * g["atr"][fix]
            g["provisional"][fix] = False
        entry, sl, tp = g["entry"][idx], g["sl"][idx], g["tp"][idx]
        is_long = side > 0
        tp_hit = np.where(is_long, h >= tp, lo <= tp)
        sl_hit = np.where(is_long, lo <= sl, h >= sl)
        bars = g["bars"][idx] + 1
        fav = np.where(is_long, h - entry, entry - lo) / entry * 100.0
        adv = np.where(is_long, lo - entry, entry - h) / entry * 100.0
        g["mfe"][idx] = np.maximum(g["mfe"][idx], fav)
        g["mae"][idx] = np.minimum(g["mae"][idx], adv)
        g["bars"][idx] = bars
        g["last_time"][idx] = t
        g["last_price"][idx] = c
        loss = sl_hit
        win = tp_hit & ~sl_hit
        expired = ~loss & ~win & (bars >= g["max_hold"][idx])
        done = loss | win | expired
        conn = self._conn
        assert conn is not None, "on_candle runs inside a cycle()"
        still = ~done
        if still.any():
            sel = idx[still]
            unreal = self.unrealised(g["side"][sel], g["entry"][sel], g["last_price"][sel])
            repo.update_open(conn, list(zip(
                g["entry"][sel].tolist(), g["sl"][sel].tolist(), g["tp"][sel].tolist(),
                [0] * len(sel), g["last_price"][sel].tolist(), [t] * len(sel), g["bars"][sel].tolist(),
                g["mfe"][sel].tolist(), g["mae"][sel].tolist(), unreal.tolist(), g["id"][sel].tolist(), strict=True)))
            for i, u in zip(sel.tolist(), unreal.tolist(), strict=True):
                self._emit("signal_updated", {"id": int(g["id"][i]), "symbol": symbol, "last_price": c,
                                              "unrealised_pct": u, "bars_held": int(g["bars"][i]),
                                              "mfe_pct": float(g["mfe"][i]), "mae_pct": float(g["mae"][i])})
        if done.any():
            sel = idx[done]
            status = np.where(loss[done], "LOSS", np.where(win[done], "WIN", "EXPIRED"))
            exit_price = np.where(loss[done], sl[done], np.where(win[done], tp[done], c))
            pnl = 100.0 * side[done] * (exit_price - entry[done]) / entry[done] - self.costs.round_trip_pct
            ambiguous = loss[done] & tp_hit[done]
            rows = list(zip(status.tolist(), [t] * len(sel), exit_price.tolist(), pnl.tolist(),
                            ambiguous.astype(int).tolist(), g["entry"][sel].tolist(), g["sl"][sel].tolist(),
                            g["tp"][sel].tolist(), [c] * len(sel), [t] * len(sel), g["bars"][sel].tolist(),
                            g["mfe"][sel].tolist(), g["mae"][sel].tolist(), g["id"][sel].tolist(), strict=True))
            repo.close_signals(conn, rows)
            for r in rows:
                self._emit("signal_closed", {"id": r[13], "symbol": symbol, "timeframe": timeframe, "status": r[0],
                                             "closed_at": t, "exit_price": r[2], "pnl_pct": r[3],
                                             "ambiguous": bool(r[4]), "bars_held": r[10]})
            keep = np.ones(len(g["id"]), dtype=bool)
            keep[sel] = False
            self._book[(symbol, timeframe)] = {col: v[keep] for col, v in g.items()}
        return int(done.sum())

    def on_tick(self, symbol: str, price: float) -> int:
        """A live price for display: last price, unrealised P&L after fees, excursions. Decides nothing."""
        changed = 0
        with self.cycle() as conn:
            for (sym, _tf), g in self._book.items():
                if sym != symbol or len(g["id"]) == 0:
                    continue
                live = ~g["provisional"]
                g["last_price"][live] = price
                side, entry = g["side"], g["entry"]
                move = side * (price - entry) / entry * 100.0
                g["mfe"][live] = np.maximum(g["mfe"][live], move[live])
                g["mae"][live] = np.minimum(g["mae"][live], move[live])
                unreal = self.unrealised(side, entry, g["last_price"])
                sel = np.flatnonzero(live)
                repo.update_ticks(conn, list(zip(g["last_price"][sel].tolist(), g["mfe"][sel].tolist(),
                                                 g["mae"][sel].tolist(), unreal[sel].tolist(), g["id"][sel].tolist(),
                                                 strict=True)))
                changed += len(sel)
        return changed
