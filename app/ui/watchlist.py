"""The watchlist dock: every watched pair with its price, changes, spread, the score of its forming setup and the
time since its last signal; filterable, sorted by the header, a pair with an open signal marked. Double-click (or
Enter) opens its chart; the context menu sets its alert score or mutes it."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QLineEdit, QMenu, QVBoxLayout, QWidget

from app.services.live.watchlist import WatchRow
from app.ui.formatting import ago_text, format_price, pct_text, volume_text
from app.ui.models import AMBER, GREEN, GREY, RED, Column, KeyedTableModel, side_colour
from app.ui.tables import TableView

MARK = QColor(61, 111, 180, 70)


def _since(m: Any, r: WatchRow) -> str:
    return "—" if r.last_signal_ms is None else ago_text(m.now_ms() / 1000.0 - r.last_signal_ms / 1000.0)


def _score(m: Any, r: WatchRow) -> str:
    if r.score is None:
        return "warming up"
    return {"LONG": "▲ ", "SHORT": "▼ "}.get(r.side or "", "") + f"{r.score:.1f}"


class WatchlistModel(KeyedTableModel):
    key_attr = "symbol"
    columns = (  # what a scalper reads first on the left: the dock is narrow
        Column("Symbol", "symbol", lambda m, r: ("● " if r.open_signals else "") + r.symbol,
               "● marks a pair with an open signal"),
        Column("Last", "last", lambda m, r: m.price(r.last, r.symbol), "Last price; grey: the last candle's "
               "close (this source gives no live price)", right=True),
        Column("Score", "score", _score, "Confluence score of the latest closed candle (the forming setup), ▲ LONG "
               "or ▼ SHORT; coloured when the scanner makes it a signal", right=True),
        Column("24h", "change_24h_pct", lambda m, r: pct_text(r.change_24h_pct), "Change over 24 hours of "
               "candles (empty when fewer are loaded)", right=True),
        Column("Since signal", "last_signal_ms", _since, "Time since the pair's latest signal", right=True,
               live=True),
        Column("Session", "change_session_pct", lambda m, r: pct_text(r.change_session_pct),
               "Change since this session's first price", right=True),
        Column("Spread", "spread_pct", lambda m, r: "—" if r.spread_pct is None else f"{r.spread_pct:.3f}%",
               "Ask minus bid, % of the bid (— where the source gives no bid/ask)", right=True),
        Column("Vol 24h", "volume_24h", lambda m, r: volume_text(r.volume_24h), "Quote volume of 24 hours of "
               "candles", right=True),
    )

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.min_score = 0.0
        self.filter_text = ""
        self.now_ms: Callable[[], float] = lambda: time.time() * 1000.0
        self._all: tuple[WatchRow, ...] = ()
        self._rank: dict[str, int] = {}
        self.since_column = next(k for k, c in enumerate(self.columns) if c.key == "last_signal_ms")
        self.last_column = next(k for k, c in enumerate(self.columns) if c.key == "last")
        self.live_prices = True

    def natural_key(self, row: Any) -> Any:
        return self._rank.get(row.symbol, len(self._rank))

    def key_of(self, row: Any) -> Hashable:
        return row.symbol

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and section == self.last_column and not self.live_prices:
            return "Close"  # no live quotes from this source: the last closed candle's close
        return super().headerData(section, orientation, role)

    def set_rows(self, rows: Sequence[WatchRow]) -> int:
        """The snapshot's rows (the settings' order is the natural one); the filter applies."""
        live = any(r.live_price for r in rows)
        if live != self.live_prices:
            self.live_prices = live
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, self.last_column, self.last_column)
        self._all = tuple(rows)
        self._rank = {r.symbol: k for k, r in enumerate(rows)}
        needle = self.filter_text.strip().upper()
        return self.apply([r for r in rows if needle in r.symbol.upper()] if needle else rows)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.set_rows(self._all)

    def cells(self, row: Any) -> tuple[list[str], list[QColor | None], QColor | None]:
        """The same texts and colours as the columns give, in one pass: 200 rows change every second."""
        price = format_price(row.last, self.ticks.get(row.symbol, 0.01))
        s24, ss = row.change_24h_pct, row.change_session_pct
        score = _score(self, row)
        texts = [("● " if row.open_signals else "") + row.symbol, price, score,
                 "" if s24 is None else f"{s24:+.2f}%", "", "" if ss is None else f"{ss:+.2f}%",
                 "—" if row.spread_pct is None else f"{row.spread_pct:.3f}%", volume_text(row.volume_24h)]
        colours: list[QColor | None] = [
            AMBER if row.problem else None, None,
            GREY if row.score is None else side_colour(row.side) if row.fires else None,
            None if not s24 else GREEN if s24 > 0 else RED, None,
            None if not ss else GREEN if ss > 0 else RED, None, None]
        return texts, colours, MARK if row.open_signals else None

    def colour(self, row: Any, col: Column) -> QColor | None:
        if col.key in ("change_session_pct", "change_24h_pct"):
            v = getattr(row, col.key)
            return None if v is None or v == 0 else GREEN if v > 0 else RED
        if col.key == "score":
            if row.score is None:
                return GREY
            return side_colour(row.side) if row.fires else None
        if col.key == "symbol" and row.problem:
            return AMBER
        return None

    def tooltip(self, row: Any, col: Column) -> str | None:
        if col.key == "symbol":
            parts = [f"{row.open_signals} open signal(s)" if row.open_signals else "",
                     f"Feed problem: {row.problem}" if row.problem else ""]
            return "\n".join(p for p in parts if p) or None
        if col.key == "last" and not row.live_price:
            return "The last closed candle's close: this source gives no live price"
        if col.key == "score" and row.score is not None:
            why = "a signal" if row.fires else (f"not a signal: {row.score_note}" if row.score_note else
                                                f"a signal needs {self.min_score:g}")
            return f"{row.side or 'no side'} {row.score:.1f}: {why}"
        return None

    def background(self, row: Any) -> QColor | None:
        return MARK if row.open_signals else None

    def tick_since(self) -> None:
        if self._rows:
            c = self.since_column
            self.dataChanged.emit(self.index(0, c), self.index(len(self._rows) - 1, c),
                                  [Qt.ItemDataRole.DisplayRole])


class WatchlistPanel(QWidget):
    symbol_activated = Signal(str)
    alert_score_requested = Signal(str)
    mute_toggled = Signal(str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.model = WatchlistModel(self)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter pairs (Ctrl+F)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter)
        self.view = TableView(self.model, "watchlist", "Waiting for the first candles…")
        self.view.doubleClicked.connect(self._activated)
        for key in ("Return", "Enter"):
            QShortcut(QKeySequence(key), self.view, lambda: self._activated(self.view.currentIndex()),
                      context=Qt.ShortcutContext.WidgetShortcut)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setObjectName("watchlist_note")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.filter)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.note)
        QShortcut(QKeySequence.StandardKey.Find, self, self.filter.setFocus)
        self.muted: set[str] = set()

    def _filter(self, text: str) -> None:
        self.model.set_filter(text)
        if self.model.rowCount() == 0 and text:
            self.view.set_empty_text(f"No watched pair matches \u201c{text}\u201d.")

    def _activated(self, index: Any) -> None:
        if index.isValid():
            self.symbol_activated.emit(self.model.row_at(index.row()).symbol)

    def current_symbol(self) -> str | None:
        idx = self.view.currentIndex()
        return self.model.row_at(idx.row()).symbol if idx.isValid() else None

    def _menu(self, pos: QPoint) -> None:
        idx = self.view.indexAt(pos)
        if not idx.isValid():
            return
        sym = self.model.row_at(idx.row()).symbol
        menu = self.context_menu(sym)
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def context_menu(self, symbol: str) -> QMenu:
        menu = QMenu(self)
        menu.addAction(f"Show {symbol} chart", lambda: self.symbol_activated.emit(symbol))
        menu.addAction(f"Alert score for {symbol}…", lambda: self.alert_score_requested.emit(symbol))
        menu.addAction(("Unmute " if symbol in self.muted else "Mute ") + f"alerts for {symbol}",
                       lambda: self.mute_toggled.emit(symbol))
        return menu
