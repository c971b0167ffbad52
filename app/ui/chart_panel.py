"""The chart with its controls: pair and timeframe, the indicator menu, "follow live", and what it is showing (a
live feed, a replay, a backtest trade). Before any pair is chosen it says what to do instead of drawing empty
axes."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.candles import timeframe_ms
from app.ui.charts import OVERLAY_STYLE, PANES, CandleChart
from app.ui.formatting import Clock

DEFAULT_OVERLAYS = {"ema21", "ema50"}


class ChartPanel(QWidget):
    chart_requested = Signal(str, str)  # symbol, timeframe

    def __init__(self, parent: Any = None, clock: Clock | None = None) -> None:
        super().__init__(parent)
        self.chart = CandleChart(clock=clock)
        self.symbol_box = QComboBox()
        self.symbol_box.setMinimumContentsLength(10)
        self.symbol_box.setToolTip("Pair shown (Ctrl+K); double-click a pair in the watchlist")
        self.tf_box = QComboBox()
        self.tf_box.setToolTip("Timeframe: the ones the scanner watches (add more in Settings: Also watch timeframes)")
        self.indicators = QToolButton()
        self.indicators.setText("Indicators")
        self.indicators.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.indicators)
        self.overlay_actions: dict[str, QAction] = {}
        for name, (_, words) in OVERLAY_STYLE.items():
            self.overlay_actions[name] = menu.addAction(words)
        menu.addSeparator()
        for name, words in PANES.items():
            self.overlay_actions[name] = menu.addAction(f"{words} pane")
        for name, act in self.overlay_actions.items():
            act.setCheckable(True)
            act.setChecked(name in DEFAULT_OVERLAYS)
            act.toggled.connect(self._overlays_changed)
        self.indicators.setMenu(menu)
        self.follow = QToolButton()
        self.follow.setText("Follow live")
        self.follow.setCheckable(True)
        self.follow.setChecked(True)
        self.follow.setShortcut(QKeySequence("End"))
        self.follow.setToolTip("Keep the newest candle in view (End). Dragging or zooming the chart stops following.")
        self.follow.toggled.connect(self.chart.set_follow)
        self.chart.follow_changed.connect(self._follow_changed)
        self.mode = QLabel("")
        self.mode.setObjectName("chart_mode")
        bar = QHBoxLayout()
        bar.setContentsMargins(2, 2, 2, 0)
        for w in (self.symbol_box, self.tf_box, self.indicators, self.follow):
            bar.addWidget(w)
        bar.addWidget(self.mode, 1)
        self.empty = QLabel("No chart yet.\n\nDouble-click a pair in the watchlist, or select a signal, to see its "
                            "candles with entry, stop and target.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setObjectName("chart_empty")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.chart)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.stack, 1)
        self.symbol_box.activated.connect(self._picked)
        self.tf_box.activated.connect(self._picked)
        self.chart.set_overlays(self.chosen_overlays())
        self.trade_mode = False  # a backtest trade is shown: live candles do not replace it
        self._choices: tuple[list[str], list[str]] = ([], [])

    # ---------------------------------------------------------------- choices
    def chosen_overlays(self) -> set[str]:
        return {name for name, act in self.overlay_actions.items() if act.isChecked()}

    def set_overlays(self, names: set[str]) -> None:
        for name, act in self.overlay_actions.items():
            act.blockSignals(True)
            act.setChecked(name in names)
            act.blockSignals(False)
        self._overlays_changed()

    def _overlays_changed(self, *_: Any) -> None:
        self.chart.set_overlays(self.chosen_overlays())

    def set_choices(self, symbols: list[str], timeframes: list[str]) -> None:
        """The watched pairs and timeframes (kept as they are when unchanged: the user may be choosing)."""
        if (symbols, timeframes) == self._choices:
            return
        self._choices = (list(symbols), list(timeframes))
        for box, items in ((self.symbol_box, symbols), (self.tf_box, timeframes)):
            if [box.itemText(k) for k in range(box.count())] != items:
                current = box.currentText()
                box.blockSignals(True)
                box.clear()
                box.addItems(items)
                if current in items:
                    box.setCurrentText(current)
                box.blockSignals(False)

    def _picked(self, *_: Any) -> None:
        if self.symbol_box.currentText():
            self.show_pair(self.symbol_box.currentText(), self.tf_box.currentText())

    def show_pair(self, symbol: str, timeframe: str | None = None) -> None:
        """Ask for a pair's live chart (it appears when the worker answers)."""
        tf = timeframe or self.tf_box.currentText() or self.chart.timeframe
        self.trade_mode = False
        self.symbol_box.setCurrentText(symbol)
        if tf:
            self.tf_box.setCurrentText(tf)
        if symbol != self.chart.symbol or tf != self.chart.timeframe:
            self.chart.clear_levels()
        self.wanted = (symbol, tf)
        self.chart_requested.emit(symbol, tf)

    @property
    def current(self) -> tuple[str, str] | None:
        return getattr(self, "wanted", None)

    # ---------------------------------------------------------------- data
    def show_data(self, data: Any) -> None:
        """A ChartData from the worker (app.services.live.chart_data)."""
        current = self.current
        if current is not None and current[0] == data.symbol and not current[1]:
            self.wanted = current = (data.symbol, data.timeframe)  # asked before the timeframes were known
        if self.trade_mode or (data.symbol, data.timeframe) != current:
            return
        c = data.candles
        self.stack.setCurrentWidget(self.chart)
        self.chart.show_candles(data.symbol, data.timeframe, c.time, c.open, c.high, c.low, c.close, c.volume,
                                tick=data.tick)
        self.chart.show_indicators(c.time, data.indicators)
        self.chart.show_marks(data.marks, timeframe_ms(data.timeframe) / 1000.0)
        self.set_mode(data.label)

    def set_mode(self, label: str) -> None:
        colour = "#c8a04c" if label.startswith(("SIMULATED", "REPLAY")) else "#8a8f98"
        self.mode.setText(f"<span style='color:{colour}'><b>{label}</b></span>" if label else "")

    def _follow_changed(self, on: bool) -> None:
        self.follow.blockSignals(True)
        self.follow.setChecked(on)
        self.follow.blockSignals(False)
