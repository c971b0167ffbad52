"""What the desk's parts are, for the window's mixins (app.ui.desk_refresh, desk_selection, desk_actions): the
window is assembled in app.ui.main_window; each mixin holds one concern of it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QPushButton, QSplitter, QTabWidget

    from app.services.live.dashboard import Snapshot
    from app.ui.alerts import AlertCenter, AlertsPanel
    from app.ui.chart_panel import ChartPanel
    from app.ui.charts import CalibrationChart, CandleChart, EquityChart
    from app.ui.formatting import Clock
    from app.ui.layout import LayoutMemory
    from app.ui.models import ActiveSignalsModel, CompletionsModel
    from app.ui.signal_panel import SizingPanel, WhyPanel
    from app.ui.source_control import SourceControl
    from app.ui.status import Banner
    from app.ui.tables import TableView
    from app.ui.watchlist import WatchlistPanel
    from app.ui.workers import JobManager

    Base = QMainWindow
else:
    Base = object


class DeskParts(Base):
    settings: Any
    db_path: Path
    model_path: Path
    jobs: JobManager
    latest: Snapshot | None
    applied: Snapshot | None
    selected: Any
    clock: Clock
    started_at: float
    source: SourceControl
    active: ActiveSignalsModel
    completions: CompletionsModel
    active_view: TableView
    done_view: TableView
    chart_panel: ChartPanel
    equity_chart: EquityChart
    calibration_chart: CalibrationChart
    charts: QTabWidget
    banner: Banner
    disk_banner: Banner
    left_split: QSplitter
    watch: WatchlistPanel
    watch_dock: QDockWidget
    sizing: SizingPanel
    why: WhyPanel
    stats_label: QLabel
    history_offer: QLabel
    history_button: QPushButton
    source_label: QLabel
    ml_label: QLabel
    scan_label: QLabel
    error_label: QLabel
    notify_label: QLabel
    alert_center: AlertCenter
    alerts_panel: AlertsPanel
    layout_memory: LayoutMemory
    live_action: QAction
    utc_action: QAction
    _seen_open: set[int]
    _seen_closed: set[int]
    _sized: set[str]
    _pending_frame: tuple[str, float, float] | None
    _auto_selected: bool

    @property
    def candle_chart(self) -> CandleChart:
        return self.chart_panel.chart

    def on_settings_saved(self, new: Any) -> None:
        raise NotImplementedError

    def _open(self, dialog: Any) -> Any:
        raise NotImplementedError

    def _show_last_price(self, snap: Snapshot) -> None:
        raise NotImplementedError

    def _follow_selected(self, snap: Snapshot) -> None:
        raise NotImplementedError

    def _show_empty_states(self) -> None:
        raise NotImplementedError
