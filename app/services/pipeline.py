"""The live pipeline: one cycle = fetch newly closed candles -> signals -> ML filter -> tracker.

Each cycle's writes (new signals, skipped-signal log, outcomes, feed positions) are one transaction, so
a crash at any moment leaves either the whole cycle or none of it; the next start resumes every open
signal and catches up from the stored feed positions. A symbol whose data fails is reported and retried
with backoff; the others go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from app.core import stats
from app.core.candles import Candles
from app.core.signals import EngineConfig, Signal, analyse_many, signals_from_analysis
from app.errors import ScalpDeskError
from app.market.sources import CandleSource
from app.services.drift import DriftMonitor
from app.services.tracker import LiveSignalTracker
from app.storage import live as repo

log = logging.getLogger(__name__)


@dataclass
class SymbolStatus:
    state: str = "waiting"  # ok / error / waiting
    message: str = ""
    failures: int = 0
    retry_at: float = 0.0
    last_candle: int | None = None
    gap_seen: int = 0  # cycles the same hole in the candles has been seen (refetched before it is accepted)


@dataclass(frozen=True)
class CycleResult:
    new_candles: int
    opened: list[int] = field(default_factory=list)
    skipped: int = 0
    closed: int = 0
    errors: dict[str, str] = field(default_factory=dict)


class LivePipeline:
    def __init__(self, source: CandleSource, symbols: list[str], timeframe: str, cfg: EngineConfig,
                 tracker: LiveSignalTracker, ml: Any = None, min_probability: float = 0.6, history: int = 1000,
                 max_buffer: int | None = None, drift: DriftMonitor | None = None, catch_up_all: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self.symbols = list(symbols)
        self.timeframe = timeframe
        self.cfg = cfg
        self.tracker = tracker
        self.ml = ml
        self.min_probability = min_probability
        self.history = history
        self.max_buffer = max_buffer  # None: keep everything (replays: identical to a backtest of the same candles)
        self.catch_up_all = catch_up_all  # replay: every candle is new; live: history before the first start is not
        self.drift = drift
        self.clock = clock
        self.buffers: dict[str, Candles] = {}
        self.status: dict[str, SymbolStatus] = {s: SymbolStatus() for s in self.symbols}
        self.positions = repo.feed_positions(tracker.db.conn)
        self.cycles = 0

    # ---------------------------------------------------------------- fetching
    def _fetch_new(self, sym: str) -> Candles | None:
        st = self.status[sym]
        if st.retry_at and self.clock() < st.retry_at:
            return None
        buf = self.buffers.get(sym)
        tf = self.source_tf_ms
        try:
            if buf is None:
                done = self.positions.get((sym, self.timeframe))
                if done is not None:
                    # restart: rebuild the history the analysis needs, up to and past the stored position
                    start = done - (self.history - 1) * tf if self.max_buffer else None
                    got = self.source.fetch(sym, self.timeframe, self.history, since_ms=start if start else 0)
                elif self.max_buffer is None:
                    got = self.source.fetch(sym, self.timeframe, self.history, since_ms=0)
                else:
                    got = self.source.fetch(sym, self.timeframe, self.history)
            else:
                got = self.source.fetch(sym, self.timeframe, self.history, since_ms=int(buf.time[-1]) + tf)
        except ScalpDeskError as exc:
            st.failures += 1
            wait = min(300.0, 2.0 ** min(st.failures, 8))
            st.state, st.message, st.retry_at = "error", f"{exc} (retry in {wait:.0f}s)", self.clock() + wait
            self._emit_status(sym)
            return None
        if st.state != "ok":
            st.state, st.message, st.failures, st.retry_at = "ok", "", 0, 0.0
            self._emit_status(sym)
        return got

    @property
    def source_tf_ms(self) -> int:
        from app.core.candles import timeframe_ms

        return timeframe_ms(self.timeframe)

    def _emit_status(self, sym: str) -> None:
        st = self.status[sym]
        self.tracker.emit("source_status", {"symbol": sym, "state": st.state, "message": st.message,
                                             "source": self.source.label})

    def _merge(self, sym: str, got: Candles) -> tuple[Candles, int]:
        """Append only candles newer than the buffer (duplicates and stale ones dropped); returns (buffer, new)."""
        buf = self.buffers.get(sym)
        if len(got) and np.any(np.diff(got.time) <= 0):  # out of order or duplicated: sort, keep the first of each
            order = np.argsort(got.time, kind="stable")
            got = Candles.from_arrays(got.symbol, got.timeframe, *(getattr(got, k)[order] for k in
                                                                    ("time", "open", "high", "low", "close", "volume")))
            keep = np.r_[True, np.diff(got.time) != 0]
            got = Candles.from_arrays(got.symbol, got.timeframe, *(getattr(got, k)[keep] for k in
                                                                    ("time", "open", "high", "low", "close", "volume")))
        if buf is not None and len(got):
            got = got.slice(int(np.searchsorted(got.time, int(buf.time[-1]), side="right")))
        if len(got) == 0:
            return buf if buf is not None else got, 0
        # A hole in fresh candles is usually a flaky answer: keep what is contiguous and ask again. A hole that
        # is still there after three cycles is a real gap in the market data and is accepted (indicators restart).
        tf = self.source_tf_ms
        steps = np.diff(np.r_[int(buf.time[-1]) if buf is not None else int(got.time[0]) - tf, got.time])
        hole = np.flatnonzero(steps != tf)
        st = self.status[sym]
        if len(hole):
            st.gap_seen += 1
            if st.gap_seen < 3:
                got = got.slice(0, int(hole[0]))
                if len(got) == 0:
                    return buf if buf is not None else got, 0
            else:
                st.gap_seen = 0
        else:
            st.gap_seen = 0
        merged = got if buf is None else Candles.concat([buf, got])
        if self.max_buffer and len(merged) > self.max_buffer:
            merged = merged.slice(len(merged) - self.max_buffer)
        self.buffers[sym] = merged
        return merged, len(got)

    # ---------------------------------------------------------------- one cycle
    def cycle(self) -> CycleResult:
        self.cycles += 1
        fresh: dict[str, int] = {}
        errors: dict[str, str] = {}
        for sym in self.symbols:
            got = self._fetch_new(sym)
            if got is None:
                errors[sym] = self.status[sym].message
                continue
            first_fill = sym not in self.buffers
            buf, n_new = self._merge(sym, got)
            if n_new:
                done = self.positions.get((sym, self.timeframe))
                if done is not None:
                    # after a restart: candles up to the stored position were already processed
                    n_new = int(np.sum(buf.time[-n_new:] > done))
                elif first_fill and not self.catch_up_all:
                    n_new = 1  # a live start: only the last closed candle is new, older ones are history
                if n_new:
                    fresh[sym] = n_new
        if not fresh:
            self.tracker.emit("scan_finished", {"new_candles": 0, "errors": errors, "at": int(self.clock() * 1000)})
            return CycleResult(0, errors=errors)
        series = [self.buffers[s] for s in fresh]
        analyses = analyse_many(series, self.cfg, tail=max(fresh.values()))
        now = int(self.clock() * 1000)
        found: list[Signal] = []
        contexts = {}
        for an in analyses:
            sym = an.candles.symbol
            batch = signals_from_analysis(an, self.cfg)
            first_new = len(an.candles) - fresh[sym]
            batch = batch.select(batch.index >= first_new)
            found.extend(replace(s, created_at=now) for s in batch.to_signals())
            contexts[sym] = an
        kept, skipped = found, []
        if self.ml is not None and getattr(self.ml, "active", False) and found:
            kept, skipped = self.ml.apply(found, contexts)
        opened: list[int] = []
        closed = 0
        with self.tracker.cycle() as conn:
            for s in kept:
                new_id = self.tracker.add_signal(s)
                if new_id is not None:
                    opened.append(new_id)
            for s in skipped:
                repo.log_skip(conn, s, self.min_probability)
                self.tracker.emit("ml_skipped", s.to_dict())
            for sym, n_new in fresh.items():
                buf = self.buffers[sym]
                new = slice(len(buf) - n_new, len(buf))
                closed += self.tracker.on_candles(sym, self.timeframe, buf.time[new], buf.open[new], buf.high[new],
                                                  buf.low[new], buf.close[new])
                last = int(buf.time[-1])
                repo.set_feed_position(conn, sym, self.timeframe, last)
                self.status[sym].last_candle = last
            if self.drift is not None and closed:
                self._check_drift(conn)
        for sym in fresh:
            self.positions[(sym, self.timeframe)] = int(self.buffers[sym].time[-1])
        self.tracker.emit("scan_finished", {"new_candles": sum(fresh.values()), "opened": len(opened),
                                             "closed": closed, "skipped": len(skipped), "errors": errors,
                                             "at": now})
        return CycleResult(sum(fresh.values()), opened, len(skipped), closed, errors)

    def _check_drift(self, conn: Any) -> None:
        assert self.drift is not None
        rows = list(conn.execute("SELECT confluence_score, status FROM live_signals WHERE status != 'OPEN'"))
        scores = np.array([r[0] for r in rows], dtype=np.float64)
        wins = np.array([r[1] == "WIN" for r in rows], dtype=bool)
        for alert in self.drift.check(scores, wins):
            repo.add_event(conn, "drift_alert", alert["message"], alert)
            self.tracker.emit("drift_alert", alert)

    # ---------------------------------------------------------------- loop
    def run(self, interval_s: float, stop: threading.Event, until: Callable[[], bool] | None = None) -> None:
        """Cycle every interval until stopped (or `until()` says the data is exhausted)."""
        while not stop.is_set():
            try:
                self.cycle()
            except ScalpDeskError as exc:  # e.g. the disk is full: report, keep the loop alive, retry later
                log.error("scan cycle failed: %s", exc)
                self.tracker.emit("source_status", {"symbol": "*", "state": "error", "message": str(exc),
                                                     "source": self.source.label})
            if until is not None and until():
                break
            advance = getattr(self.source, "advance", None)
            if advance is not None:
                advance()
            if interval_s > 0:
                stop.wait(interval_s)


def summary(tracker: LiveSignalTracker) -> dict[str, Any]:
    rows = list(tracker.db.conn.execute("SELECT status, pnl_pct FROM live_signals"))
    closed = [r for r in rows if r[0] != "OPEN"]
    outcome = np.array([r[0] for r in closed], dtype=object)
    pnl = np.array([r[1] for r in closed], dtype=np.float64)
    s = stats.summary(outcome, pnl)
    s["open"] = sum(1 for r in rows if r[0] == "OPEN")
    s["recorded"] = len(rows)
    return s
