"""Charts (pyqtgraph): candles with per-chunk picture caches, equity curve, calibration.

The candle item keeps one QPicture per chunk of candles and paints only the chunks in the exposed range;
a new candle invalidates only the last chunk (pyqtgraph's example rebuilds one picture for everything:
about 1 s per new candle at 100,000 candles). Zoomed far out, candles are drawn as high-low lines.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen, QPicture

UP, DOWN = QColor("#2e9d57"), QColor("#d64545")
CHUNK = 128


class CandleItem(pg.GraphicsObject):
    def __init__(self) -> None:
        super().__init__()
        self.x = np.empty(0)
        self.o = self.h = self.lo = self.c = np.empty(0)
        self.width = 1.0
        self._pictures: dict[tuple[int, bool], QPicture] = {}
        self._bounds = QRectF()

    def set_data(self, x: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> None:
        self.prepareGeometryChange()
        self.x, self.o, self.h, self.lo, self.c = (np.asarray(a, dtype=np.float64) for a in (x, o, h, lo, c))
        self.width = float(np.median(np.diff(self.x))) if len(self.x) > 1 else 1.0
        self._pictures.clear()
        self._update_bounds()
        self.update()

    def append(self, x: float, o: float, h: float, lo: float, c: float) -> None:
        """A new closed candle (or the last one revised): only the last chunk is redrawn."""
        if len(self.x) and x == self.x[-1]:
            self.o[-1], self.h[-1], self.lo[-1], self.c[-1] = o, h, lo, c
        else:
            self.x = np.append(self.x, x)
            self.o, self.h = np.append(self.o, o), np.append(self.h, h)
            self.lo, self.c = np.append(self.lo, lo), np.append(self.c, c)
        last = (len(self.x) - 1) // CHUNK
        self._pictures.pop((last, False), None)
        self._pictures.pop((last, True), None)
        old = QRectF(self._bounds)
        self._update_bounds()
        if self._bounds != old:
            self.prepareGeometryChange()
        self.update()

    def _update_bounds(self) -> None:
        if len(self.x) == 0:
            self._bounds = QRectF()
            return
        lo, hi = float(np.min(self.lo)), float(np.max(self.h))
        self._bounds = QRectF(self.x[0] - self.width, lo, self.x[-1] - self.x[0] + 2 * self.width, hi - lo)

    def _picture(self, chunk: int, coarse: bool) -> QPicture:
        key = (chunk, coarse)
        pic = self._pictures.get(key)
        if pic is not None:
            return pic
        pic = QPicture()
        p = QPainter(pic)
        a, b = chunk * CHUNK, min(len(self.x), (chunk + 1) * CHUNK)
        w = self.width * 0.35
        for up, colour in ((True, UP), (False, DOWN)):  # wicks then bodies, grouped by colour
            sel = np.flatnonzero((self.c[a:b] >= self.o[a:b]) == up) + a
            pen = QPen(colour)
            pen.setCosmetic(True)
            p.setPen(pen)
            p.setBrush(colour)
            for i in sel:
                p.drawLine(QPointF(self.x[i], self.lo[i]), QPointF(self.x[i], self.h[i]))
            if not coarse:
                for i in sel:
                    top, bottom = max(self.o[i], self.c[i]), min(self.o[i], self.c[i])
                    p.drawRect(QRectF(self.x[i] - w, bottom, 2 * w, max(top - bottom, 1e-12)))
        p.end()
        self._pictures[key] = pic
        return pic

    def paint(self, p: QPainter, opt: Any, widget: Any = None) -> None:
        if len(self.x) == 0:
            return
        view = self.getViewBox()
        rect = view.viewRect() if view is not None else self._bounds
        a = max(0, int(np.searchsorted(self.x, rect.left())) - 1)
        b = min(len(self.x), int(np.searchsorted(self.x, rect.right())) + 1)
        px = view.width() / max(rect.width(), 1e-9) * self.width if view is not None else 10.0
        coarse = px < 3.0  # level of detail: bodies are invisible when candles are under 3 px wide
        for chunk in range(a // CHUNK, (max(a, b - 1)) // CHUNK + 1):
            p.drawPicture(0, 0, self._picture(chunk, coarse))

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)


class CandleChart(pg.GraphicsLayoutWidget):
    """Candles of one symbol with volume, entry/SL/TP lines and markers where signals opened and closed."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.price = self.addPlot(row=0, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.volume = self.addPlot(row=1, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.ci.layout.setRowStretchFactor(0, 4)
        self.volume.setXLink(self.price)
        self.volume.setMaximumHeight(120)
        self.candles = CandleItem()
        self.price.addItem(self.candles)
        self.vol_bars = pg.BarGraphItem(x=[], height=[], width=1, brush="#5b6b7f")
        self.volume.addItem(self.vol_bars)
        self.lines = [pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen(colour, style=pg.QtCore.Qt.PenStyle.DashLine),
                                      label=name, labelOpts={"position": 0.05, "color": colour})
                      for colour, name in (("#c8c8c8", "entry"), ("#d64545", "SL"), ("#2e9d57", "TP"))]
        for line in self.lines:
            line.setVisible(False)
            self.price.addItem(line, ignoreBounds=True)
        self.markers = pg.ScatterPlotItem(size=11)
        self.price.addItem(self.markers)
        self.symbol = ""
        self.title = pg.LabelItem("", justify="left")
        self.price.setTitle("")

    def at_right_edge(self) -> bool:
        if len(self.candles.x) == 0:
            return True
        return bool(self.price.viewRange()[0][1] >= self.candles.x[-1] - self.candles.width)

    def show_candles(self, symbol: str, t_ms: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray,
                     c: np.ndarray, v: np.ndarray, label: str = "") -> None:
        follow = self.at_right_edge() or symbol != self.symbol
        x = np.asarray(t_ms, dtype=np.float64) / 1000.0
        self.candles.set_data(x, o, h, lo, c)
        width = self.candles.width * 0.8
        self.vol_bars.setOpts(x=x, height=v, width=width)
        self.price.setTitle(f"{symbol} {label}".strip())
        if follow and len(x):  # auto-scroll only when the user is at the right edge
            n = min(len(x), 200)
            self.price.setXRange(x[-n], x[-1] + self.candles.width * 3, padding=0)
            sel = slice(len(x) - n, len(x))
            self.price.setYRange(float(np.min(lo[sel])), float(np.max(h[sel])))
        self.symbol = symbol

    def show_levels(self, entry: float | None, sl: float | None, tp: float | None) -> None:
        """Moves the three persistent lines (creating items on every selection cost ~6 ms each time)."""
        for line, value in zip(self.lines, (entry, sl, tp), strict=True):
            line.setVisible(value is not None)
            if value is not None:
                line.setValue(value)

    def show_markers(self, opened: list[tuple[float, float, str]], closed: list[tuple[float, float, str]]) -> None:
        spots = [{"pos": (t / 1000.0, p), "symbol": "t1" if side == "LONG" else "t", "brush": UP if side == "LONG"
                  else DOWN} for t, p, side in opened]
        spots += [{"pos": (t / 1000.0, p), "symbol": "x", "brush": UP if status == "WIN" else DOWN}
                  for t, p, status in closed]
        self.markers.setData(spots)


