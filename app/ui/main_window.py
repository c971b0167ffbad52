"""The main window: active signals, recent completions, statistics, charts, status bar, menus.

The GUI thread only copies the latest snapshot into the models once a second (bursts of worker updates
are coalesced, as Electrum does); sorting happens when the user asks for it, not on every update.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.services.live.dashboard import Snapshot
from app.ui.charts import CalibrationChart, CandleChart, EquityChart
from app.ui.models import ActiveSignalsModel, CompletionsModel
from app.ui.workers import JobManager, PipelineThread, PipelineWorker


def _rate(s: dict[str, Any]) -> str:
    if s.get("win_rate") is None:
        return f"not enough history (n={s.get('signals', 0)})"
    return f"{s['win_rate']:.1%} ({s['ci_low']:.1%}–{s['ci_high']:.1%}, n={s['signals']})"


def _pf(x: Any) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def tray_message(opened: list[dict[str, Any]], closed: list[dict[str, Any]]) -> tuple[str, str] | None:
    """One desktop pop-up per refresh however many signals opened or closed: a burst must not flood the
    desktop. Outcomes carry their P&L after fees, as the completions table shows them."""
    lines = []
    if len(opened) == 1:
        r = opened[0]
        lines.append(f"New: {r['side']} {r['symbol']} {r['timeframe']} · score {r['confluence_score']:.1f}")
    elif opened:
        lines.append(f"{len(opened)} new signals")
    if len(closed) == 1:
        r = closed[0]
        lines.append(f"{r['status']}: {r['side']} {r['symbol']} {r['timeframe']} · {r['pnl_pct']:+.2f}% after fees")
    elif closed:
        count = {k: sum(r["status"] == k for r in closed) for k in ("WIN", "LOSS", "EXPIRED")}
        lines.append(f"{len(closed)} closed: {count['WIN']} won, {count['LOSS']} lost, {count['EXPIRED']} expired · "
                     f"{sum(r['pnl_pct'] for r in closed):+.2f}% after fees")
    if not lines:
        return None
    title = "New signal" if not closed else "Signal closed" if not opened else "Signals"
    return title, "\n".join(lines)


class MainWindow(QMainWindow):
    request_candles = Signal(str)
    reload_worker = Signal()
    settings_changed = Signal(object)

    def __init__(self, settings: Any, db_path: Path, model_path: Path, interval_s: float | None = None,
                 start_worker: bool = True) -> None:
        super().__init__()
        self.settings = settings
        self.db_path = db_path
        self.model_path = model_path
        self.jobs = JobManager()
        self.latest: Snapshot | None = None
        self.applied: Snapshot | None = None
        self._selected_id: int | None = None  # the signal whose levels the candle chart shows
        self.dialogs: list[Any] = []
        self.setWindowTitle("ScalpDesk")
        self._build_ui()
        self._build_menus()
        self.worker = PipelineWorker(settings, db_path, model_path, interval_s)
        self.worker.snapshot_ready.connect(self.on_snapshot)
        self.worker.candles_ready.connect(self.on_candles)
        self.worker.failed.connect(self.on_worker_failed)
        self.request_candles.connect(self.worker.request_candles)
        self.reload_worker.connect(self.worker.reload)
        self.settings_changed.connect(self.worker.apply_settings)
        self.worker.settings_applied.connect(self.on_settings_applied)
        self.pipeline_thread = PipelineThread(self.worker)
        self.tray: Any = None
        self._seen_open: set[int] = set()
        self._seen_closed: set[int] = set()
        from PySide6.QtWidgets import QSystemTrayIcon

        if settings.appearance.tray_notifications and QSystemTrayIcon.isSystemTrayAvailable():
            from PySide6.QtGui import QIcon

            from app import paths

            self.tray = QSystemTrayIcon(QIcon(str(paths.resource_path("icons", "scalpdesk.png"))), self)
            self.tray.show()
        self.refresh_timer = QTimer(self)
        self.refresh_timer.timeout.connect(self.refresh)
        self.refresh_timer.start(1000)
        self._restore_layout()
        if start_worker:  # after the window has shown: the scanner's imports must not delay the first paint
            QTimer.singleShot(0, self.pipeline_thread.start)

    # ---------------------------------------------------------------- layout
    def _build_ui(self) -> None:
        self.active = ActiveSignalsModel(self)
        self.completions = CompletionsModel(self)
        self.active_view = self._table(self.active, "active")
        self.done_view = self._table(self.completions, "completions")
        self.stats_label = QLabel("Waiting for the first scan…")
        self.stats_label.setTextFormat(Qt.TextFormat.RichText)
        self.stats_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.stats_label.setWordWrap(True)
        self.stats_label.setMinimumWidth(260)
        self.candle_chart = CandleChart()
        self.equity_chart = EquityChart()
        self.calibration_chart = CalibrationChart()
        self.charts = QTabWidget()
        self.charts.addTab(self.candle_chart, "&Candles")
        self.charts.addTab(self.equity_chart, "&Equity")
        self.charts.addTab(self.calibration_chart, "Ca&libration")
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.active_view)
        left.addWidget(self.charts)
        left.addWidget(self.done_view)
        left.setObjectName("left_splitter")
        self.main_split = QSplitter(Qt.Orientation.Horizontal)
        self.main_split.addWidget(left)
        side = QWidget()
        lay = QVBoxLayout(side)
        self.history_offer = QLabel("No backtest yet, so every historical accuracy reads \"not enough history\". "
                                    "Build history in the background: backtest imported or simulated candles, "
                                    "then train the ML filter.")
        self.history_offer.setWordWrap(True)
        self.history_button = QPushButton("&Build history…")
        self.history_button.clicked.connect(self.build_history)
        for w in (self.history_offer, self.history_button):
            w.setVisible(False)
            lay.addWidget(w)
        lay.addWidget(self.stats_label)
        self.main_split.addWidget(side)
        self.main_split.setStretchFactor(0, 4)
        self.main_split.setObjectName("main_splitter")
        self.left_split = left
        self.setCentralWidget(self.main_split)
        self.source_label = QLabel("source: starting…")
        self.ml_label = QLabel("ML filter: loading…")
        self.scan_label = QLabel("last scan: —")
        self.error_label = QLabel("")
        for w in (self.source_label, self.ml_label, self.scan_label):
            self.statusBar().addWidget(w)
        self.statusBar().addPermanentWidget(self.error_label)
        self.active_view.selectionModel().currentRowChanged.connect(self.on_select)

    def _table(self, model: Any, name: str) -> QTableView:
        proxy = QSortFilterProxyModel(self)
        proxy.setSourceModel(model)
        proxy.setSortRole(Qt.ItemDataRole.UserRole)
        proxy.setDynamicSortFilter(False)  # re-sorting every row on each update costs ~340 ms at 1,000 rows
        view = QTableView()
        view.setObjectName(name)
        view.setModel(proxy)
        view.setSortingEnabled(True)
        view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        view.verticalHeader().setVisible(False)
        view.horizontalHeader().setStretchLastSection(True)
        view.setAlternatingRowColors(True)
        return view

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
        action(f, "Export PDF &report…", self.export_report, "Ctrl+R")
        action(f, "Export signals as &CSV…", self.export_csv, "Ctrl+E")
        f.addSeparator()
        action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
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
    def _qsettings(self) -> QSettings:
        """Window geometry, splitters and columns, in the user config folder (SCALPDESK_HOME moves it too)."""
        from app import paths

        return QSettings(str(paths.user_config_dir() / "window.ini"), QSettings.Format.IniFormat)

    def _restore_layout(self) -> None:
        qs = self._qsettings()
        geo = qs.value("geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1400, 900)
        for key, widget in (("main_split", self.main_split), ("left_split", self.left_split)):
            state = qs.value(key)
            if state is not None:
                widget.restoreState(state)
        self._saved_columns: set[str] = set()  # tables already sized (restored here, or fitted to the first rows)
        for key, view in (("active_header", self.active_view), ("done_header", self.done_view)):
            state = qs.value(key)
            if state is not None:
                view.horizontalHeader().restoreState(state)
                self._saved_columns.add(key)

    def save_layout(self) -> None:
        qs = self._qsettings()
        qs.setValue("geometry", self.saveGeometry())
        qs.setValue("main_split", self.main_split.saveState())
        qs.setValue("left_split", self.left_split.saveState())
        qs.setValue("active_header", self.active_view.horizontalHeader().saveState())
        qs.setValue("done_header", self.done_view.horizontalHeader().saveState())

    def closeEvent(self, event: Any) -> None:
        self.save_layout()
        self.refresh_timer.stop()
        self.pipeline_thread.stop()
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
        snap = self.latest
        if snap is None or snap is self.applied:
            return
        known, known_closed = self._seen_open | self._seen_closed, self._seen_closed  # the previous snapshot's
        self._seen_open = {r["id"] for r in snap.open_rows}
        self._seen_closed = {r["id"] for r in snap.closed_rows}
        if self.tray is not None and self.applied is not None:  # not for what was already there at start
            pop = tray_message([r for r in snap.open_rows if r["id"] not in known],
                               [r for r in snap.closed_rows if r["id"] not in known_closed])
            if pop is not None:
                self.tray.showMessage(*pop)
        self.applied = snap
        self.active.apply(snap.open_rows)
        if snap.open_rows and not self.active_view.currentIndex().isValid():
            self.active_view.selectRow(0)
        self.completions.append_front(snap.closed_rows)
        for key, view, rows in (("active_header", self.active_view, snap.open_rows),
                                ("done_header", self.done_view, snap.closed_rows)):
            if rows and key not in self._saved_columns:  # sized to the first rows once (~25 ms a call)
                view.resizeColumnsToContents()
                self._saved_columns.add(key)
        self._show_stats(snap)
        for w in (self.history_offer, self.history_button):
            w.setVisible(not snap.has_history)
        self.source_label.setText(f"source: {snap.source}")
        self.ml_label.setText(f"ML filter: {snap.ml_status}")
        if snap.last_scan_ms:
            when = dt.datetime.fromtimestamp(snap.last_scan_ms / 1000).strftime("%H:%M:%S")
            self.scan_label.setText(f"last scan: {when}")
        self.error_label.setText("; ".join(f"{k}: {v}" for k, v in snap.errors.items())[:200])
        self.error_label.setToolTip("\n".join(f"{k}: {v}" for k, v in snap.errors.items()))
        if self.charts.currentWidget() is self.equity_chart:
            self.equity_chart.show_points(snap.equity)
        elif self.charts.currentWidget() is self.calibration_chart:
            self.calibration_chart.show_calibration(snap.calibration)
        if self.candle_chart.symbol:
            self.request_candles.emit(self.candle_chart.symbol)

    def _show_stats(self, snap: Snapshot) -> None:
        a, t = snap.all_time, snap.today
        sim = "SIMULATED" in snap.source
        head = snap.headline or {}
        e = head.get("expectancy") or {}
        p = head.get("portfolio") or {}
        exp = "no closed signal yet" if e.get("pct") is None else (
            f"{e['pct']:+.3f}% per trade" + ("" if e.get("ci_low") is None else
                                             f" (95%: {e['ci_low']:+.3f} to {e['ci_high']:+.3f})"))
        rows = [
            ("Net expectancy (all time)", exp), ("Open", str(a.get("open", 0))),
            ("Closed (all time)", str(a["signals"])),
            ("Account return", "—" if not p else f"{p['return_pct']:+.2f}% at {p['risk_per_trade_pct']:g}% risk"),
            ("Max drawdown", "—" if not p else f"{p['max_drawdown_pct']:.1f}% of equity"),
            ("Win rate (all time)", _rate(a)), ("Profit factor", _pf(a["profit_factor"])),
            ("Closed today", str(t["signals"])), ("Win rate today", _rate(t)),
        ]
        body = "".join(f"<tr><td>{html.escape(k)}</td><td align='right'><b>{html.escape(v)}</b></td></tr>"
                       for k, v in rows)
        alerts = "".join(f"<li>{html.escape(m)}</li>" for m in snap.drift_alerts[:5])
        banner = "<p style='color:#c8a04c'><b>SIMULATED market</b>: these numbers are not real trading.</p>" \
            if sim else ""
        v = snap.verdict
        colour = "#2e9d57" if v is not None and v["verdict"] == "PROFITABLE" else "#d64545"
        verdict = "" if v is None else (
            f"<p style='color:{colour}'><b>{html.escape(v['verdict'])}</b> (backtest run {v['run_id']}): "
            f"{html.escape(v['text'])}</p>")
        self.stats_label.setText(f"{banner}{verdict}<table width='100%'>{body}</table>"
                                 + (f"<p><b>Drift alerts</b></p><ul>{alerts}</ul>" if alerts else ""))

    def on_select(self, current: Any, _previous: Any = None) -> None:
        if not current.isValid():
            return
        proxy = self.active_view.model()
        src = proxy.mapToSource(current)  # type: ignore[attr-defined]
        row = self.active.row_dict(src.row())
        if row["id"] == self._selected_id:
            return  # rows above it came or went: still the same signal
        self._selected_id = row["id"]
        self.candle_chart.show_levels(row["entry"], row["stop_loss"], row["take_profit"])
        self.candle_chart.symbol = row["symbol"]
        self.request_candles.emit(row["symbol"])

    def on_candles(self, payload: Any) -> None:
        symbol, c = payload
        if symbol != self.candle_chart.symbol:
            return
        label = "(SIMULATED)" if self.latest is not None and "SIMULATED" in self.latest.source else ""
        self.candle_chart.show_candles(symbol, c.time, c.open, c.high, c.low, c.close, c.volume, label)
        if self.latest is not None:
            opened = [(r["signal_time"], r["entry"], r["side"]) for r in self.latest.open_rows
                      if r["symbol"] == symbol]
            closed = [(r["closed_at"], r["exit_price"], r["status"]) for r in self.latest.closed_rows
                      if r["symbol"] == symbol][:200]
            self.candle_chart.show_markers(opened, closed)

    def on_worker_failed(self, message: str) -> None:
        self.error_label.setText(message[:200])
        self.error_label.setToolTip(message)

    # ---------------------------------------------------------------- actions
    def _open(self, dialog: Any) -> Any:
        self.dialogs.append(dialog)
        dialog.finished.connect(lambda *_: self.dialogs.remove(dialog) if dialog in self.dialogs else None)
        dialog.open()
        return dialog

    def open_backtest(self) -> Any:
        from app.ui.dialogs import BacktestDialog

        dlg = BacktestDialog(self.jobs, self.settings, self.db_path, self)
        dlg.job_done.connect(lambda _r: self.reload_worker.emit())
        show_trade = getattr(self, "show_trade", None)  # the chart's side (desk); without it no trade is drawn
        if show_trade is not None:
            dlg.trade_selected.connect(show_trade)
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
        dlg.job_done.connect(lambda _r: self.reload_worker.emit())
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
