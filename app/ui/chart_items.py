"""Chart items drawn incrementally, and axes that read like a trading screen.

Candles and volume bars keep one QPicture per chunk of candles and paint only the chunks in the exposed range; a
new candle redraws only the last chunk, and the columns grow into preallocated room, so an append costs the same
at 100,000 candles as at 1,000 (pyqtgraph's candlestick example rebuilds one picture of everything: about 1 s per
candle at 100,000; its BarGraphItem does the same for volume). Zoomed far out, candles are drawn as high-low lines.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen, QPicture

from app.core.prices import decimals, format_volume

UP, DOWN = QColor("#2e9d57"), QColor("#d64545")
CHUNK = 128
_FIELDS = ("x", "o", "h", "lo", "c", "v")


class Columns:
    """Growable float columns (time in seconds, OHLCV) with amortised O(1) appends."""

    def __init__(self) -> None:
        self._buf = {k: np.empty(0) for k in _FIELDS}
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def __getattr__(self, name: str) -> np.ndarray:
        if name in _FIELDS:
            return self._buf[name][:self.n]
        raise AttributeError(name)

    def set(self, **cols: np.ndarray) -> None:
        n = len(cols["x"])
        self._buf = {k: np.empty(max(1024, 2 * n)) for k in _FIELDS}
        for k in _FIELDS:
            self._buf[k][:n] = cols.get(k, 0.0)
        self.n = n

    def append(self, **cols: np.ndarray) -> None:
        m = len(cols["x"])
        a, b = self.n, self.n + m
        if b > len(self._buf["x"]):
            self._buf = {k: np.concatenate([v[:a], np.empty(max(b, 2 * a) - a)]) for k, v in self._buf.items()}
        for k in _FIELDS:
            self._buf[k][a:b] = cols.get(k, 0.0)
        self.n = b


class ChunkedItem(pg.GraphicsObject):
    """Paints columns chunk by chunk from cached pictures; subclasses draw one chunk."""

    def __init__(self, data: Columns) -> None:
        super().__init__()
        self.data = data
        self.width = 1.0
        self._pictures: dict[tuple[int, bool], QPicture] = {}
        self._bounds = QRectF()
        self._lo = np.inf
        self._hi = -np.inf

    # the y extent of rows a..b (subclasses)
    def _extent(self, a: int, b: int) -> tuple[float, float]:
        raise NotImplementedError

    def _draw(self, p: QPainter, a: int, b: int, coarse: bool) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """All columns changed."""
        self.prepareGeometryChange()
        d = self.data
        self.width = float(np.median(np.diff(d.x[-500:]))) if len(d) > 1 else 1.0
        self._pictures.clear()
        self._lo, self._hi = self._extent(0, len(d)) if len(d) else (np.inf, -np.inf)
        self._set_bounds()
        self.update()

    def changed_from(self, first: int) -> None:
        """Rows from `first` on were appended or revised: only their chunks are redrawn."""
        for chunk in range(first // CHUNK, max(first, len(self.data) - 1) // CHUNK + 1):
            self._pictures.pop((chunk, False), None)
            self._pictures.pop((chunk, True), None)
        if len(self.data) > 1 and self.width == 1.0:
            self.width = float(np.median(np.diff(self.data.x[-500:])))
        lo, hi = self._extent(first, len(self.data))
        self._lo, self._hi = min(self._lo, lo), max(self._hi, hi)
        old = QRectF(self._bounds)
        self._set_bounds()
        if self._bounds != old:
            self.prepareGeometryChange()
        self.update()

    def _set_bounds(self) -> None:
        d = self.data
        if len(d) == 0:
            self._bounds = QRectF()
            return
        self._bounds = QRectF(d.x[0] - self.width, self._lo, d.x[-1] - d.x[0] + 2 * self.width,
                              max(self._hi - self._lo, 1e-12))

    def _picture(self, chunk: int, coarse: bool) -> QPicture:
        key = (chunk, coarse)
        pic = self._pictures.get(key)
        if pic is None:
            pic = QPicture()
            p = QPainter(pic)
            self._draw(p, chunk * CHUNK, min(len(self.data), (chunk + 1) * CHUNK), coarse)
            p.end()
            self._pictures[key] = pic
        return pic

    def paint(self, p: QPainter, opt: Any, widget: Any = None) -> None:
        d = self.data
        if len(d) == 0:
            return
        view = self.getViewBox()
        rect = view.viewRect() if view is not None else self._bounds
        x = d.x
        a = max(0, int(np.searchsorted(x, rect.left())) - 1)
        b = min(len(d), int(np.searchsorted(x, rect.right())) + 1)
        px = view.width() / max(rect.width(), 1e-9) * self.width if view is not None else 10.0
        coarse = px < 3.0  # level of detail: bodies are invisible when candles are under 3 px wide
        for chunk in range(a // CHUNK, max(a, b - 1) // CHUNK + 1):
            p.drawPicture(0, 0, self._picture(chunk, coarse))

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)


def _pen(colour: QColor) -> QPen:
    pen = QPen(colour)
    pen.setCosmetic(True)
    return pen


class CandleItem(ChunkedItem):
    def _extent(self, a: int, b: int) -> tuple[float, float]:
        d = self.data
        return (float(np.min(d.lo[a:b])), float(np.max(d.h[a:b]))) if b > a else (np.inf, -np.inf)

    def _draw(self, p: QPainter, a: int, b: int, coarse: bool) -> None:
        d = self.data
        x, o, h, lo, c = d.x, d.o, d.h, d.lo, d.c
        w = self.width * 0.35
        for up, colour in ((True, UP), (False, DOWN)):  # wicks then bodies, grouped by colour, one call each
            sel = np.flatnonzero((c[a:b] >= o[a:b]) == up) + a
            if len(sel) == 0:
                continue
            p.setPen(_pen(colour))
            p.setBrush(colour)
            xs, lows, highs = x[sel].tolist(), lo[sel].tolist(), h[sel].tolist()
            p.drawLines([QLineF(xi, li, xi, hi) for xi, li, hi in zip(xs, lows, highs, strict=True)])
            if not coarse:
                bottom = np.minimum(o[sel], c[sel])
                height = np.maximum(np.maximum(o[sel], c[sel]) - bottom, 1e-12)
                p.drawRects([QRectF(xi - w, bi, 2 * w, hi) for xi, bi, hi in zip(xs, bottom.tolist(),
                                                                                 height.tolist(), strict=True)])


class VolumeItem(ChunkedItem):
    def _extent(self, a: int, b: int) -> tuple[float, float]:
        return (0.0, float(np.max(self.data.v[a:b]))) if b > a else (np.inf, -np.inf)

    def _draw(self, p: QPainter, a: int, b: int, coarse: bool) -> None:
        d = self.data
        w = self.width * 0.4
        for up, colour in ((True, UP), (False, DOWN)):
            sel = np.flatnonzero((d.c[a:b] >= d.o[a:b]) == up) + a
            if len(sel) == 0:
                continue
            faded = QColor(colour)
            faded.setAlpha(150)
            p.setPen(_pen(faded))
            p.setBrush(faded)
            xs, vs = d.x[sel].tolist(), d.v[sel].tolist()
            if coarse:
                p.drawLines([QLineF(xi, 0.0, xi, vi) for xi, vi in zip(xs, vs, strict=True)])
            else:
                p.drawRects([QRectF(xi - w, 0.0, 2 * w, vi) for xi, vi in zip(xs, vs, strict=True)])

    def visible_max(self, left: float, right: float) -> float:
        d = self.data
        a, b = int(np.searchsorted(d.x, left)), int(np.searchsorted(d.x, right, side="right"))
        return float(np.max(d.v[a:b])) if b > a else 1.0


class PriceAxis(pg.AxisItem):
    """Prices with the pair's tick decimals (never 1.092e-05 or six significant digits)."""

    def __init__(self, orientation: str = "right", **kw: Any) -> None:
        super().__init__(orientation, **kw)
        self.tick = 0.01
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        d = decimals(self.tick)
        return [f"{v:.{d}f}" for v in values]