class EquityChart(pg.PlotWidget):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent, axisItems={"bottom": pg.DateAxisItem()})
        self.setLabel("left", "cumulative P&L after fees", units="%")
        self.curve = self.plot([], [], pen=pg.mkPen("#4c9be8", width=2))
        self.curve.setDownsampling(auto=True, method="peak")  # a long history draws as fast as a short one
        self.curve.setClipToView(True)
        self.showGrid(x=True, y=True, alpha=0.2)
        self._shown: np.ndarray | None = None

    def show_points(self, equity: tuple[np.ndarray, np.ndarray]) -> None:
        """`equity`: closed_at in seconds and cumulative P&L %, as the dashboard snapshot carries them."""
        x, y = equity
        if y is self._shown:
            return  # the same (immutable) curve as last time: nothing to redraw
        self._shown = y
        self.curve.setData(x, y)


class CalibrationChart(pg.GraphicsLayoutWidget):
    """Observed win rate with 95 % intervals: per score bucket (live vs backtest) and per ML probability bin
    (observed vs predicted, with the diagonal of perfect calibration). Only groups with n >= 30 are drawn."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.scores = self.addPlot(row=0, col=0, title="by confluence score bucket")
        self.scores.setLabel("left", "observed win rate")
        self.scores.addLegend()
        self.ml = self.addPlot(row=0, col=1, title="by ML probability bin")
        self.ml.setLabel("bottom", "predicted probability")
        self.ml.plot([0, 1], [0, 1], pen=pg.mkPen("#666", style=pg.QtCore.Qt.PenStyle.DashLine))
        self.live = pg.ErrorBarItem(pen=pg.mkPen("#4c9be8"))
        self.bt = pg.ErrorBarItem(pen=pg.mkPen("#c8a04c"))
        self.ml_bars = pg.ErrorBarItem(pen=pg.mkPen("#4c9be8"))
        self.scores.addItem(self.live)
        self.scores.addItem(self.bt)
        self.ml.addItem(self.ml_bars)
        self.live_pts = self.scores.plot([], [], pen=None, symbol="o", symbolBrush="#4c9be8", name="live")
        self.bt_pts = self.scores.plot([], [], pen=None, symbol="s", symbolBrush="#c8a04c", name="backtest")
        self.ml_pts = self.ml.plot([], [], pen=None, symbol="o", symbolBrush="#4c9be8")

    @staticmethod
    def _draw(rows: list[dict[str, Any]], xs: list[float], bars: Any, pts: Any) -> None:
        y = np.array([b["win_rate"] for b in rows])
        x = np.array(xs)
        top = np.array([b["ci_high"] - b["win_rate"] for b in rows])
        bottom = np.array([b["win_rate"] - b["ci_low"] for b in rows])
        bars.setData(x=x, y=y, top=top, bottom=bottom, beam=0.01 if len(x) and x.max() <= 1 else 0.5)
        pts.setData(x, y)

    def show_calibration(self, calibration: dict[str, Any]) -> None:
        for key, bars, pts, shift in (("live", self.live, self.live_pts, -0.6), ("backtest", self.bt, self.bt_pts,
                                                                                0.6)):
            rows = [b for b in calibration.get(key, []) if b.get("win_rate") is not None]
            self._draw(rows, [b["lo"] + 2.5 + shift for b in rows], bars, pts)
        ml = [b for b in calibration.get("ml", []) if b.get("win_rate") is not None]
        self._draw(ml, [b["mean_predicted"] for b in ml], self.ml_bars, self.ml_pts)
