"""The watchlist: every watched symbol with its price, its changes, the score of its forming setup and how long ago
it last signalled. Computed in the pipeline's thread from the candle buffers and the source's quotes; the window
only copies the rows.

The score is the one the scanner gives the latest closed candle (the same `analyse_many` over the same buffer, so
a signal's score and its watchlist score agree), recomputed only for the feeds whose last candle changed: at 200
symbols of 1,000 candles one full pass costs about a quarter of a second, once per candle close.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.candles import Candles
from app.core.prices import infer_tick
from app.core.signals import EngineConfig, analyse_many, signals_from_analysis
from app.market.sources import Quote

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Scored:
    """The forming setup of a feed: the better side's score on its latest closed candle."""

    candle_time: int
    score: float | None  # None while the indicators warm up
    side: str | None  # LONG / SHORT (None with equal scores or while warming up)
    fires: bool = False  # the scanner makes it a signal (score at the minimum and a target that pays its costs)
    note: str = ""  # why a score at the minimum is not a signal


@dataclass(frozen=True, slots=True)
class WatchRow:
    symbol: str
    timeframe: str
    last: float | None
    live_price: bool  # False: the source has no live quote, `last` is the last closed candle's close
    spread_pct: float | None  # None where the source gives no bid/ask
    change_session_pct: float | None  # since the session's first price
    change_24h_pct: float | None  # None when the buffer does not reach back 24 h
    volume_24h: float | None  # quote volume of the last 24 h of candles
    score: float | None
    side: str | None
    candle_time: int | None  # open time of the latest closed candle
    last_signal_ms: int | None  # close of the candle of the symbol's latest signal
    open_signals: int
    tick: float
    problem: str = ""  # the feed's error, if any
    fires: bool = False  # the latest candle's setup is a signal by the scanner's rules
    score_note: str = ""  # why a score at the minimum is not a signal


def score_feeds(feeds: Sequence[tuple[str, str]], buffers: Mapping[tuple[str, str], Candles], cfg: EngineConfig
                ) -> dict[tuple[str, str], Scored]:
    """Score the latest closed candle of each feed (feeds without a buffer are left out)."""
    todo = [f for f in feeds if f in buffers and len(buffers[f])]
    out: dict[tuple[str, str], Scored] = {}
    if not todo:
        return out
    for feed, an in zip(todo, analyse_many([buffers[f] for f in todo], cfg, tail=1), strict=True):
        t = int(an.candles.time[-1])
        if not bool(an.valid[-1]):
            out[feed] = Scored(t, None, None)
            continue
        ls, ss = float(an.long.score[-1]), float(an.short.score[-1])
        batch = signals_from_analysis(an, cfg)
        note = "its target would not pay its costs" if len(batch.cost_skipped) else ""
        out[feed] = Scored(t, max(ls, ss), "LONG" if ls > ss else "SHORT" if ss > ls else None, len(batch) > 0,
                           note)
    return out


def _change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before <= 0:
        return None
    return (now / before - 1.0) * 100.0


def day_back(c: Candles, price: float | None) -> tuple[float | None, float | None]:
    """(change over the last 24 h in %, quote volume of those 24 h) from the candles; None where they do not
    reach back a full day."""
    if len(c) == 0:
        return None, None
    end = int(c.time[-1]) + c.tf_ms  # close of the latest candle
    ref = int(np.searchsorted(c.time, end - DAY_MS - c.tf_ms, side="right")) - 1  # the candle that closed 24 h ago
    if ref < 0:
        return None, None
    day = slice(ref + 1, len(c))
    return _change(price, float(c.close[ref])), float(np.sum(c.close[day] * c.volume[day]))