class VolumeAxis(pg.AxisItem):
    def __init__(self, orientation: str = "right", **kw: Any) -> None:
        super().__init__(orientation, **kw)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [format_volume(v) for v in values]


TIME_STEPS = (60, 300, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 2 * 86400, 7 * 86400, 30 * 86400)


class TimeAxis(pg.AxisItem):
    """Candle times in the shown zone (local, named under the axis, or UTC): a label every ~90 px on round
    times, the date at midnight. Simpler than pyqtgraph's DateAxisItem, whose tick search in Python was most of
    the cost of moving the chart by a candle."""

    def __init__(self, utc: bool = False, zone: str = "", offset_s: float = 0.0, **kw: Any) -> None:
        super().__init__("bottom", **kw)
        self.enableAutoSIPrefix(False)
        self.offset_s = 0.0
        self.set_zone(utc, zone, offset_s)

    def set_zone(self, utc: bool, zone: str, offset_s: float = 0.0) -> None:
        self.offset_s = 0.0 if utc else float(offset_s)
        self.setLabel(f"time ({zone})" if zone else "")
        self.picture = None
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        if not np.isfinite(minVal) or not np.isfinite(maxVal) or maxVal <= minVal:
            return []
        want = max(2.0, size / 90.0)
        step = next((s for s in TIME_STEPS if (maxVal - minVal) / s <= want), TIME_STEPS[-1])
        first = np.ceil((minVal + self.offset_s) / step) * step - self.offset_s
        return [(float(step), np.arange(first, maxVal, step).tolist())]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        out = []
        for v in values:
            d = dt.datetime.fromtimestamp(v + self.offset_s, dt.UTC)
            midnight = d.hour == 0 and d.minute == 0
            out.append(d.strftime("%b %d") if spacing >= 86400 or midnight else d.strftime("%H:%M"))
        return out
