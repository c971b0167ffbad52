"""The candle chart of one pair (pyqtgraph); the equity and calibration charts live in app.ui.stat_charts.

The candle chart draws incrementally (app.ui.chart_items): a refresh that brings the same candles plus new ones
appends only those. The x range stays where the user put it (drag, wheel) until "follow live"; the y range always
fits the visible candles and the selected signal's levels, so a stop or a target is never off-screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from app.core.prices import format_price, format_volume
from app.ui.chart_items import CHUNK, DOWN, UP, CandleItem, Columns, PriceAxis, TimeAxis, VolumeAxis, VolumeItem
from app.ui.formatting import Clock
from app.ui.stat_charts import CalibrationChart, EquityChart

__all__ = ["CHUNK", "CalibrationChart", "CandleChart", "CandleItem", "EquityChart"]

OVERLAY_STYLE = {  # name -> (colour, words)
    "ema9": ("#e0b84c", "EMA 9"), "ema21": ("#4c9be8", "EMA 21"), "ema50": ("#b36ae2", "EMA 50"),
    "ema200": ("#e07b39", "EMA 200"), "bb": ("#7f8c99", "Bollinger 20, 2"), "vwap": ("#39c0c0", "VWAP (UTC day)"),
}
PANES = {"rsi": "RSI", "macd": "MACD"}
FOLLOW_CANDLES = 150
GREY = "#8a8f98"


class CandleChart(pg.GraphicsLayoutWidget):
    """Candles, volume, optional overlays and RSI/MACD panes, signal markers, the selected signal's levels."""

    follow_changed = Signal(bool)

    def __init__(self, parent: Any = None, clock: Clock | None = None) -> None:
        super().__init__(parent)
        self.clock = clock or Clock()
        self.data = Columns()
        self.symbol = ""
        self.timeframe = ""
        self.tick = 0.01
        self.follow = True
        self.shown_overlays: set[str] = set()
        self._levels: tuple[float, ...] = ()
        self._level_values: dict[str, float | None] = {}
        self._y: tuple[float, float] = (0.0, 0.0)
        self._indicators: tuple[np.ndarray, dict[str, np.ndarray]] = (np.empty(0), {})
        self._vol_top = 0.0
        self.readout = pg.LabelItem("", justify="left", size="9pt")
        self.addItem(self.readout, row=0, col=0)
        self.time_axis = TimeAxis(self.clock.utc, self.clock.zone, self.clock.offset_s)
        self.price_axis = PriceAxis("right")
        self.price = self.addPlot(row=1, col=0, axisItems={"bottom": self.time_axis, "right": self.price_axis})
        self.price.hideAxis("left")
        self.price.showAxis("right")
        self.volume = self.addPlot(row=2, col=0, axisItems={"right": VolumeAxis("right"),
                                                            "bottom": TimeAxis(self.clock.utc, self.clock.zone,
                                                                               self.clock.offset_s)})
        self.volume.hideAxis("left")
        self.volume.showAxis("right")
        self.panes = {name: self.addPlot(row=3 + k, col=0, axisItems={
            "bottom": TimeAxis(self.clock.utc, self.clock.zone, self.clock.offset_s)}) for k, name in enumerate(PANES)}
        self.volume.setXLink(self.price)  # the panes follow the price only while shown (set_overlays)
        for plot in (self.volume, *self.panes.values()):
            plot.setMouseEnabled(x=True, y=False)
        for name, plot in self.panes.items():
            plot.hideAxis("left")
            plot.showAxis("right")
            plot.setLabel("right", PANES[name])
            plot.setVisible(False)
        for plot in self._stack():
            plot.getAxis("right").setWidth(70)  # one width: the panes' x axes line up
        self._place_time_axis()
        self.panes["rsi"].setYRange(0, 100, padding=0)
        for level in (30, 70):
            self.panes["rsi"].addItem(pg.InfiniteLine(level, angle=0, pen=pg.mkPen(GREY, style=Qt.PenStyle.DotLine)))
        self.ci.layout.setRowStretchFactor(1, 5)
        self.ci.layout.setRowStretchFactor(2, 1)
        self.volume.setMaximumHeight(110)
        for plot in self.panes.values():
            plot.setMaximumHeight(120)
        self.price.setMouseEnabled(x=True, y=False)  # y follows the visible candles and levels
        self.candles = CandleItem(self.data)
        self.vol_bars = VolumeItem(self.data)
        self.price.addItem(self.candles)
        self.volume.addItem(self.vol_bars)
        self.lines: dict[str, pg.PlotDataItem] = {}
        for name, (colour, _) in OVERLAY_STYLE.items():
            for key in (("bb_upper", "bb_middle", "bb_lower") if name == "bb" else (name,)):
                item = pg.PlotDataItem(pen=pg.mkPen(colour, width=1))
                item.setClipToView(True)
                item.setDownsampling(auto=True, method="peak")
                item.setVisible(False)
                self.lines[key] = item
        self.pane_lines = {
            "rsi": pg.PlotDataItem(pen=pg.mkPen("#b36ae2")), "macd": pg.PlotDataItem(pen=pg.mkPen("#4c9be8")),
            "macd_signal": pg.PlotDataItem(pen=pg.mkPen("#e07b39")),
            "macd_hist": pg.PlotDataItem(pen=pg.mkPen(GREY), fillLevel=0, brush=(138, 143, 152, 90))}
        self.line_plot = {**{k: self.price for k in self.lines},
                          **{k: self.panes["macd" if k.startswith("macd") else "rsi"] for k in self.pane_lines}}
        self.level_lines = {
            name: pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine),
                                  label="", labelOpts={"position": 0.97, "color": "#ffffff", "fill": colour,
                                                       "anchors": [(1, 0.5), (1, 0.5)]})
            for name, colour in (("entry", "#5b6b7f"), ("stop", "#d64545"), ("target", "#2e9d57"))}
        for line in self.level_lines.values():
            line.setVisible(False)
            line.setZValue(8)  # the price tags above the markers
        self.last_line = pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen(GREY, style=Qt.PenStyle.DotLine), label="",
                                         labelOpts={"position": 0.03, "color": "#ffffff", "fill": "#3a4049",
                                                    "anchors": [(0, 0.5), (0, 0.5)]})
        self.last_line.setVisible(False)
        self.markers = pg.ScatterPlotItem(size=12, hoverable=True, tip=lambda x, y, data: data)
        self.markers.setZValue(6)
        self.price.addItem(self.markers)
        self.trade_path = pg.PlotDataItem(pen=pg.mkPen("#e0b84c", width=2, style=Qt.PenStyle.DashLine))
        self.trade_path.setZValue(5)
        self.price.addItem(self.trade_path, ignoreBounds=True)
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(GREY, width=1))
        self.hline = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(GREY, width=1))
        for item in (self.vline, self.hline):
            item.setVisible(False)
        self.price.vb.sigXRangeChanged.connect(self._fit_y)
        self.price.vb.sigRangeChangedManually.connect(self._user_moved)
        for plot in (self.volume, *self.panes.values()):
            plot.vb.sigRangeChangedManually.connect(self._user_moved)
        self._mouse = pg.SignalProxy(self.scene().sigMouseMoved, rateLimit=60, slot=self._mouse_moved)

    # ---------------------------------------------------------------- data
    def _place(self, item: Any, on: bool, plot: Any = None) -> None:
        """Show or hide an item; hidden, it leaves the scene (a hidden line still recomputes its geometry at every
        move of the view: 0.8 ms of each step for the chart's eight lines)."""
        plot = plot if plot is not None else self.price
        item.setVisible(on)
        if on and item.scene() is None:
            plot.addItem(item, ignoreBounds=True)
        elif not on and item.scene() is not None:
            plot.removeItem(item)

    def show_candles(self, symbol: str, timeframe: str, t_ms: np.ndarray, o: np.ndarray, h: np.ndarray,
                     lo: np.ndarray, c: np.ndarray, v: np.ndarray, tick: float | None = None) -> int:
        """The candles of a pair: when they are the ones shown plus newer ones, only those are added (the last
        shown one may be revised). Returns the number of candles drawn anew."""
        x = np.asarray(t_ms, dtype=np.float64) / 1000.0
        if tick is not None and tick != self.tick:
            self.tick = self.price_axis.tick = tick
            self._label_levels()  # the tags were written in the previous pair's tick size
        d = self.data
        same = symbol == self.symbol and timeframe == self.timeframe and len(d) > 0 and len(x) > 0
        if same:
            last = d.x[-1]
            k = int(np.searchsorted(x, last))
            if k < len(x) and x[k] == last:
                start = len(d) - 1
                d._buf["o"][start], d._buf["h"][start] = o[k], h[k]
                d._buf["lo"][start], d._buf["c"][start], d._buf["v"][start] = lo[k], c[k], v[k]
                k += 1
            elif x[0] > last:
                start = len(d)
            else:
                same = False
        if not same:
            self.symbol, self.timeframe = symbol, timeframe
            d.set(x=x, o=np.asarray(o, float), h=np.asarray(h, float), lo=np.asarray(lo, float),
                  c=np.asarray(c, float), v=np.asarray(v, float))
            self.candles.reset()
            self.vol_bars.reset()
            if self.follow:
                self.follow_live(force=True)
            return len(x)
        fresh = slice(k, len(x))
        if fresh.stop > fresh.start:
            d.append(x=x[fresh], o=o[fresh], h=h[fresh], lo=lo[fresh], c=c[fresh], v=v[fresh])
        self.candles.changed_from(start)
        self.vol_bars.changed_from(start)
        if self.follow:
            self.follow_live()
        return len(d) - start

    def show_indicators(self, t_ms: np.ndarray, indicators: dict[str, np.ndarray]) -> None:
        """The indicator series (computed in the worker), aligned with `t_ms`; only the chosen ones are drawn."""
        self._indicators = (np.asarray(t_ms, dtype=np.float64) / 1000.0, indicators)
        self._draw_indicators()

    def set_overlays(self, chosen: set[str]) -> None:
        self.shown_overlays = set(chosen)
        for name in PANES:
            pane = self.panes[name]
            on = name in chosen
            pane.setVisible(on)
            pane.setXLink(self.price if on else None)  # a hidden pane does not follow every move of the view
        self._place_time_axis()
        self._draw_indicators()

    def _stack(self) -> list[Any]:
        return [self.price, self.volume, *self.panes.values()]

    def _place_time_axis(self) -> None:
        """Times under the lowest pane shown, not between price and volume."""
        shown = [p for p in self._stack() if p.isVisible() or p is self.price or p is self.volume]
        for plot in self._stack():
            if plot is shown[-1]:
                plot.showAxis("bottom")
            else:
                plot.hideAxis("bottom")

    def _draw_indicators(self) -> None:
        x, ind = self._indicators
        for key, item in {**self.lines, **self.pane_lines}.items():
            group = "bb" if key.startswith("bb_") else "macd" if key.startswith("macd") else key
            on = group in self.shown_overlays and key in ind
            self._place(item, on, self.line_plot[key])
            if on:
                item.setData(x, ind[key], connect="finite")
        if "macd" in self.shown_overlays:
            self._fit_pane("macd", ("macd", "macd_signal", "macd_hist"))

    def _fit_pane(self, pane: str, keys: Sequence[str]) -> None:
        x, ind = self._indicators
        (left, right), _ = self.price.viewRange()
        a, b = int(np.searchsorted(x, left)), int(np.searchsorted(x, right, side="right"))
        vals = [ind[k][a:b] for k in keys if k in ind]
        if b > a and vals:
            v = np.concatenate(vals)
            v = v[np.isfinite(v)]
            if len(v):
                pad = (float(v.max()) - float(v.min())) * 0.08 or abs(float(v.max())) * 0.1 or 1.0
                self.panes[pane].setYRange(float(v.min()) - pad, float(v.max()) + pad, padding=0)

    # ---------------------------------------------------------------- levels and markers
    def show_levels(self, entry: float | None, stop: float | None, target: float | None) -> None:
        """The selected signal's lines with price tags (None: hidden); the y range takes them in."""
        self._level_values = {"entry": entry, "stop": stop, "target": target}
        for name, line in self.level_lines.items():
            value = self._level_values[name]
            self._place(line, value is not None)
            if value is not None:
                line.setValue(value)
        self._label_levels()
        self._levels = tuple(v for v in (entry, stop, target) if v is not None)
        self._fit_y()

    def _label_levels(self) -> None:
        values = self._level_values
        entry = values.get("entry")
        for name, words in (("entry", "Entry"), ("stop", "SL"), ("target", "TP")):
            value = values.get(name)
            if value is not None:
                rel = "" if name == "entry" or not entry else f" ({(value / entry - 1) * 100:+.2f}%)"
                self.level_lines[name].label.setFormat(f"{words} {format_price(value, self.tick)}{rel}")

    def clear_levels(self) -> None:
        self.show_levels(None, None, None)
        self.clear_trade()

    def show_last_price(self, price: float | None, live: bool) -> None:
        self._place(self.last_line, price is not None)
        if price is not None:
            self.last_line.setValue(price)
            self.last_line.label.setFormat(("last " if live else "close ") + format_price(price, self.tick))

    def show_marks(self, marks: Sequence[Any], tf_s: float) -> None:
        """Every recorded signal of the pair: a triangle at its entry (the candle after the signal), and its
        outcome where it closed: ● win, ✕ loss, ■ expired."""
        spots = []
        for m in marks:
            up = m.side == "LONG"
            spots.append({"pos": (m.signal_time / 1000.0 + tf_s, m.entry), "symbol": "t1" if up else "t",
                          "brush": UP if up else DOWN, "pen": pg.mkPen("#1e2127"),
                          "data": f"{m.side} at {format_price(m.entry, self.tick)} · score {m.score:.1f} · "
                                  f"{'open' if m.status == 'OPEN' else m.status}"})
            if m.status != "OPEN" and m.closed_at is not None and m.exit_price is not None:
                symbol, brush = {"WIN": ("o", UP), "LOSS": ("x", DOWN)}.get(m.status, ("s", GREY))
                spots.append({"pos": (m.closed_at / 1000.0, m.exit_price), "symbol": symbol,
                              "brush": brush, "pen": pg.mkPen(brush),
                              "data": f"{m.status} at {format_price(m.exit_price, self.tick)}"
                                      + ("" if m.pnl_pct is None else f" · {m.pnl_pct:+.2f}% after fees")})
        self.markers.setData(spots)

    def show_trade(self, entry_s: float, entry: float, exit_s: float | None, exit_price: float | None) -> None:
        """A dotted path from a trade's entry to its exit (a completed signal or a backtest trade)."""
        if exit_s is None or exit_price is None:
            self.trade_path.setData([], [])
        else:
            self.trade_path.setData([entry_s, exit_s], [entry, exit_price])

    def clear_trade(self) -> None:
        self.trade_path.setData([], [])

    # ---------------------------------------------------------------- view
    def set_follow(self, on: bool) -> None:
        if on != self.follow:
            self.follow = on
            self.follow_changed.emit(on)
        if on:
            self.follow_live(force=True)

    def follow_live(self, force: bool = False) -> None:
        """Show the latest candles with room on the right. The view moves only when the newest candle reaches that
        margin: the chart does not shift under the eyes at every candle, and an append that moves nothing repaints
        only the last chunk (re-laying the axes is most of the cost of a step)."""
        d = self.data
        if len(d) == 0:
            return
        w = self.candles.width
        (left, right), _ = self.price.viewRange()
        if force or not (left <= d.x[-1] <= right - 2 * w) or right - left > w * (FOLLOW_CANDLES + 40):
            n = min(len(d), FOLLOW_CANDLES)
            x = (d.x[-n] - w, d.x[-1] + w * 10)
            self._y = self._y_range(*x)
            self.price.vb.setRange(xRange=x, yRange=self._y, padding=0)  # one move, not one per axis
        self._fit_y()

    def frame(self, left_s: float, right_s: float) -> None:
        """Show this time span (a selected trade); the live edge is no longer followed."""
        self.set_follow(False)
        w = self.candles.width
        self.price.setXRange(left_s - w, right_s + w, padding=0)
        self._fit_y()

    def _user_moved(self, *_: Any) -> None:
        self.set_follow(False)

    def _y_range(self, left: float, right: float) -> tuple[float, float]:
        """The visible candles' low and high, and the selected signal's levels, with a margin."""
        d = self.data
        a, b = int(np.searchsorted(d.x, left)), int(np.searchsorted(d.x, right, side="right"))
        if b <= a:
            a, b = max(0, len(d) - 1), len(d)
        lo, hi = float(np.min(d.lo[a:b])), float(np.max(d.h[a:b]))
        for v in self._levels:
            lo, hi = min(lo, v), max(hi, v)
        pad = (hi - lo) * 0.06 or abs(hi) * 0.01 or 1.0
        return lo - pad, hi + pad

    def _fit_y(self, *_: Any) -> None:
        if len(self.data) == 0:
            return
        (left, right), _ = self.price.viewRange()
        y = self._y_range(left, right)
        if y != self._y:  # an unchanged range re-lays no axis
            self._y = y
            self.price.setYRange(*y, padding=0)
        vol = self.vol_bars.visible_max(left, right) * 1.1
        if vol != self._vol_top:
            self._vol_top = vol
            self.volume.setYRange(0, vol, padding=0)
        if "macd" in self.shown_overlays:
            self._fit_pane("macd", ("macd", "macd_signal", "macd_hist"))

    def set_clock(self, clock: Clock) -> None:
        self.clock = clock
        for plot in self._stack():
            plot.getAxis("bottom").set_zone(clock.utc, clock.zone, clock.offset_s)

    # ---------------------------------------------------------------- crosshair
    def _mouse_moved(self, event: Any) -> None:
        pos = event[0]
        d = self.data
        if len(d) == 0 or not self.price.sceneBoundingRect().contains(pos):
            self._place(self.vline, False)
            self._place(self.hline, False)
            return
        point = self.price.vb.mapSceneToView(pos)
        self._place(self.vline, True)
        self._place(self.hline, True)
        self.hline.setPos(point.y())
        i = int(np.clip(np.searchsorted(d.x, point.x() - self.candles.width / 2), 0, len(d) - 1))
        self.vline.setPos(d.x[i])
        self.readout.setText(self.readout_text(i, point.y()))

    def readout_text(self, i: int, cursor_price: float | None = None) -> str:
        d = self.data
        p = self.tick
        change = (d.c[i] / d.o[i] - 1) * 100 if d.o[i] else 0.0
        colour = "#2e9d57" if d.c[i] >= d.o[i] else "#d64545"
        at = "" if cursor_price is None else f" &nbsp; cursor {format_price(cursor_price, p)}"
        return (f"<b>{self.symbol} {self.timeframe}</b> &nbsp; {self.clock.full_zoned(d.x[i] * 1000)} &nbsp; "
                f"O {format_price(d.o[i], p)} H {format_price(d.h[i], p)} L {format_price(d.lo[i], p)} "
                f"<span style='color:{colour}'>C {format_price(d.c[i], p)} ({change:+.2f}%)</span> &nbsp; "
                f"V {format_volume(d.v[i])}{at}")