def watch_rows(symbols: Iterable[str], timeframe: str, buffers: Mapping[tuple[str, str], Candles],
               quotes: Mapping[str, Quote], scores: Mapping[tuple[str, str], Scored],
               session_open: Mapping[str, float], last_signal: Mapping[str, int], open_count: Mapping[str, int],
               ticks: Mapping[str, float], problems: Mapping[str, str] | None = None) -> tuple[WatchRow, ...]:
    """One row per symbol, from what the pipeline holds (pure)."""
    rows = []
    for sym in symbols:
        c = buffers.get((sym, timeframe))
        q = quotes.get(sym)
        close = float(c.close[-1]) if c is not None and len(c) else None
        last = q.last if q is not None else close
        ch24, vol = day_back(c, last) if c is not None else (None, None)
        sc = scores.get((sym, timeframe))
        rows.append(WatchRow(
            sym, timeframe, last, q is not None, q.spread_pct if q is not None else None,
            _change(last, session_open.get(sym)), ch24, vol, sc.score if sc else None, sc.side if sc else None,
            int(c.time[-1]) if c is not None and len(c) else None, last_signal.get(sym), open_count.get(sym, 0),
            ticks.get(sym, 0.01), (problems or {}).get(sym, ""), bool(sc and sc.fires), sc.note if sc else ""))
    return tuple(rows)


class Watchlist:
    """The state behind the rows: scores cached per latest candle, each symbol's first price of the session, the
    latest signal per symbol (seeded from the records, then kept by the tracker's events), tick sizes."""

    def __init__(self, last_signal: Mapping[str, int] | None = None, tick_of: Any = None) -> None:
        self.scores: dict[tuple[str, str], Scored] = {}
        self.session_open: dict[str, float] = {}
        self.last_signal: dict[str, int] = dict(last_signal or {})
        self.ticks: dict[str, float] = {}
        self._tick_of = tick_of  # the source's tick size of a symbol (exchange market data), or None
        self.scored_feeds = 0  # feeds scored since the start (what the cache saved is visible in tests)

    def on_event(self, event: Any) -> None:
        if event.kind == "signal_opened":
            d = event.data
            from app.core.candles import timeframe_ms

            at = int(d["signal_time"]) + timeframe_ms(d["timeframe"])
            self.last_signal[d["symbol"]] = max(at, self.last_signal.get(d["symbol"], at))

    def update(self, symbols: Sequence[str], timeframe: str, buffers: Mapping[tuple[str, str], Candles],
               cfg: EngineConfig) -> None:
        """Score the feeds whose latest candle changed; note first prices and tick sizes."""
        stale = []
        for sym in symbols:
            feed = (sym, timeframe)
            c = buffers.get(feed)
            if c is None or len(c) == 0:
                continue
            if sym not in self.ticks:
                exchange_tick = self._tick_of(sym) if self._tick_of is not None else None
                self.ticks[sym] = float(exchange_tick) if exchange_tick else infer_tick(
                    np.concatenate([c.open[-500:], c.high[-500:], c.low[-500:], c.close[-500:]]))
            self.session_open.setdefault(sym, float(c.close[-1]))
            known = self.scores.get(feed)
            if known is None or known.candle_time != int(c.time[-1]):
                stale.append(feed)
        if stale:
            self.scores.update(score_feeds(stale, buffers, cfg))
            self.scored_feeds += len(stale)

    def rows(self, symbols: Sequence[str], timeframe: str, buffers: Mapping[tuple[str, str], Candles],
             quotes: Mapping[str, Quote], open_count: Mapping[str, int],
             problems: Mapping[str, str] | None = None) -> tuple[WatchRow, ...]:
        for sym, q in quotes.items():
            self.session_open.setdefault(sym, q.last)
        return watch_rows(symbols, timeframe, buffers, quotes, self.scores, self.session_open, self.last_signal,
                          open_count, self.ticks, problems)


def last_signal_times(db: Any, source: str) -> dict[str, int]:
    """Close time of the candle of each symbol's latest recorded signal of `source`."""
    from app.core.candles import timeframe_ms

    out: dict[str, int] = {}
    for r in db.query("SELECT symbol, timeframe, MAX(signal_time) AS t FROM live_signals WHERE source = ? "
                      "GROUP BY symbol, timeframe", (source,)):
        at = int(r["t"]) + timeframe_ms(r["timeframe"])
        out[r["symbol"]] = max(at, out.get(r["symbol"], at))
    return out
