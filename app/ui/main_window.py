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
from app.ui.alerts import AlertCenter, AlertsPanel, tray_message
from app.ui.chart_panel import ChartPanel
from app.ui.charts import CalibrationChart, EquityChart
from app.ui.closing import Closer
from app.ui.desk_actions import DeskActionsMixin
from app.ui.desk_refresh import RefreshMixin
from app.ui.desk_selection import SelectionMixin
from app.ui.formatting import Clock
from app.ui.layout import LayoutMemory
from app.ui.models import ActiveSignalsModel, CompletionsModel
from app.ui.signal_panel import SizingPanel, WhyPanel
from app.ui.source_control import SourceControl
from app.ui.stats_panel import stats_label
from app.ui.status import Banner, status_widgets
from app.ui.tables import TableView
from app.ui.watchlist import WatchlistPanel
from app.ui.workers import JobManager

__all__ = ["MainWindow", "tray_message"]


class MainWindow(RefreshMixin, SelectionMixin, DeskActionsMixin, QMainWindow):
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
        self._auto_selected = False  # the first open signal is selected once, at start
        self.dialogs: list[Any] = []
        self.clock = Clock(utc=settings.appearance.times == "utc")
        self.started_at = time.monotonic()
        self.setWindowTitle("ScalpDesk")
        self.source = SourceControl(settings, db_path, model_path, interval_s, spec, self)
        self.closer = Closer(self)
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
        self.disk_banner = Banner()  # its own strip: a full disk is news whatever the connection says
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
        lay.addWidget(self.disk_banner)
        lay.addWidget(self.left_split, 1)
        self.setCentralWidget(centre)
        self.watch = WatchlistPanel()
        self.watch.symbol_activated.connect(self.show_symbol)
        self.watch.alert_score_requested.connect(self.ask_alert_score)
        self.watch.mute_toggled.connect(self.toggle_mute)
        self.watch_dock = self._dock("Watchlist", "watchlist_dock", self.watch, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.sizing = SizingPanel()
        self.why = WhyPanel(clock=self.clock)
        self.signal_dock = self._dock("Signal", "signal_dock", _scrolling(self.sizing, self.why, margins=0),
                                      Qt.DockWidgetArea.RightDockWidgetArea)
        self.stats_label = stats_label()
        self.history_offer = QLabel("No backtest yet, so every historical accuracy reads \"not enough history\". "
                                    "Build history in the background: backtest imported or simulated candles, "
                                    "then train the ML filter.")
        self.history_offer.setWordWrap(True)
        self.history_button = QPushButton("&Build history…")
        self.history_button.clicked.connect(self.build_history)
        for offer in (self.history_offer, self.history_button):
            offer.setVisible(False)
        self.stats_dock = self._dock("Statistics", "stats_dock",
                                     _scrolling(self.history_offer, self.history_button, self.stats_label),
                                     Qt.DockWidgetArea.RightDockWidgetArea)
        self.alerts_dock = self._dock("Alerts", "alerts_dock", QWidget(), Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.stats_dock, self.alerts_dock)
        self.stats_dock.raise_()
        labels = status_widgets(self)
        self.source_label, self.ml_label = labels["connection"], labels["ml"]
        self.scan_label, self.error_label, self.notify_label = labels["scan"], labels["error"], labels["notify"]
        self.notify_label.setStyleSheet("color: #c8a04c")
        self.notify_label.setVisible(False)
        for label in (self.source_label, self.ml_label, self.scan_label, self.notify_label,
                      self.error_label):  # never hidden by a
            self.statusBar().addPermanentWidget(label)  # passing message: the source's state is always visible
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
        action(t, "&Backtest explorer…", self.open_backtest, "Ctrl+B")
        action(t, "&Data manager…", self.open_data_manager, "Ctrl+D")
        action(t, "&Train model…", self.open_train, "Ctrl+T")
        action(t, "Optimise &threshold…", lambda: self.open_optimise("thresholds"), "Ctrl+Shift+T")
        action(t, "Optimise &patterns…", lambda: self.open_optimise("patterns"), "Ctrl+Shift+P")
        action(t, "Strategy &search…", self.open_search, "Ctrl+Shift+S")
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
            self.resizeDocks([self.watch_dock, self.signal_dock], [410, 370], Qt.Orientation.Horizontal)
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
        self.resizeDocks([self.watch_dock, self.signal_dock], [410, 370], Qt.Orientation.Horizontal)
        self.left_split.setSizes([200, 460, 160])

    def closeEvent(self, event: Any) -> None:
        """The first close is refused while the scanner and the jobs stop (app.ui.closing): the window keeps
        painting, and closes once they have ended or at the deadline, whichever comes first."""
        closer = self.closer
        if not closer.loop_running():  # nothing would finish the close later: wait for it here (bounded)
            closer.sync = True
        if not closer.started:
            self.save_layout()
            self.refresh_timer.stop()
            closer.begin()
        if closer.sync:
            closer.wait()
        if closer.finished:
            super().closeEvent(event)
            return
        event.ignore()

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
        dlg.trade_selected.connect(self.show_trade)
        return self._open(dlg)

    def open_data_manager(self) -> Any:
        from app.ui.dialogs import DataManagerDialog

        return self._open(DataManagerDialog(self.jobs, self.settings, self))

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

    def open_search(self) -> Any:
        from app.ui.search_dialog import SearchDialog

        dlg = SearchDialog(self.jobs, self.settings, self)
        dlg.applied.connect(self.on_settings_saved)
        return self._open(dlg)

    def open_settings(self) -> Any:
        from app.ui.dialogs import SettingsDialog

        dlg = SettingsDialog(self.settings, self, jobs=self.jobs)
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

    def export_csv(self) -> Any:
        from app.ui.dialogs import CsvExportDialog

        return self._open(CsvExportDialog(self.jobs, self.settings, self.db_path, self))

    def export_report(self) -> Any:
        from app.ui.dialogs import PdfExportDialog

        return self._open(PdfExportDialog(self.jobs, self.settings, self.db_path, self))

    def about(self) -> None:
        from app.ui.dialogs import about_text

        QMessageBox.about(self, "About ScalpDesk", about_text())


def _scrolling(*widgets: QWidget, margins: int | None = None) -> QScrollArea:
    """The widgets stacked top-down (room left below them) in a scroll area, as a dock's content."""
    inner = QWidget()
    lay = QVBoxLayout(inner)
    if margins is not None:
        lay.setContentsMargins(margins, margins, margins, margins)
    for w in widgets:
        lay.addWidget(w)
    lay.addStretch(1)
    scroll = QScrollArea()
    scroll.setWidget(inner)
    scroll.setWidgetResizable(True)
    return scroll
