"""The main window, a scalper's desk: the watchlist (left), open signals, the chart and completions (centre), the
selected signal's size and reasons, the statistics and the alert history (right), the source's state always in the
status bar.

The GUI thread only copies the latest snapshot into the models once a second (bursts of worker updates are
coalesced, as Electrum does); charts and signal reasons are prepared by the worker on request. Tables sort
themselves (app.ui.models), so their sort indicators are true.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.services.live.dashboard import Snapshot
from app.ui.alerts import AlertCenter, AlertsPanel, alert_score, tray_message
from app.ui.chart_panel import ChartPanel
from app.ui.charts import CalibrationChart, EquityChart
from app.ui.formatting import Clock
from app.ui.layout import LayoutMemory
from app.ui.models import ActiveSignalsModel, CompletionsModel
from app.ui.signal_panel import SizingPanel, WhyPanel
from app.ui.source_control import SourceControl
from app.ui.stats_panel import stats_html, stats_label
from app.ui.status import Banner, banner_for, connection_text, status_widgets
from app.ui.tables import TableView
from app.ui.watchlist import WatchlistPanel
from app.ui.workers import JobManager

__all__ = ["MainWindow", "tray_message"]


class MainWindow(QMainWindow):
    settings_changed = Signal(object)

    def __init__(self, settings: Any, db_path: Path, model_path: Path, interval_s: float | None = None,
                 start_worker: bool = True, spec: Any = None) -> None:
        super().__init__()
        self.settings = settings
        self.db_path = db_path
        self.model_path = model_path
        self.jobs = JobManager()
        self.latest: Snapshot | None = None
        self.applied: Snapshot | None = None
        self.selected: Any = None  # the selected open or closed signal's row
        self._pending_frame: tuple[str, float, float] | None = None  # a closed trade to frame once its candles come
        self.dialogs: list[Any] = []
        self.clock = Clock(utc=settings.appearance.times == "utc")
        self.started_at = time.monotonic()
        self.setWindowTitle("ScalpDesk")
        self.source = SourceControl(settings, db_path, model_path, interval_s, spec, self)
        self._build_ui()
        self._build_menus()
        self.source.snapshot_ready.connect(self.on_snapshot)
        self.source.chart_ready.connect(self.on_chart)
        self.source.why_ready.connect(self.on_why)
        self.source.failed.connect(self.on_worker_failed)
        self.source.notice.connect(lambda m: self.statusBar().showMessage(m, 30_000))
        self.source.settings_applied.connect(self.on_settings_applied)
        self.source.restarted.connect(self.on_source_restarted)
        self.settings_changed.connect(self.source.apply_settings)
        self.tray: Any = None
        from PySide6.QtWidgets import QSystemTrayIcon

        if settings.appearance.tray_notifications and QSystemTrayIcon.isSystemTrayAvailable():
            from PySide6.QtGui import QIcon

            from app import paths

            self.tray = QSystemTrayIcon(QIcon(str(paths.resource_path("icons", "scalpdesk.png"))), self)
            self.tray.show()
        self.alert_center = AlertCenter(QApplication.beep, self.tray)
        self.alerts_panel = AlertsPanel(self.alert_center)
        self.alerts_dock.setWidget(self.alerts_panel)
        self.alerts_panel.show_settings(settings)
        self._seen_open: set[int] = set()
        self._seen_closed: set[int] = set()
        self.refresh_timer = QTimer(self)
        self.refresh_timer.timeout.connect(self.refresh)
        self.refresh_timer.start(1000)
        self._restore_layout()
        self._show_empty_states()
        if start_worker:  # after the window has shown: the scanner's imports must not delay the first paint
            QTimer.singleShot(0, self.source.start)

    # the running worker (tests and the smoke test reach it)
    @property
    def worker(self) -> Any:
        return self.source.worker

    @property
    def pipeline_thread(self) -> Any:
        return self.source.runner

    @property
    def candle_chart(self) -> Any:
        return self.chart_panel.chart

    # ---------------------------------------------------------------- layout
    def _build_ui(self) -> None:
        self.active = ActiveSignalsModel(self)
        self.completions = CompletionsModel(self)
        self.active_view = TableView(self.active, "active", "Starting: loading candles…")
        self.done_view = TableView(self.completions, "completions")
        self.chart_panel = ChartPanel(clock=self.clock)
        self.chart_panel.chart_requested.connect(lambda sym, tf: self.source.request_chart.emit((sym, tf, True)))
        self.chart_panel.follow.toggled.connect(self._follow_toggled)
        self.equity_chart = EquityChart()
        self.calibration_chart = CalibrationChart()
        self.charts = QTabWidget()
        self.charts.addTab(self.chart_panel, "C&hart")
        self.charts.addTab(self.equity_chart, "&Equity")
        self.charts.addTab(self.calibration_chart, "Ca&libration")
        self.banner = Banner()
        self.banner.simulated_chosen.connect(self.use_simulated)
        self.banner.retry_chosen.connect(lambda: self.switch_source(self.source.spec))
        self.banner.live_chosen.connect(self.back_to_live)
        self.left_split = QSplitter(Qt.Orientation.Vertical)
        self.left_split.setObjectName("centre_splitter")
        for part in (self.active_view, self.charts, self.done_view):
            self.left_split.addWidget(part)
        self.left_split.setStretchFactor(1, 3)
        self.main_split = self.left_split  # one splitter now: docks hold the sides
        centre = QWidget()
        lay = QVBoxLayout(centre)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.banner)
        lay.addWidget(self.left_split, 1)
        self.setCentralWidget(centre)
        self.watch = WatchlistPanel()
        self.watch.symbol_activated.connect(self.show_symbol)
        self.watch.alert_score_requested.connect(self.ask_alert_score)
        self.watch.mute_toggled.connect(self.toggle_mute)
        self.watch_dock = self._dock("Watchlist", "watchlist_dock", self.watch, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.sizing = SizingPanel()
        self.why = WhyPanel(clock=self.clock)
        signal = QWidget()
        sl = QVBoxLayout(signal)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.sizing)
        sl.addWidget(self.why)
        sl.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(signal)
        scroll.setWidgetResizable(True)
        self.signal_dock = self._dock("Signal", "signal_dock", scroll, Qt.DockWidgetArea.RightDockWidgetArea)
        self.stats_label = stats_label()
        self.history_offer = QLabel("No backtest yet, so every historical accuracy reads \"not enough history\". "
                                    "Build history in the background: backtest imported or simulated candles, "
                                    "then train the ML filter.")
        self.history_offer.setWordWrap(True)
        self.history_button = QPushButton("&Build history…")
        self.history_button.clicked.connect(self.build_history)
        side = QWidget()
        side_lay = QVBoxLayout(side)
        for offer in (self.history_offer, self.history_button):
            offer.setVisible(False)
            side_lay.addWidget(offer)
        side_lay.addWidget(self.stats_label)
        side_lay.addStretch(1)
        stats_scroll = QScrollArea()
        stats_scroll.setWidget(side)
        stats_scroll.setWidgetResizable(True)
        self.stats_dock = self._dock("Statistics", "stats_dock", stats_scroll, Qt.DockWidgetArea.RightDockWidgetArea)
        self.alerts_dock = self._dock("Alerts", "alerts_dock", QWidget(), Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.stats_dock, self.alerts_dock)
        self.stats_dock.raise_()
        labels = status_widgets(self)
        self.source_label, self.ml_label = labels["connection"], labels["ml"]
        self.scan_label, self.error_label = labels["scan"], labels["error"]
        for label in (self.source_label, self.ml_label, self.scan_label):
            self.statusBar().addWidget(label)
        self.statusBar().addPermanentWidget(self.error_label)
        self.active_view.selectionModel().currentRowChanged.connect(self.on_select)
        self.done_view.selectionModel().currentRowChanged.connect(self.on_select_closed)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_menus(self) -> None:
        def action(menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            menu.addAction(act)
            return act

        f = self.menuBar().addMenu("&File")
        action(f, "&Import history…", self.import_history, "Ctrl+I")
        action(f, "Replay &history in the desk…", self.open_replay, "Ctrl+Shift+H")
        self.live_action = action(f, "Back to the &live source", self.back_to_live, "Ctrl+Shift+L")
        f.addSeparator()
        action(f, "Export PDF &report…", self.export_report, "Ctrl+R")
        action(f, "Export signals as &CSV…", self.export_csv, "Ctrl+E")
        f.addSeparator()
        action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        s = self.menuBar().addMenu("&Signal")
        action(s, "&Copy levels and size", self.copy_levels, "Ctrl+Shift+C")
        action(s, "Show the pair's &chart", self.chart_of_selection, "Ctrl+G")
        action(s, "Choose a &pair for the chart", self.chart_panel.symbol_box.setFocus, "Ctrl+K")
        action(s, "&Follow live", lambda: self.chart_panel.follow.setChecked(True), "End")
        action(s, "&Mute or unmute the pair's alerts", self.mute_selection, "Ctrl+M")
        action(s, "Set the pair's &alert score…", self.alert_score_selection, "Ctrl+Shift+A")
        v = self.menuBar().addMenu("&View")
        for k, dock in enumerate((self.watch_dock, self.signal_dock, self.stats_dock, self.alerts_dock), start=1):
            act = dock.toggleViewAction()
            act.setShortcut(QKeySequence(f"Ctrl+{k}"))
            v.addAction(act)
        action(v, "&Filter the watchlist", self.focus_watchlist, "Ctrl+F")
        self.utc_action = action(v, "Times in &UTC", self.toggle_utc, "Ctrl+Shift+U")
        self.utc_action.setCheckable(True)
        self.utc_action.setChecked(self.clock.utc)
        action(v, "&Reset the layout", self.reset_layout)
        t = self.menuBar().addMenu("&Tools")
        action(t, "Run &backtest…", self.open_backtest, "Ctrl+B")
        action(t, "&Train model…", self.open_train, "Ctrl+T")
        action(t, "Optimise &threshold…", lambda: self.open_optimise("thresholds"), "Ctrl+Shift+T")
        action(t, "Optimise &patterns…", lambda: self.open_optimise("patterns"), "Ctrl+Shift+P")
        t.addSeparator()
        action(t, "&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences)
        h = self.menuBar().addMenu("&Help")
        action(h, "&About", self.about)

    # ---------------------------------------------------------------- layout memory
    def _restore_layout(self) -> None:
        self.layout_memory = LayoutMemory(self, {
            "centre_split": self.left_split, "active_header": self.active_view.horizontalHeader(),
            "done_header": self.done_view.horizontalHeader(),
            "watch_header": self.watch.view.horizontalHeader(),
            "alerts_header": self.alerts_panel.view.horizontalHeader()})
        done = self.layout_memory.restore()
        if "geometry" not in done:
            self.resize(1440, 900)
        if "window_state" not in done:
            self.resizeDocks([self.watch_dock, self.signal_dock], [360, 360], Qt.Orientation.Horizontal)
            self.resizeDocks([self.signal_dock, self.stats_dock], [520, 300], Qt.Orientation.Vertical)
        if "centre_split" not in done:
            self.left_split.setSizes([200, 460, 160])
        self._sized = {k for k in done if k.endswith("_header")}  # tables fitted to their first rows once
        overlays = self.layout_memory.get("chart_overlays")
        if isinstance(overlays, str):
            self.chart_panel.set_overlays(set(filter(None, overlays.split(","))))

    def save_layout(self) -> None:
        self.layout_memory.save()
        self.layout_memory.set("chart_overlays", ",".join(sorted(self.chart_panel.chosen_overlays())))

    def _qsettings(self) -> Any:
        from app.ui.layout import qsettings

        return qsettings()

    def reset_layout(self) -> None:
        for dock in (self.watch_dock, self.signal_dock, self.stats_dock, self.alerts_dock):
            dock.setFloating(False)
            dock.setVisible(True)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.watch_dock)
        for dock in (self.signal_dock, self.stats_dock, self.alerts_dock):
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.tabifyDockWidget(self.stats_dock, self.alerts_dock)
        self.resizeDocks([self.watch_dock, self.signal_dock], [360, 360], Qt.Orientation.Horizontal)
        self.left_split.setSizes([200, 460, 160])

    def closeEvent(self, event: Any) -> None:
        self.save_layout()
        self.refresh_timer.stop()
        self.source.stop()
        for job in list(self.jobs.running.values()):
            job.cancel()
        super().closeEvent(event)

    # ---------------------------------------------------------------- updates
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
        opened = [r for r in snap.open_rows if r.id not in self._seen_open and r.id not in self._seen_closed]
        closed = [r for r in snap.closed_rows if r.id not in self._seen_closed]
        self._seen_open = {r.id for r in snap.open_rows}
        self._seen_closed |= {r.id for r in snap.closed_rows}
        if not first:  # not for what was already there at start
            self.alert_center.on_changes(opened, closed, self.settings)
        self.active.apply(snap.open_rows)
        self.completions.append_front(snap.closed_rows)
        self.watch.model.set_rows(snap.watchlist)
        self.watch.model.now_ms = self._source_now_ms(snap)
        self._show_empty_states()
        for key, view, rows in (("active_header", self.active_view, snap.open_rows),
                                ("done_header", self.done_view, snap.closed_rows),
                                ("watch_header", self.watch.view, snap.watchlist)):
            if rows and key not in self._sized:  # sized to the first rows once (~25 ms a call)
                view.resizeColumnsToContents()
                self._sized.add(key)
        if snap.open_rows and self.selected is None and not self.active_view.currentIndex().isValid():
            self.active_view.selectRow(0)
        self.stats_label.setText(stats_html(snap))
        for w in (self.history_offer, self.history_button):
            w.setVisible(not snap.has_history)
        self._show_source(snap)
        self.chart_panel.set_choices([r.symbol for r in snap.watchlist], list(snap.timeframes))
        if self.charts.currentWidget() is self.equity_chart:
            self.equity_chart.show_points(snap.equity)
        elif self.charts.currentWidget() is self.calibration_chart:
            self.calibration_chart.show_calibration(snap.calibration)
        current = self.chart_panel.current
        if current is not None and not self.chart_panel.trade_mode:
            self.source.request_chart.emit((current[0], current[1], False))
            self._show_last_price(snap)
        self._follow_selected(snap)

    def _source_now_ms(self, snap: Snapshot) -> Any:
        """The source's clock for "since signal" (a replay's clock is not the wall clock)."""
        latest = max((r.candle_time for r in snap.watchlist if r.candle_time is not None), default=None)
        if not snap.source.startswith("REPLAY") or latest is None:
            return lambda: time.time() * 1000.0
        tf = snap.watchlist[0].timeframe if snap.watchlist else "5m"
        from app.core.candles import timeframe_ms

        end = latest + timeframe_ms(tf)
        return lambda: float(end)

    def _show_source(self, snap: Snapshot) -> None:
        text, colour = connection_text(snap.source, snap.connection)
        self._set_source_text(text, colour)
        self.setWindowTitle(f"ScalpDesk · {snap.source}")
        self.ml_label.setText(f"ML filter: {snap.ml_status}")
        self.ml_label.setToolTip(snap.ml_status)
        if snap.last_scan_ms:
            self.scan_label.setText(f"last scan: {self.clock.time(snap.last_scan_ms)} {self.clock.zone}")
        errors = "; ".join(f"{k}: {v}" for k, v in snap.errors.items())
        self.error_label.setText(errors if len(errors) <= 120 else errors[:117] + "…")
        self.error_label.setToolTip("\n".join(f"{k}: {v}" for k, v in snap.errors.items()))
        kind, message = banner_for(snap.connection, snap.source)
        if kind or self.banner.kind in ("offline", "replay"):
            self.banner.show_kind(kind, message)
        self.live_action.setEnabled(snap.source.startswith("REPLAY") or self.source.spec is not None)

    def _set_source_text(self, text: str, colour: str) -> None:
        self.source_label.setText(text)
        self.source_label.setStyleSheet(f"color: {colour}")

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

    # ---------------------------------------------------------------- selection
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
        if on and self.chart_panel.trade_mode and self.chart_panel.current is not None:
            self.chart_panel.show_pair(*self.chart_panel.current)

    def show_symbol(self, symbol: str) -> None:
        """A pair's live chart (double-click in the watchlist)."""
        tf = self.latest.timeframes[0] if self.latest is not None and self.latest.timeframes else None
        if self.selected is not None and self.selected.symbol != symbol:
            self.selected = None
            self.candle_chart.clear_levels()
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

    # ---------------------------------------------------------------- alerts and clipboard
    def copy_levels(self) -> None:
        text = self.sizing.copy()
        self.statusBar().showMessage(f"Copied: {text}" if text else "Select a signal first.", 6000)

    def focus_watchlist(self) -> None:
        self.watch_dock.show()
        self.watch.filter.setFocus()
        self.watch.filter.selectAll()

    def _selected_symbol(self) -> str | None:
        if self.watch.view.hasFocus() and self.watch.current_symbol():
            return self.watch.current_symbol()
        return self.selected.symbol if self.selected is not None else self.watch.current_symbol()

    def mute_selection(self) -> None:
        if (sym := self._selected_symbol()) is not None:
            self.toggle_mute(sym)

    def alert_score_selection(self) -> None:
        if (sym := self._selected_symbol()) is not None:
            self.ask_alert_score(sym)

    def toggle_mute(self, symbol: str) -> None:
        muted = list(self.settings.alerts.muted)
        muted = [m for m in muted if m != symbol] if symbol in muted else [*muted, symbol]
        if self._save({"alerts.muted": muted}):
            self.statusBar().showMessage(f"Alerts for {symbol} {'muted' if symbol in muted else 'on again'}.", 6000)

    def ask_alert_score(self, symbol: str) -> None:
        current = alert_score(self.settings.alerts, symbol)
        value, ok = QInputDialog.getDouble(self, "Alert score", f"Sound and pop-up for {symbol} signals from score "
                                           "(0: every signal):", current, 0.0, 100.0, 1)
        if ok:
            self.set_alert_score(symbol, value)

    def set_alert_score(self, symbol: str, value: float) -> None:
        own = dict(self.settings.alerts.min_score_by_symbol)
        own[symbol] = float(value)
        self._save({"alerts.min_score_by_symbol": own})

    def toggle_utc(self) -> None:
        self._save({"appearance.times": "utc" if self.utc_action.isChecked() else "local"})

    def _save(self, changes: dict[str, Any]) -> bool:
        from app.errors import ConfigError
        from app.settings import update_user_config

        try:
            new = update_user_config(changes, self.settings.source_path
                                     if self.settings.source_path.endswith("config.json") else None)
        except ConfigError as exc:
            QMessageBox.warning(self, "Not saved", str(exc))
            return False
        self.on_settings_saved(new)
        return True

    def _apply_view_settings(self, new: Any) -> None:
        self.clock = Clock(utc=new.appearance.times == "utc")
        self.utc_action.setChecked(self.clock.utc)
        self.chart_panel.chart.set_clock(self.clock)
        self.why.clock = self.clock
        for model in (self.active, self.completions, self.watch.model, self.alert_center.model):
            model.set_context(None, self.clock)
        self.watch.muted = set(new.alerts.muted)
        self.alerts_panel.show_settings(new)

    # ---------------------------------------------------------------- sources
    def open_replay(self) -> Any:
        from app.ui.replay_dialog import ReplayDialog

        dlg = ReplayDialog(self, str(self.layout_memory.get("replay_dir", "")))
        dlg.replay_chosen.connect(self.start_replay)
        return self._open(dlg)

    def start_replay(self, spec: Any) -> None:
        if spec.files:
            self.layout_memory.set("replay_dir", str(Path(spec.files[0]).parent))
        self.switch_source(spec)

    def use_simulated(self) -> None:
        """The trader's choice after the exchange failed: the simulated market, labelled SIMULATED everywhere."""
        from app.session.live import SourceSpec

        self.switch_source(SourceSpec(kind="sim"))

    def back_to_live(self) -> None:
        self.switch_source(None)

    def switch_source(self, spec: Any) -> None:
        """Another source for the whole desk; its records are its own, so the tables start from its snapshot."""
        self.statusBar().showMessage("Switching the source…", 5000)
        self.latest = self.applied = None
        self.selected = None
        self._seen_open, self._seen_closed = set(), set()
        self.active.apply([])
        self.completions.apply([])
        self.watch.model.set_rows([])
        self.candle_chart.clear_levels()
        self.sizing.show_signal(None, None, 0.01)
        self.why.show_report(None)
        self.banner.show_kind("", "")
        self.started_at = time.monotonic()
        self.source.settings = self.settings
        self.source.switch(spec)
        self._show_empty_states()

    def on_source_restarted(self, spec: Any) -> None:
        words = "the settings' source" if spec is None else f"{spec.kind} source"
        self.statusBar().showMessage(f"Started {words}.", 6000)

    # ---------------------------------------------------------------- actions
    def _open(self, dialog: Any) -> Any:
        self.dialogs.append(dialog)
        dialog.finished.connect(lambda *_: self.dialogs.remove(dialog) if dialog in self.dialogs else None)
        dialog.open()
        return dialog

    def open_backtest(self) -> Any:
        from app.ui.dialogs import BacktestDialog

        dlg = BacktestDialog(self.jobs, self.settings, self.db_path, self)
        dlg.job_done.connect(lambda _r: self.source.reload.emit())
        return self._open(dlg)

    def build_history(self) -> Any:
        """First start: a backtest (files if chosen, else the simulated market), then training, both in the
        background with progress; the window stays usable meanwhile."""
        dlg = self.open_backtest()

        def train_next(result: Any) -> None:
            if result.get("signals", 0) >= 200:
                self.open_train().start()

        dlg.job_done.connect(train_next)
        return dlg

    def open_train(self) -> Any:
        from app.ui.dialogs import TrainDialog

        dlg = TrainDialog(self.jobs, self.settings, self.db_path, self.model_path, self)
        dlg.job_done.connect(lambda _r: self.source.reload.emit())
        return self._open(dlg)

    def open_optimise(self, what: str) -> Any:
        from app.ui.dialogs import OptimiseDialog

        dlg = OptimiseDialog(self.jobs, self.settings, self.db_path, what, self)
        dlg.applied.connect(self.on_settings_saved)
        return self._open(dlg)

    def open_settings(self) -> Any:
        from app.ui.dialogs import SettingsDialog

        dlg = SettingsDialog(self.settings, self)
        dlg.saved.connect(self.on_settings_saved)
        return self._open(dlg)

    def on_settings_saved(self, new: Any) -> None:
        """Saved settings (the dialog, an optimiser's Apply) go to the running session: used from its next cycle."""
        self.settings = new
        self.source.settings = new
        self._apply_view_settings(new)
        self.settings_changed.emit(new)
        self.statusBar().showMessage("Settings saved; the scanner uses them from its next cycle.", 8000)

    def on_settings_applied(self, lines: list[str]) -> None:
        if lines:
            self.statusBar().showMessage("Settings applied: " + "; ".join(lines), 15000)

    def import_history(self) -> None:
        self.open_backtest().choose()

    def export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export signals", "signals.csv", "CSV (*.csv)")
        if path:
            from app.ui.workers import Job

            db_path = self.db_path

            def run(progress: Any, cancel: Any) -> str:
                from app.services.reporting.export import export_csv

                return export_csv(db_path, Path(path))

            job = Job("export-csv", run)
            job.signals.finished.connect(lambda p: self.statusBar().showMessage(f"Exported to {p}", 8000))
            job.signals.failed.connect(lambda m: QMessageBox.warning(self, "Export failed", m))
            self.jobs.submit(job)

    def export_report(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export PDF report", "scalpdesk-report.pdf", "PDF (*.pdf)")
        if path:
            from app.ui.workers import Job

            db_path, settings = self.db_path, self.settings

            def run(progress: Any, cancel: Any) -> str:
                from app.services.reporting.pdf import render_report

                return str(render_report(db_path, Path(path), "daily", settings=settings))

            job = Job("report", run)
            job.signals.finished.connect(lambda p: self.statusBar().showMessage(f"Report written to {p}", 8000))
            job.signals.failed.connect(lambda m: QMessageBox.warning(self, "Report failed", m))
            self.jobs.submit(job)

    def about(self) -> None:
        from app.ui.dialogs import about_text

        QMessageBox.about(self, "About ScalpDesk", about_text())
