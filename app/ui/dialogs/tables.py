"""Table models of the dialogs: result rows with numbers aligned right, and a backtest's trade list held as
columns (tens of thousands of trades: sorted and filtered with numpy, never a Python object per cell)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

import app.ui.dialogs.fmt as fmt
from app.services.research.trades import TradeTable
from app.ui.models import ResultTableModel

Index = QModelIndex | QPersistentModelIndex
GREEN, RED, GREY = QColor("#2e9d57"), QColor("#d64545"), QColor("#8a8f98")
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class NumbersModel(ResultTableModel):
    """ResultTableModel with numbers aligned right and header tooltips."""

    def __init__(self, columns: Sequence[tuple[str, str, Callable[[Any], str]]], parent: Any = None,
                 tips: dict[str, str] | None = None) -> None:
        super().__init__(columns, parent)
        self._tips = tips or {}

    def value(self, row: int, key: str) -> Any:
        v: Any = self._rows[row]
        for part in key.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        return v

    def row_dict(self, row: int) -> dict[str, Any]:
        return self._rows[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole and index.isValid() and 0 <= index.row() < len(self._rows):
            v = self.value(index.row(), self._cols[index.column()][1])
            return RIGHT if isinstance(v, int | float) and not isinstance(v, bool) else None
        return super().data(index, role)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(self._cols):
            return self._tips.get(self._cols[section][0])
        return super().headerData(section, orientation, role)


TRADE_COLUMNS: tuple[tuple[str, str, Callable[[Any], str], str], ...] = (
    ("Signal (UTC)", "signal_time", fmt.utc, "Open time of the signal candle; entry is the next candle's open"),
    ("Pair", "symbol", str, ""),
    ("TF", "timeframe", str, ""),
    ("Side", "side", str, ""),
    ("Score", "confluence_score", lambda x: f"{x:.1f}", "Confluence score 0..100"),
    ("Entry", "entry", fmt.price, ""),
    ("Stop", "stop_loss", fmt.price, ""),
    ("Target", "take_profit", fmt.price, ""),
    ("Outcome", "outcome", str, "WIN: target first; LOSS: stop first (or both in one candle); EXPIRED: neither "
     "within the max hold, closed at the last candle's close"),
    ("Exit (UTC)", "exit_time", fmt.utc, "Open time of the candle that decided the trade"),
    ("Exit price", "exit_price", fmt.price, ""),
    ("P&L %", "pnl_pct", lambda x: f"{x:+.3f}%", "After fees and slippage on both sides"),
    ("Bars", "bars_held", str, "Candles held"),
)


class TradeListModel(QAbstractTableModel):
    """The trades of a run; `rows` index the TradeTable, filtered by pair and minimum score, sorted on request."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.table: TradeTable | None = None
        self.rows = np.empty(0, dtype=np.int64)
        self.symbol: str | None = None
        self.min_score: float | None = None
        self._sort: tuple[int, Qt.SortOrder] | None = None

    # ------------------------------------------------------------ content
    def set_table(self, table: TradeTable | None) -> None:
        self.beginResetModel()  # a new run, not a tick
        self.table = table
        self.rows = self._select()
        self.endResetModel()

    def set_filter(self, symbol: str | None = None, min_score: float | None = None) -> None:
        self.beginResetModel()  # the user chose another view of the run
        self.symbol, self.min_score = symbol, min_score
        self.rows = self._select()
        self.endResetModel()

    def _select(self) -> np.ndarray:
        t = self.table
        if t is None or not len(t):
            return np.empty(0, dtype=np.int64)
        mask = np.ones(len(t), dtype=bool)
        if self.symbol:
            mask &= t.columns["symbol"] == self.symbol
        if self.min_score is not None:
            mask &= t.columns["confluence_score"] >= self.min_score
        rows = np.flatnonzero(mask)
        if self._sort is not None:
            rows = self._ordered(rows, *self._sort)
        return rows

    def table_row(self, row: int) -> int:
        """The TradeTable index of view row `row`."""
        return int(self.rows[row])

    # ------------------------------------------------------------ Qt API
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(TRADE_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(TRADE_COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return TRADE_COLUMNS[section][0]
        if role == Qt.ItemDataRole.ToolTipRole:
            return TRADE_COLUMNS[section][3] or None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if self.table is None or not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        _, key, fmt_fn, _ = TRADE_COLUMNS[index.column()]
        i = int(self.rows[index.row()])
        raw = self.table.columns[key][i]
        value = raw.item() if isinstance(raw, np.generic) else raw
        if role == Qt.ItemDataRole.DisplayRole:
            text = fmt_fn(value)
            if key == "outcome" and bool(self.table.columns["ambiguous"][i]):
                text += " *"
            return text
        if role == Qt.ItemDataRole.UserRole:
            return value
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._colour(key, i)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if isinstance(value, int | float) and key not in ("signal_time", "exit_time") else None
        if role == Qt.ItemDataRole.ToolTipRole and key == "outcome" and bool(self.table.columns["ambiguous"][i]):
            return "Ambiguous: one candle touched both the stop and the target; counted as a LOSS"
        return None

    def _colour(self, key: str, i: int) -> QColor | None:
        assert self.table is not None
        c = self.table.columns
        if key == "side":
            return GREEN if c["side"][i] == "LONG" else RED
        if key in ("outcome", "pnl_pct"):
            o = c["outcome"][i]
            return GREEN if o == "WIN" else RED if o == "LOSS" else GREY
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(TRADE_COLUMNS):
            return
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order)
        old = self.persistentIndexList()
        before = [int(self.rows[p.row()]) for p in old]
        self.rows = self._ordered(self.rows, column, order)
        position = {int(t): k for k, t in enumerate(self.rows)}
        self.changePersistentIndexList(old, [self.index(position[t], p.column()) for t, p in zip(before, old,
                                                                                              strict=True)])
        self.layoutChanged.emit()

    def _ordered(self, rows: np.ndarray, column: int, order: Qt.SortOrder) -> np.ndarray:
        if self.table is None or not len(rows):
            return rows
        key = TRADE_COLUMNS[column][1]
        values = self.table.columns[key][rows]
        order_idx = np.argsort(values.astype(str) if values.dtype == object else values, kind="stable")
        if order == Qt.SortOrder.DescendingOrder:
            order_idx = order_idx[::-1]
        return rows[order_idx]
