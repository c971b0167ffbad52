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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.candles import timeframe_ms
from app.core.outcomes import OUTCOME_WORDS, Costs, net_pnl_pct
from app.core.signals import Signal
from app.storage import live as repo
from app.storage.db import Connection, Database

COLUMNS = ("id", "side", "entry", "sl", "tp", "signal_time", "last_time", "bars", "mfe", "mae", "last_price",
           "provisional", "max_hold", "tf_ms", "created_at", "score", "atr", "sl_atr", "tp_atr")


_DTYPES = {"id": np.int64, "side": np.int64, "signal_time": np.int64, "last_time": np.int64, "bars": np.int64,
           "provisional": np.bool_, "max_hold": np.int64, "tf_ms": np.int64, "created_at": np.int64}


@dataclass(frozen=True)
class Event:
    kind: str  # signal_opened, signal_closed, source_status, drift_alert, connection (the source's state changed)
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

    def emit(self, kind: str, data: dict[str, Any]) -> None:
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
        for r in repo.open_rows(self.db.conn, self.source):
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
        new: dict[str, np.ndarray] = {c: np.array([row[c]], dtype=_DTYPES.get(c, np.float64)) for c in COLUMNS}
        if g is None:
            self._book[(symbol, timeframe)] = new
        else:
            self._book[(symbol, timeframe)] = {c: np.concatenate([g[c], new[c]]) for c in COLUMNS}

    @property
    def open_count(self) -> int:
        return sum(len(g["id"]) for g in self._book.values())

    def open_keys(self) -> list[tuple[str, str]]:
        return [k for k, g in self._book.items() if len(g["id"])]

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
            self.emit("signal_opened", {"id": new_id, **signal.to_dict(), "source": self.source})
            return new_id

    def on_candle(self, symbol: str, timeframe: str, t: int, o: float, h: float, lo: float, c: float) -> int:
        """Apply one closed candle (see on_candles)."""
        return self.on_candles(symbol, timeframe, np.array([t], dtype=np.int64), np.array([o]), np.array([h]),
                               np.array([lo]), np.array([c]))

    def on_candles(self, symbol: str, timeframe: str, t: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray,
                   c: np.ndarray) -> int:
        """Apply new closed candles (ascending) to the open signals of that symbol; returns how many closed.

        Runs inside a cycle(): the changed rows are written in the cycle's transaction.
        """
        from app.core.kernels import track_walk

        g = self._book.get((symbol, timeframe))
        if g is None or len(g["id"]) == 0 or len(t) == 0:
            return 0
        conn = self._conn
        assert conn is not None, "on_candles runs inside a cycle()"
        before_last = g["last_time"].copy()
        was_provisional = g["provisional"].copy()
        m = len(g["id"])
        status = np.full(m, -1, dtype=np.int64)
        exit_price = np.full(m, np.nan)
        exit_time = np.zeros(m, dtype=np.int64)
        ambiguous = np.zeros(m, dtype=np.bool_)
        f = np.ascontiguousarray
        track_walk(f(t, dtype=np.int64), f(o, dtype=np.float64), f(h, dtype=np.float64), f(lo, dtype=np.float64),
                   f(c, dtype=np.float64), int(g["tf_ms"][0]), g["side"], g["entry"], g["sl"], g["tp"], g["atr"],
                   g["sl_atr"], g["tp_atr"], g["provisional"], g["signal_time"], g["last_time"], g["bars"], g["mfe"],
                   g["mae"], g["last_price"], g["max_hold"], status, exit_price, exit_time, ambiguous)
        moved = g["last_time"] != before_last
        done = status >= 0
        still = np.flatnonzero(moved & ~done)
        if len(still):
            fix = still[was_provisional[still] & ~g["provisional"][still]]
            repo.update_open(conn, list(zip(
                g["last_price"][still].tolist(), g["last_time"][still].tolist(), g["bars"][still].tolist(),
                g["mfe"][still].tolist(), g["mae"][still].tolist(), g["id"][still].tolist(), strict=True)),
                list(zip(g["entry"][fix].tolist(), g["sl"][fix].tolist(), g["tp"][fix].tolist(),
                         g["id"][fix].tolist(), strict=True)))
        sel = np.flatnonzero(done)
        if len(sel):
            names = OUTCOME_WORDS[status[sel]]
            pnl = net_pnl_pct(g["side"][sel], g["entry"][sel], exit_price[sel], self.costs)
            rows = list(zip(names.tolist(), exit_time[sel].tolist(), exit_price[sel].tolist(), pnl.tolist(),
                            ambiguous[sel].astype(int).tolist(), g["entry"][sel].tolist(), g["sl"][sel].tolist(),
                            g["tp"][sel].tolist(), g["last_price"][sel].tolist(), g["last_time"][sel].tolist(),
                            g["bars"][sel].tolist(), g["mfe"][sel].tolist(), g["mae"][sel].tolist(),
                            g["id"][sel].tolist(), strict=True))
            repo.close_signals(conn, rows)
            for r in rows:
                self.emit("signal_closed", {"id": r[13], "source": self.source, "symbol": symbol,
                                             "timeframe": timeframe, "status": r[0], "closed_at": r[1],
                                             "exit_price": r[2], "pnl_pct": r[3], "ambiguous": bool(r[4]),
                                             "bars_held": r[10]})
            keep = ~done
            self._book[(symbol, timeframe)] = {col: v[keep] for col, v in g.items()}
        return len(sel)

    def on_tick(self, symbol: str, price: float, bid: float | None = None, ask: float | None = None) -> int:
        """A live price for display: last price and excursions (unrealised P&L follows from them). With the best
        bid and ask, a LONG is marked at the bid and a SHORT at the ask (what closing it would get now).
        Decides nothing: outcomes come from closed candles only."""
        with self.cycle() as conn:
            return self._tick(conn, symbol, price, bid, ask)

    def on_quotes(self, quotes: Mapping[str, Any]) -> int:
        """Marks from many symbols' quotes (objects with `last`, `bid`, `ask`) in one transaction."""
        changed = 0
        with self.cycle() as conn:
            for symbol, q in quotes.items():
                changed += self._tick(conn, symbol, float(q.last), q.bid, q.ask)
        return changed

    def _tick(self, conn: Connection, symbol: str, price: float, bid: float | None, ask: float | None) -> int:
        long_px = float(bid) if bid is not None and bid > 0 else price
        short_px = float(ask) if ask is not None and ask > 0 else price
        changed = repo.apply_tick(conn, symbol, long_px, short_px)
        for (sym, _tf), g in self._book.items():
            if sym != symbol or len(g["id"]) == 0:
                continue
            live = ~g["provisional"]
            px = np.where(g["side"] > 0, long_px, short_px)
            g["last_price"][live] = px[live]
            move = g["side"] * (px - g["entry"]) / g["entry"] * 100.0
            np.maximum(g["mfe"], move, out=g["mfe"], where=live)
            np.minimum(g["mae"], move, out=g["mae"], where=live)
        return changed
