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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from app.core import stats
from app.core.candles import Candles, timeframe_ms
from app.core.signals import EngineConfig, Signal, analyse_many, signals_from_analysis
from app.errors import ScalpDeskError
from app.market.sources import CandleSource
from app.services.live.drift import DriftMonitor
from app.services.live.tracker import LiveSignalTracker
from app.storage import live as repo
from app.storage.db import Connection

log = logging.getLogger(__name__)


Feed = tuple[str, str]  # (symbol, timeframe)


@dataclass
class FeedStatus:
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
    skipped_for_costs: int = 0  # setups at or above the score whose target did not pay its costs
    cancelled: bool = False  # stopped before its transaction (the app is closing): nothing of it was written


class LivePipeline:
    """Closed candles of every watched (symbol, timeframe) -> signals -> ML filter -> tracker, one transaction
    per cycle.

    Feeds of open signals are followed even when their symbol or timeframe is no longer watched (a settings
    change must not orphan a signal): they are fetched and marked, but no new signal is taken from them."""

    def __init__(self, source: CandleSource, symbols: Sequence[str], timeframes: str | Sequence[str],
                 cfg: EngineConfig, tracker: LiveSignalTracker, ml: Any = None, min_probability: float = 0.6,
                 history: int = 1000, max_buffer: int | None = None, drift: DriftMonitor | None = None,
                 catch_up_all: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self.cfg = cfg
        self.tracker = tracker
        self.ml = ml
        self.min_probability = min_probability
        self.history = history
        self.max_buffer = max_buffer  # None: keep everything (replays: identical to a backtest of the same candles)
        self.catch_up_all = catch_up_all  # replay: every candle is new; live: history before the first start is not
        self.drift = drift
        self.clock = clock
        self.buffers: dict[Feed, Candles] = {}
        self.status: dict[Feed, FeedStatus] = {}
        self.positions = repo.feed_positions(tracker.db.conn, tracker.source)
        self.cycles = 0
        self.cancel: threading.Event | None = None  # set: the cycle stops at its next feed (the app is closing)
        self.watch(symbols, timeframes)

    # ---------------------------------------------------------------- what is watched
    def watch(self, symbols: Sequence[str], timeframes: str | Sequence[str]) -> None:
        """Change the watched symbols and timeframes (from the next cycle on)."""
        tfs = [timeframes] if isinstance(timeframes, str) else list(timeframes)
        self.symbols = list(dict.fromkeys(symbols))
        self.timeframes = list(dict.fromkeys(tfs))
        self.watched: list[Feed] = [(s, tf) for tf in self.timeframes for s in self.symbols]
        for feed in self.feeds():
            self.status.setdefault(feed, FeedStatus())
        for feed in [f for f in self.buffers if f not in set(self.feeds())]:
            del self.buffers[feed]  # neither watched nor holding an open signal

    @property
    def timeframe(self) -> str:
        return self.timeframes[0]

    def feeds(self) -> list[Feed]:
        """Watched feeds, then the feeds of open signals nobody watches any more."""
        watched = set(self.watched)
        return self.watched + [k for k in self.tracker.open_keys() if k not in watched]

    def _name(self, feed: Feed) -> str:
        return feed[0] if len(self.timeframes) == 1 and feed[1] == self.timeframes[0] else f"{feed[0]} {feed[1]}"

    # ---------------------------------------------------------------- fetching
    def _fetch_new(self, feed: Feed) -> Candles | None:
        sym, tf_name = feed
        st = self.status.setdefault(feed, FeedStatus())
        if st.retry_at and self.clock() < st.retry_at:
            return None
        buf = self.buffers.get(feed)
        tf = timeframe_ms(tf_name)
        try:
            if buf is None:
                done = self.positions.get(feed)
                if done is not None:
                    # restart: rebuild the history the analysis needs, up to and past the stored position
                    start = done - (self.history - 1) * tf if self.max_buffer else None
                    got = self.source.fetch(sym, tf_name, self.history, since_ms=start if start else 0)
                elif self.max_buffer is None:
                    got = self.source.fetch(sym, tf_name, self.history, since_ms=0)
                else:
                    got = self.source.fetch(sym, tf_name, self.history)
            else:
                got = self.source.fetch(sym, tf_name, self.history, since_ms=int(buf.time[-1]) + tf)
        except ScalpDeskError as exc:
            st.failures += 1
            wait = min(300.0, 2.0 ** min(st.failures, 8))
            st.state, st.message, st.retry_at = "error", f"{exc} (retry in {wait:.0f}s)", self.clock() + wait
            self._emit_status(feed)
            return None
        if st.state != "ok":
            st.state, st.message, st.failures, st.retry_at = "ok", "", 0, 0.0
            self._emit_status(feed)
        return got

    def _emit_status(self, feed: Feed) -> None:
        st = self.status[feed]
        self.tracker.emit("source_status", {"symbol": feed[0], "timeframe": feed[1], "state": st.state,
                                             "message": st.message, "source": self.source.label})

    def _merge(self, feed: Feed, got: Candles) -> tuple[Candles, int]:
        """Append only candles newer than the buffer (duplicates and stale ones dropped); returns (buffer, new)."""
        buf = self.buffers.get(feed)
        if len(got) and np.any(np.diff(got.time) <= 0):  # out of order or duplicated: sort, keep the first of each
            order = np.argsort(got.time, kind="stable")
            got = got.take(order)
            got = got.take(np.r_[True, np.diff(got.time) != 0])
        if buf is not None and len(got):
            got = got.slice(int(np.searchsorted(got.time, int(buf.time[-1]), side="right")))
        if len(got) == 0:
            return buf if buf is not None else got, 0
        # A hole in fresh candles is usually a flaky answer: keep what is contiguous and ask again. A hole that
        # is still there after three cycles is a real gap in the market data and is accepted (indicators restart).
        tf = timeframe_ms(feed[1])
        steps = np.diff(np.r_[int(buf.time[-1]) if buf is not None else int(got.time[0]) - tf, got.time])
        hole = np.flatnonzero(steps != tf)
        st = self.status[feed]
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
        self.buffers[feed] = merged
        return merged, len(got)

    # ---------------------------------------------------------------- one cycle
    def _cancelled(self, before: tuple[dict[Feed, Candles], dict[Feed, int]]) -> bool:
        """The cancel flag is set: the candles merged so far are put back (the buffers as before the cycle), so a
        cancelled cycle leaves no trace and its candles are new again for the next one."""
        if self.cancel is None or not self.cancel.is_set():
            return False
        buffers, gap_seen = before
        self.buffers.clear()
        self.buffers.update(buffers)
        for feed, seen in gap_seen.items():
            self.status[feed].gap_seen = seen
        log.info("scan cycle cancelled before its transaction: nothing of it was written")
        return True

    def cycle(self) -> CycleResult:
        """One cycle. The cancel flag is checked between feeds and before the analysis and the transaction (a cycle
        of many slow fetches ends within one fetch); once the transaction begins, the cycle completes."""
        self.cycles += 1
        fresh: dict[Feed, int] = {}
        errors: dict[str, str] = {}
        before = dict(self.buffers), {f: st.gap_seen for f, st in self.status.items()}
        for feed in self.feeds():
            if self._cancelled(before):
                return CycleResult(0, errors=errors, cancelled=True)
            got = self._fetch_new(feed)
            if got is None:
                errors[self._name(feed)] = self.status[feed].message
                continue
            first_fill = feed not in self.buffers
            buf, n_new = self._merge(feed, got)
            if n_new:
                done = self.positions.get(feed)
                if done is not None:
                    # after a restart: candles up to the stored position were already processed
                    n_new = int(np.sum(buf.time[-n_new:] > done))
                elif first_fill and not self.catch_up_all:
                    n_new = 1  # a live start: only the last closed candle is new, older ones are history
                if n_new:
                    fresh[feed] = n_new
        if not fresh:
            return CycleResult(0, errors=errors)
        if self._cancelled(before):
            return CycleResult(0, errors=errors, cancelled=True)
        now = int(self.clock() * 1000)
        watched = set(self.watched)
        scan = [f for f in fresh if f in watched]
        found: list[Signal] = []
        contexts: dict[Feed, Any] = {}
        skipped_cost = 0
        if scan:
            analyses = analyse_many([self.buffers[f] for f in scan], self.cfg, tail=max(fresh[f] for f in scan))
            for feed, an in zip(scan, analyses, strict=True):
                every = signals_from_analysis(an, self.cfg)
                first_new = len(an.candles) - fresh[feed]
                batch = every.select(every.index >= first_new)
                found.extend(replace(s, created_at=now) for s in batch.to_signals())
                skipped_cost += int(np.sum(every.cost_skipped >= first_new))
                contexts[feed] = an
        kept, skipped = found, []
        if self.ml is not None and getattr(self.ml, "active", False) and found:
            kept, skipped = self.ml.apply(found, contexts)
        if self._cancelled(before):
            return CycleResult(0, errors=errors, cancelled=True)
        opened: list[int] = []
        closed = 0
        with self.tracker.cycle() as conn:
            for s in kept:
                new_id = self.tracker.add_signal(s)
                if new_id is not None:
                    opened.append(new_id)
            for s in skipped:
                repo.log_skip(conn, s, self.min_probability)
            for feed, n_new in fresh.items():
                buf = self.buffers[feed]
                new = slice(len(buf) - n_new, len(buf))
                closed += self.tracker.on_candles(feed[0], feed[1], buf.time[new], buf.open[new], buf.high[new],
                                                  buf.low[new], buf.close[new])
                last = int(buf.time[-1])
                repo.set_feed_position(conn, self.tracker.source, feed[0], feed[1], last)
                self.status[feed].last_candle = last
            if self.drift is not None and closed:
                self._check_drift(conn)
        for feed in fresh:
            self.positions[feed] = int(self.buffers[feed].time[-1])
        return CycleResult(sum(fresh.values()), opened, len(skipped), closed, errors, skipped_cost)

    def _check_drift(self, conn: Connection) -> None:
        assert self.drift is not None
        scores, wins = repo.closed_scores(conn, self.tracker.source)
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


def summary(tracker: LiveSignalTracker) -> stats.Summary:
    """Figures of every signal the tracker's source recorded (all runs, not only this one)."""
    status, pnl = repo.statuses(tracker.db.conn, tracker.source)
    closed = status != "OPEN"
    s = stats.summary(status[closed], pnl[closed])
    s["open"] = int(np.sum(~closed))
    s["recorded"] = len(status)
    return s
