"""Table models updated by key: dataChanged over changed rows, insert/remove for new/closed ones, never a
reset per tick. Colours and formatting live here (data roles), not in the workers."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

Index = QModelIndex | QPersistentModelIndex

GREEN, RED, GREY = QColor("#2e9d57"), QColor("#d64545"), QColor("#8a8f98")


@dataclass(frozen=True)
class Column:
    title: str
    key: str
    fmt: Callable[[Any], str] = str
    tip: str = ""


def _num(x: Any, digits: int = 6) -> str:
    return "" if x is None else f"{x:.{digits}g}"


def _pct(x: Any) -> str:
    return "" if x is None else f"{x:+.2f}%"


def _prob(x: Any) -> str:
    return "—" if x is None else f"{x:.2f}"


def elapsed_text(seconds: float) -> str:
    s = max(0, int(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s"


class KeyedTableModel(QAbstractTableModel):
    """Rows are dicts with an "id"; `apply(rows)` upserts and removes by id with minimal signals."""

    columns: Sequence[Column] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []
        self._pos: dict[int, int] = {}

    # Qt API
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.columns[section].title
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.columns[section].tip or None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        col = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(row, col)
        if role == Qt.ItemDataRole.UserRole:  # sort key: the raw value
            value = self.raw(row, col)
            return value if value is not None else ""
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.colour(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            value = row.get(col.key)
            if isinstance(value, int | float):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # hooks
    def display(self, row: dict[str, Any], col: Column) -> str:
        return col.fmt(row.get(col.key))

    def raw(self, row: dict[str, Any], col: Column) -> Any:
        return row.get(col.key)

    def colour(self, row: dict[str, Any], col: Column) -> QColor | None:
        return None

    # updates
    def row_dict(self, row: int) -> dict[str, Any]:
        return self._rows[row]

    def apply(self, rows: Sequence[dict[str, Any]], remove_missing: bool = True) -> int:
        """Upsert `rows` by id; with remove_missing, rows whose id is absent are removed. Returns rows changed."""
        incoming = {int(r["id"]): r for r in rows}
        changed = 0
        if remove_missing:
            gone = sorted(self._pos[i] for i in self._pos if i not in incoming)
            for a, b in reversed(_runs(gone)):  # one notification per run of adjacent rows, from the bottom up
                self.beginRemoveRows(QModelIndex(), a, b)
                del self._rows[a:b + 1]
                self.endRemoveRows()
            changed += len(gone)
            if gone:
                self._pos = {int(r["id"]): k for k, r in enumerate(self._rows)}
        dirty: list[int] = []
        new: list[dict[str, Any]] = []
        for rid, r in incoming.items():
            pos = self._pos.get(rid)
            if pos is None:
                new.append(r)
            elif self._rows[pos] != r:
                self._rows[pos] = r
                dirty.append(pos)
        for a, b in _runs(sorted(dirty)):
            self.dataChanged.emit(self.index(a, 0), self.index(b, len(self.columns) - 1))
        changed += len(dirty)
        if new:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            for k, r in enumerate(new):
                self._rows.append(r)
                self._pos[int(r["id"])] = start + k
            self.endInsertRows()
            changed += len(new)
        return changed

    def append_front(self, rows: Sequence[dict[str, Any]], keep: int = 500) -> None:
        """`rows` most recent first: the ones not shown yet go on top in that order, the oldest beyond `keep`
        are dropped."""
        fresh = [r for r in rows if int(r["id"]) not in self._pos]
        if not fresh:
            return
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._rows[:0] = fresh
        self.endInsertRows()
        if len(self._rows) > keep:
            self.beginRemoveRows(QModelIndex(), keep, len(self._rows) - 1)
            del self._rows[keep:]
            self.endRemoveRows()
        self._pos = {int(r["id"]): k for k, r in enumerate(self._rows)}


def _runs(sorted_rows: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for r in sorted_rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs


class ActiveSignalsModel(KeyedTableModel):
    columns = (
        Column("Symbol", "symbol"), Column("TF", "timeframe"), Column("Side", "side"),
        Column("Entry", "entry", _num), Column("SL", "stop_loss", _num), Column("TP", "take_profit", _num),
        Column("Last", "last_price", _num), Column("Unrealised", "unrealised_pct", _pct,
                                                    "If closed now, after fees and slippage on both sides"),
        Column("Score", "confluence_score", lambda x: f"{x:.1f}"),
        Column("Hist. accuracy", "accuracy", str, "Win rate of this score bucket in the latest backtest, with its "
               "95% interval and sample size"),
        Column("ML p", "ml_probability", _prob, "Calibrated win probability; — when the filter is off"),
        Column("Status", "status_text"), Column("Elapsed", "closed_candle_ms"),
    )

    def __init__(self, parent: Any = None, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.clock = clock
        self.elapsed_column = len(self.columns) - 1

    def display(self, row: dict[str, Any], col: Column) -> str:
        if col.key == "closed_candle_ms":
            return elapsed_text(self.clock() - row["closed_candle_ms"] / 1000.0)
        return super().display(row, col)

    def colour(self, row: dict[str, Any], col: Column) -> QColor | None:
        if col.key == "side":
            return GREEN if row["side"] == "LONG" else RED
        if col.key == "unrealised_pct" and row.get("unrealised_pct") is not None:
            return GREEN if row["unrealised_pct"] > 0 else RED
        if col.key == "accuracy" and "not enough" in str(row.get("accuracy")):
            return GREY
        return None

    def tick_elapsed(self) -> None:
        """Real elapsed time moves every second: repaint that one column only."""
        if self._rows:
            c = self.elapsed_column
            self.dataChanged.emit(self.index(0, c), self.index(len(self._rows) - 1, c),
                                  [Qt.ItemDataRole.DisplayRole])


class CompletionsModel(KeyedTableModel):
    columns = (
        Column("Closed", "closed_text"), Column("Symbol", "symbol"), Column("TF", "timeframe"), Column("Side", "side"),
        Column("Outcome", "status"), Column("Entry", "entry", _num), Column("Exit", "exit_price", _num),
        Column("P&L", "pnl_pct", _pct, "After fees and slippage on both sides"),
        Column("Bars", "bars_held", str), Column("Score", "confluence_score", lambda x: f"{x:.1f}"),
        Column("ML p", "ml_probability", _prob),
    )

    def colour(self, row: dict[str, Any], col: Column) -> QColor | None:
        if col.key in ("status", "pnl_pct"):
            return GREEN if row["status"] == "WIN" else RED if row["status"] == "LOSS" else GREY
        if col.key == "side":
            return GREEN if row["side"] == "LONG" else RED
        return None


class ResultTableModel(QAbstractTableModel):
    """A read-only table of dict rows for dialog results (backtest buckets, sweeps, patterns)."""

    def __init__(self, columns: Sequence[tuple[str, str, Callable[[Any], str]]], parent: Any = None) -> None:
        super().__init__(parent)
        self._cols = list(columns)
        self._rows: list[dict[str, Any]] = []

    def set_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        self.beginResetModel()  # a new result, not a tick
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._cols)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(self._cols):
            return self._cols[section][0]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        _, key, fmt = self._cols[index.column()]
        value: Any = self._rows[index.row()]
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return fmt(value)
