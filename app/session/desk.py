"""What the trader's desk reads from a running live session, computed in the session's thread: the snapshot with
the watchlist, the chart of a pair, and why a signal fired. The window asks; this answers with immutable values."""

from __future__ import annotations

from collections import Counter
from typing import Any

from app.core.candles import timeframe_ms
from app.market.sources import quotes_of
from app.services.live.chart_data import ChartCache, ChartData, signal_marks
from app.services.live.dashboard import Snapshot
from app.services.live.watchlist import Watchlist, last_signal_times
from app.services.live.why import WhyReport, explain
from app.session.live import LiveSession, engine_config


class Desk:
    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self._source: Any = None
        self.watchlist = Watchlist()
        self.charts = ChartCache()
        session.subscribe(self._on_event)

    def _on_event(self, event: Any) -> None:
        self.watchlist.on_event(event)

    def _current(self) -> Watchlist:
        """A new source (settings changed it) starts a new watchlist: its prices and records are its own."""
        s = self.session
        if s.source is not self._source:
            self._source = s.source
            self.watchlist = Watchlist(last_signal_times(s.db, s.source.label),
                                       tick_of=getattr(s.source, "tick_size", None))
        return self.watchlist

    def tick(self, symbol: str) -> float:
        return self._current().ticks.get(symbol, 0.01)

    def snapshot(self, now_s: float | None = None) -> Snapshot:
        s = self.session
        wl = self._current()
        p = s.pipeline
        symbols, tf = list(p.symbols), p.timeframe
        wl.update(symbols, tf, p.buffers, engine_config(s.settings))
        quotes = quotes_of(s.source)
        problems = {f[0]: st.message for f, st in p.status.items() if f[1] == tf and st.state == "error"}

        def rows(opened: tuple[Any, ...]) -> tuple[Any, ...]:
            count = Counter(r.symbol for r in opened)
            return wl.rows(symbols, tf, p.buffers, quotes, count, problems)

        return s.snapshot(now_s, watchlist=rows, ticks=dict(wl.ticks), timeframes=tuple(p.timeframes),
                          min_score=s.settings.confluence.min_score, symbols_watched=len(symbols),
                          clock_ms=int(s.watch.clock() * 1000))

    def chart(self, symbol: str, timeframe: str | None = None) -> ChartData | None:
        s = self.session
        tf = timeframe or s.pipeline.timeframe
        c = s.pipeline.buffers.get((symbol, tf))
        if c is None:
            return None
        since = int(c.time[0]) if len(c) else 0
        marks = signal_marks(s.db, s.source.label, symbol, tf, since - timeframe_ms(tf) * 2)
        return ChartData(symbol, tf, c, self.charts.overlays(c), marks, self.tick(symbol), s.label)

    def why(self, signal_id: int) -> WhyReport | None:
        s = self.session
        rows = s.db.query("SELECT symbol, timeframe FROM live_signals WHERE id = ?", (signal_id,))
        if not rows:
            return None
        c = s.pipeline.buffers.get((rows[0]["symbol"], rows[0]["timeframe"]))
        cfg = engine_config(s.settings)
        return explain(s.db, signal_id, c, self.charts.indicators(c) if c is not None else None, cfg.weights,
                       cfg.min_score, s.accuracy, s.ml.status, s.costs, self.tick(rows[0]["symbol"]))
