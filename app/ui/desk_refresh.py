"""The window's refresh: the latest snapshot copied into the models once a second (bursts of worker updates are
coalesced, as Electrum does), the source's state in the status bar and the banner, and the empty states."""

from __future__ import annotations

import time
from typing import Any

from app.services.live.dashboard import Snapshot
from app.ui.desk_parts import DeskParts
from app.ui.stats_panel import stats_html
from app.ui.status import banner_for, connection_text, notifications_text


class RefreshMixin(DeskParts):
    def on_snapshot(self, snap: Snapshot) -> None:
        """From the worker (queued): only remember it; the 1 s timer applies the latest."""
        first = self.latest is None
        self.latest = snap
        if first:
            self.refresh()

    def refresh(self) -> None:
        self.active.tick_elapsed()
        self.watch.model.tick_since()
        snap = self.latest
        if snap is None:
            text, colour = connection_text("", None, time.monotonic() - self.started_at)
            self._set_source_text(text, colour)
            return
        if snap is self.applied:
            return
        first = self.applied is None
        self.applied = snap
        for model in (self.active, self.completions, self.watch.model, self.alert_center.model):
            model.set_context(snap.ticks, self.clock)
        if self.watch.model.min_score != snap.min_score:
            self.watch.model.min_score = snap.min_score
            self.watch.model.refresh_all()
        known = self._seen_open | self._seen_closed  # the previous snapshot's (bounded: the recent closed rows)
        opened = [r for r in snap.open_rows if r.id not in known]
        closed = [r for r in snap.closed_rows if r.id not in self._seen_closed]
        self._seen_open = {r.id for r in snap.open_rows}
        self._seen_closed = {r.id for r in snap.closed_rows}
        if not first:  # not for what was already there at start
            self.alert_center.on_changes(opened, closed, self.settings, snap.source)
        self.active.apply(snap.open_rows)
        self.completions.append_front(snap.closed_rows)
        self.watch.model.set_rows(snap.watchlist)
        now_ms = self._source_now_ms(snap)
        self.watch.model.now_ms = now_ms
        self.active.now = lambda: now_ms() / 1000.0  # a replay's signals age on the replay's clock
        self._show_empty_states()
        for key, view, rows in (("active_header", self.active_view, snap.open_rows),
                                ("done_header", self.done_view, snap.closed_rows),
                                ("watch_header", self.watch.view, [r for r in snap.watchlist if r.last is not None])):
            if rows and key not in self._sized:  # sized to the first rows with prices, once (~25 ms a call)
                view.resizeColumnsToContents()
                if view is self.watch.view:  # room for the mark of an open signal to come
                    view.setColumnWidth(0, view.columnWidth(0) + view.fontMetrics().horizontalAdvance("● "))
                self._sized.add(key)
        if snap.open_rows and not self._auto_selected and self.selected is None:
            self._auto_selected = True  # once: later the trader's choice of pair stands
            self.active_view.selectRow(0)
        stats = stats_html(snap)
        if stats != self.stats_label.text():
            self.stats_label.setText(stats)
        for w in (self.history_offer, self.history_button):
            w.setVisible(not snap.has_history)
        self._show_source(snap)
        self.chart_panel.set_choices([r.symbol for r in snap.watchlist], list(snap.timeframes))
        if self.charts.currentWidget() is self.equity_chart:
            self.equity_chart.show_points(snap.equity)
        elif self.charts.currentWidget() is self.calibration_chart:
            self.calibration_chart.show_calibration(snap.calibration)
        current = self.chart_panel.current
        if current is not None and not self.chart_panel.trade_mode and self.charts.currentWidget() is self.chart_panel:
            self.source.request_chart.emit((current[0], current[1], False))
            self._show_last_price(snap)
        self._follow_selected(snap)

    @staticmethod
    def _source_now_ms(snap: Snapshot) -> Any:
        """The clock signals age on: the wall clock live, the replay's clock in a replay (it moves in steps)."""
        if not snap.source.startswith("REPLAY") or snap.clock_ms is None:
            return lambda: time.time() * 1000.0
        at = float(snap.clock_ms)
        return lambda: at

    def _show_source(self, snap: Snapshot) -> None:
        text, colour = connection_text(snap.source, snap.connection)
        self._set_source_text(text, colour)
        self.source_label.setToolTip(f"Source: {snap.source}" + (
            "" if snap.connection is None else f"\nConnection: {snap.connection.text()}") + (
            "\nGenerated prices: not real trading." if "SIMULATED" in snap.source else ""))
        self.setWindowTitle(f"ScalpDesk · {snap.source}")
        short = snap.ml_status.split(" at ")[0].split(" (")[0]  # "off: no model", "on: model of 2024-09-01 …"
        self.ml_label.setText(f"ML filter: {short}" if len(short) <= 40 else f"ML filter: {short[:39]}…")
        self.ml_label.setToolTip(f"ML filter: {snap.ml_status}")
        if self.watch.model.live_prices:
            self.watch.note.setText("")
        else:
            self.watch.note.setText(f"Prices are the last closed candle's close: {snap.source} gives no live quotes.")
        if snap.last_scan_ms:
            self.scan_label.setText(f"last scan: {self.clock.time(snap.last_scan_ms)} {self.clock.zone}")
        errors = "; ".join(f"{k}: {v}" for k, v in snap.errors.items())
        self.error_label.setText(errors if len(errors) <= 120 else errors[:117] + "…")
        self.error_label.setToolTip("\n".join(f"{k}: {v}" for k, v in snap.errors.items()))
        kind, message = banner_for(snap.connection, snap.source, snap.errors, snap.symbols_watched)
        if kind or self.banner.kind in ("offline", "replay"):
            self.banner.show_kind(kind, message)
        self._show_health(snap)
        self.live_action.setEnabled(snap.source.startswith("REPLAY") or self.source.spec is not None)

    def _show_health(self, snap: Snapshot) -> None:
        """Alerts or tasks that wait or failed, in the status bar (only then); a banner while the disk is almost
        full. Both computed by the worker (app.session.health): nothing here touches the disk."""
        text, tip = notifications_text(snap.notifications)
        if self.notify_label.text() != text:
            self.notify_label.setText(text)
            self.notify_label.setVisible(bool(text))
        if self.notify_label.toolTip() != tip:
            self.notify_label.setToolTip(tip)
        self.disk_banner.show_kind("disk" if snap.disk_warning else "", snap.disk_warning or "")

    def _set_source_text(self, text: str, colour: str) -> None:
        if self.source_label.text() != text:
            self.source_label.setText(text)
        style = f"color: {colour}"
        if self.source_label.styleSheet() != style:  # a style sheet costs a millisecond a set
            self.source_label.setStyleSheet(style)

    def _show_empty_states(self) -> None:
        snap = self.latest
        s = self.settings
        if snap is None:
            n = len(s.scanner.symbols)
            self.active_view.set_empty_text(f"Starting: loading candles for {n} pairs…")
            self.watch.view.set_empty_text(f"Loading candles for {n} pairs…")
            self.done_view.set_empty_text("")
            return
        tf = snap.timeframes[0] if snap.timeframes else s.scanner.timeframe
        self.active_view.set_empty_text(
            f"No open signals. The scanner is watching {snap.symbols_watched} pairs on {tf} and opens a signal when a "
            f"setup scores {snap.min_score:g} or more (the watchlist shows each pair's score now).")
        self.done_view.set_empty_text(
            f"No completed signals yet: an open signal completes at its target, at its stop, or after "
            f"{s.risk.max_hold_bars} candles.")
        if not self.watch.filter.text():
            self.watch.view.set_empty_text("No pairs are watched: add symbols in Settings (Scanner).")

    def on_worker_failed(self, message: str) -> None:
        self.error_label.setText(message if len(message) <= 120 else message[:117] + "…")
        self.error_label.setToolTip(message)
        if self.latest is None:
            self.banner.show_kind("failed", message)
            self._set_source_text("● not started", "#d64545")

