"""The selected signal and the chart: a selected signal's pair with its levels (a closed one framed from before its
signal to after its exit, its levels only while selected), why it fired and its size; a pair from the watchlist;
a backtest trade from the explorer."""

from __future__ import annotations

from typing import Any

from app.services.live.dashboard import Snapshot
from app.ui.desk_parts import DeskParts
from app.ui.tables import TableView


class SelectionMixin(DeskParts):
    def on_select(self, current: Any, _previous: Any = None) -> None:
        if current.isValid():
            self._select(self.active.row_at(current.row()), self.done_view)

    def on_select_closed(self, current: Any, _previous: Any = None) -> None:
        if current.isValid():
            self._select(self.completions.row_at(current.row()), self.active_view)

    def _select(self, row: Any, other_view: TableView) -> None:
        closed = hasattr(row, "status")
        if self.selected is not None and self.selected.id == row.id and hasattr(self.selected, "status") == closed:
            self.selected = row  # rows above it came or went: still the same signal
            return
        other_view.selectionModel().blockSignals(True)
        other_view.clearSelection()
        other_view.setCurrentIndex(other_view.model().index(-1, -1))
        other_view.selectionModel().blockSignals(False)
        self.selected = row
        self.chart_panel.show_pair(row.symbol, row.timeframe)
        self.charts.setCurrentWidget(self.chart_panel)
        self.candle_chart.show_levels(row.entry, row.stop_loss, row.take_profit)
        if closed:  # a completed trade: framed from before its signal to after its exit, levels while selected
            from app.core.candles import timeframe_ms

            tf = timeframe_ms(row.timeframe) / 1000.0
            self._pending_frame = (row.symbol, row.signal_time / 1000.0 - 40 * tf, row.closed_at / 1000.0 + 12 * tf)
            self.candle_chart.show_trade(row.signal_time / 1000.0 + tf, row.entry, row.closed_at / 1000.0,
                                         row.exit_price)
        else:
            self._pending_frame = None
            self.candle_chart.clear_trade()
        self.sizing.show_signal(row, self.settings, self.active.ticks.get(row.symbol, 0.01))
        self.source.request_why.emit(row.id)

    def _follow_selected(self, snap: Snapshot) -> None:
        """The selected open signal's row moves (its entry is fixed at the next open, it closes): follow it."""
        sel = self.selected
        if sel is None or hasattr(sel, "status"):
            return
        pos = self.active.row_of(sel.id)
        if pos is None:  # it closed: its levels go with the selection
            self.selected = None
            self.candle_chart.clear_levels()
            self.sizing.show_signal(None, None, 0.01)
            self.why.show_report(None)
            return
        row = self.active.row_at(pos)
        if (row.entry, row.stop_loss, row.take_profit) != (sel.entry, sel.stop_loss, sel.take_profit):
            self.candle_chart.show_levels(row.entry, row.stop_loss, row.take_profit)
            self.sizing.show_signal(row, self.settings, self.active.ticks.get(row.symbol, 0.01))
        self.selected = row

    def on_chart(self, data: Any) -> None:
        self.chart_panel.show_data(data)
        frame = self._pending_frame
        if frame is not None and frame[0] == data.symbol and not self.chart_panel.trade_mode:
            self._pending_frame = None
            c = data.candles
            if len(c) and c.time[0] / 1000.0 > frame[1] + 40 * c.tf_ms / 1000.0:
                self.chart_panel.set_mode(f"{data.label} · this trade is older than the candles in memory")
            self.candle_chart.frame(frame[1], frame[2])
        if self.latest is not None:
            self._show_last_price(self.latest)

    def _show_last_price(self, snap: Snapshot) -> None:
        sym = self.candle_chart.symbol
        row = next((r for r in snap.watchlist if r.symbol == sym), None)
        self.candle_chart.show_last_price(None if row is None else row.last, bool(row and row.live_price))

    def on_why(self, report: Any) -> None:
        if report is None or self.selected is None or report.signal_id != self.selected.id:
            return
        points = {name: p.points for name, p in self.settings.pattern_scores.patterns.items()}
        self.why.show_report(report, points)

    def _follow_toggled(self, on: bool) -> None:
        """"Follow live" leaves a backtest trade for the live chart of the pair shown before (or the first one)."""
        if not (on and self.chart_panel.trade_mode):
            return
        current = self.chart_panel.current
        if current is None and self.latest is not None and self.latest.watchlist:
            current = (self.latest.watchlist[0].symbol, self.latest.watchlist[0].timeframe)
        if current is not None:
            self.chart_panel.show_pair(*current)
        else:
            self.chart_panel.trade_mode = False

    def show_symbol(self, symbol: str) -> None:
        """A pair's live chart (double-click in the watchlist)."""
        tf = self.latest.timeframes[0] if self.latest is not None and self.latest.timeframes else None
        if self.selected is not None and self.selected.symbol != symbol:
            self.selected = None
            self.candle_chart.clear_levels()
            for view in (self.active_view, self.done_view):
                view.selectionModel().blockSignals(True)
                view.clearSelection()
                view.setCurrentIndex(view.model().index(-1, -1))
                view.selectionModel().blockSignals(False)
                view.viewport().update()
        self.chart_panel.show_pair(symbol, tf)
        self.chart_panel.follow.setChecked(True)
        self.charts.setCurrentWidget(self.chart_panel)

    def chart_of_selection(self) -> None:
        if self.selected is not None:
            self.show_symbol(self.selected.symbol)
        elif (sym := self.watch.current_symbol()) is not None:
            self.show_symbol(sym)

    def show_trade(self, ref: Any) -> None:
        """A backtest trade (the explorer's TradeRef: symbol, timeframe, side, signal_time, entry, stop_loss,
        take_profit, exit_time, exit_price, outcome, candles) on the chart with its entry, exit and levels. Live
        candles do not replace it until "Follow live"."""
        from app.core.prices import infer_tick
        from app.services.live.chart_data import SignalMark

        c = ref.candles
        panel, chart = self.chart_panel, self.candle_chart
        panel.trade_mode = True
        panel.stack.setCurrentWidget(chart)
        self.charts.setCurrentWidget(panel)
        tick = infer_tick(c.close) if len(c) else 0.01
        chart.set_follow(False)
        chart.show_candles(ref.symbol, ref.timeframe, c.time, c.open, c.high, c.low, c.close, c.volume, tick=tick)
        tf = c.tf_ms / 1000.0
        mark = SignalMark(0, str(ref.side), int(ref.signal_time), float(ref.entry), float(ref.stop_loss),
                          float(ref.take_profit), str(ref.outcome), ref.exit_time, ref.exit_price, None, 0.0)
        chart.show_marks([mark], tf)
        chart.show_levels(ref.entry, ref.stop_loss, ref.take_profit)
        chart.show_trade(ref.signal_time / 1000.0 + tf, ref.entry,
                         None if ref.exit_time is None else ref.exit_time / 1000.0, ref.exit_price)
        end = (ref.exit_time if ref.exit_time is not None else ref.signal_time) / 1000.0
        chart.frame(ref.signal_time / 1000.0 - 40 * tf, end + 12 * tf)
        chart.show_last_price(None, False)
        panel.set_mode(f"BACKTEST TRADE · {ref.side} · {ref.outcome} (press Follow live to return)")
        self._overlays_for(ref.symbol, c)

    def _overlays_for(self, symbol: str, candles: Any) -> None:
        """Indicators of candles that are not a live feed, computed in the job pool (not in this thread)."""
        from app.ui.workers import Job

        def run(progress: Any, cancel: Any) -> Any:
            from app.services.live.chart_data import overlays

            return overlays(candles)

        job = Job("chart-indicators", run)

        def done(ind: Any) -> None:
            if self.chart_panel.trade_mode and self.candle_chart.symbol == symbol:
                self.candle_chart.show_indicators(candles.time, ind)

        job.signals.finished.connect(done)
        self.jobs.submit(job)

