"""The statistics charts (pyqtgraph): the account's equity curve and calibration."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg


class EquityChart(pg.PlotWidget):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent, axisItems={"bottom": pg.DateAxisItem()})
        self.setLabel("left", "account return after fees", units="%")
        self.curve = self.plot([], [], pen=pg.mkPen("#4c9be8", width=2))
        self.curve.setDownsampling(auto=True, method="peak")  # a long history draws as fast as a short one
        self.curve.setClipToView(True)
        self.showGrid(x=True, y=True, alpha=0.2)
        self._shown: np.ndarray | None = None

    def show_points(self, equity: tuple[np.ndarray, np.ndarray]) -> None:
        """`equity`: exit times in seconds and the account's return %, as the dashboard snapshot carries them."""
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
