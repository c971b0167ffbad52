"""Table models updated by key: dataChanged over changed rows, insert/remove for new/closed ones, never a reset
per tick. Rows are the snapshot's frozen dataclasses; their texts are formatted once when a row changes (a paint
only looks them up) and colours live here (data roles), not in the workers.

The models sort themselves (`sort`, called by the view's header): rows stay in the chosen order as they stream in,
so the header's sort indicator is always true. A QSortFilterProxyModel either re-sorts every row on each
dataChanged (~340 ms at 1,000 rows) or, with dynamic sorting off, leaves new and changed rows out of order under a
header that claims otherwise; sorting a few hundred keys in Python once a refresh costs well under a millisecond.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from app.ui.formatting import Clock, elapsed_text, format_price, pct_text

Index = QModelIndex | QPersistentModelIndex

GREEN, RED, GREY, AMBER = QColor("#2e9d57"), QColor("#d64545"), QColor("#8a8f98"), QColor("#c8a04c")
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_DISPLAY, _SORT, _FG, _ALIGN, _TIP, _BG = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole,
                                           Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.TextAlignmentRole,
                                           Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.BackgroundRole)


@dataclass(frozen=True)
class Column:
    title: str
    key: str  # the row's attribute: the sort value
    fmt: Callable[[Any, Any], str] | None = None  # (model, row) -> text; None: str(value)
    tip: str = ""
    right: bool = False
    live: bool = False  # its text moves with the clock: formatted when painted, not cached
    elide: bool = False  # long text: cut with "…" to the column's width (whole in the tooltip)
    zoned: bool = False  # a time: the header names the zone


def _score(m: Any, r: Any) -> str:
    return f"{r.confluence_score:.1f}"


def _prob(m: Any, r: Any) -> str:
    return "—" if r.ml_probability is None else f"{r.ml_probability:.2f}"


class KeyedTableModel(QAbstractTableModel):
    """Rows keyed by `key_attr`; `apply(rows)` upserts and removes by key with minimal signals."""

    columns: Sequence[Column] = ()
    key_attr = "id"
    natural_reverse = False  # unsorted order: by key ascending (False) or descending

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []
        self._texts: list[list[str]] = []  # per row: each column's text (live columns: formatted when painted)
        self._fg: list[list[QColor | None]] = []  # per row: each column's colour
        self._bg: list[QColor | None] = []  # per row: its background
        self._pos: dict[Hashable, int] = {}
        self.sort_column = -1
        self.sort_order = Qt.SortOrder.AscendingOrder
        self.ticks: dict[str, float] = {}
        self.clock = Clock()
        self.layout_changes = 0  # reorders made (tests and benchmarks look at it)

    # ---------------------------------------------------------------- Qt API
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        """One call into Python per cell painted instead of two (the default asks rowCount and columnCount)."""
        if 0 <= row < len(self._rows) and 0 <= column < len(self.columns) and not parent.isValid():
            return self.createIndex(row, column)
        return QModelIndex()

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            col = self.columns[section]
            if role == _DISPLAY:
                return f"{col.title} ({self.clock.zone})" if col.zoned else col.title
            if role == _TIP:
                return col.tip or None
            if role == _ALIGN:
                return _RIGHT if col.right else _LEFT
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        r = index.row()
        if not 0 <= r < len(self._rows):
            return None
        c = index.column()
        if role == _DISPLAY:
            col = self.columns[c]
            return self.text(self._rows[r], col) if col.live else self._texts[r][c]
        if role == _FG:
            return self._fg[r][c]
        if role == _ALIGN:
            return _RIGHT if self.columns[c].right else _LEFT
        if role == _SORT:
            value = getattr(self._rows[r], self.columns[c].key)
            return value if value is not None else ""
        if role == _TIP:
            return self.tooltip(self._rows[r], self.columns[c])
        if role == _BG:
            return self._bg[r]
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """The header asked: keep the rows in this order from now on (-1: the natural order)."""
        self.sort_column = column if 0 <= column < len(self.columns) else -1
        self.sort_order = order
        self._reorder()

    # ---------------------------------------------------------------- hooks
    def text(self, row: Any, col: Column) -> str:
        if col.fmt is not None:
            return col.fmt(self, row)
        value = getattr(row, col.key)
        return "" if value is None else str(value)

    def colour(self, row: Any, col: Column) -> QColor | None:
        return None

    def tooltip(self, row: Any, col: Column) -> str | None:
        return None

    def background(self, row: Any) -> QColor | None:
        return None

    def price(self, value: float | None, symbol: str) -> str:
        return format_price(value, self.ticks.get(symbol, 0.01))

    # ---------------------------------------------------------------- updates
    def key_of(self, row: Any) -> Hashable:
        return getattr(row, self.key_attr)

    def natural_key(self, row: Any) -> Any:
        """The order when no column is sorted."""
        return self.key_of(row)

    def row_at(self, row: int) -> Any:
        return self._rows[row]

    row_dict = row_at  # the name before rows were typed

    def row_of(self, key: Hashable) -> int | None:
        return self._pos.get(key)

    def _format(self, row: Any) -> list[str]:
        return [self.text(row, col) for col in self.columns]

    def cells(self, row: Any) -> tuple[list[str], list[QColor | None], QColor | None]:
        """A row's texts, colours and background (a model may work them out in one go)."""
        return self._format(row), [self.colour(row, col) for col in self.columns], self.background(row)

    def _store(self, pos: int, row: Any) -> None:
        """Row `pos` holds `row`: its texts and colours are worked out now, once (a paint only reads them)."""
        cells = self.cells(row)
        if pos == len(self._rows):
            self._rows.append(row)
            self._texts.append(cells[0])
            self._fg.append(cells[1])
            self._bg.append(cells[2])
        else:
            self._rows[pos] = row
            self._texts[pos], self._fg[pos], self._bg[pos] = cells

    def text_at(self, r: int, c: int) -> str:
        """What the delegate paints (app.ui.tables)."""
        col = self.columns[c]
        return self.text(self._rows[r], col) if col.live else self._texts[r][c]

    def refresh_all(self) -> None:
        """Formatting or colouring rules changed (tick sizes, time zone, minimum score): every row again."""
        if self._rows:
            for k, r in enumerate(list(self._rows)):
                self._store(k, r)
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self.columns) - 1))

    def set_context(self, ticks: dict[str, float] | None = None, clock: Clock | None = None) -> None:
        """New tick sizes or time zone: every text is formatted again (rare: a new pair, a settings change)."""
        changed = False
        if ticks is not None and ticks != self.ticks:
            self.ticks, changed = dict(ticks), True
        if clock is not None and clock.utc != self.clock.utc:
            self.clock, changed = clock, True
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.columns) - 1)
        if changed:
            self.refresh_all()

    def apply(self, rows: Sequence[Any], remove_missing: bool = True, keep: int | None = None) -> int:
        """Upsert `rows` by key; with remove_missing, rows whose key is absent are removed; `keep` bounds the rows
        held (the last ones in the natural order go). Returns rows changed."""
        incoming = {self.key_of(r): r for r in rows}
        changed = 0
        if remove_missing:
            gone = sorted(self._pos[k] for k in self._pos if k not in incoming)
            changed += self._remove(gone)
        dirty: list[int] = []
        new: list[Any] = []
        for k, r in incoming.items():
            pos = self._pos.get(k)
            if pos is None:
                new.append(r)
            elif self._rows[pos] != r:
                self._store(pos, r)
                dirty.append(pos)
        for a, b in _runs(sorted(dirty)):
            self.dataChanged.emit(self.index(a, 0), self.index(b, len(self.columns) - 1))
        changed += len(dirty)
        if new:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            for k, r in enumerate(new):
                self._store(start + k, r)
                self._pos[self.key_of(r)] = start + k
            self.endInsertRows()
            changed += len(new)
        if new or (dirty and self.sort_column >= 0):
            self._reorder()
        if keep is not None and len(self._rows) > keep:
            order = sorted(range(len(self._rows)), key=lambda i: self.natural_key(self._rows[i]),
                           reverse=self.natural_reverse)
            changed += self._remove(sorted(order[keep:]))
        return changed

    def append_front(self, rows: Sequence[Any], keep: int = 500) -> None:
        """Add the rows not shown yet (a history that only grows), holding at most `keep`."""
        self.apply([r for r in rows if self.key_of(r) not in self._pos], remove_missing=False, keep=keep)

    def _remove(self, positions: list[int]) -> int:
        if not positions:
            return 0
        for a, b in reversed(_runs(positions)):  # one notification per run of adjacent rows, from the bottom up
            self.beginRemoveRows(QModelIndex(), a, b)
            del self._rows[a:b + 1]
            del self._texts[a:b + 1]
            del self._fg[a:b + 1]
            del self._bg[a:b + 1]
            self.endRemoveRows()
        self._pos = {self.key_of(r): k for k, r in enumerate(self._rows)}
        return len(positions)

    def _order(self) -> list[int]:
        """Row positions in display order: the sort column (empty values last, ties in natural order), else
        the natural order."""
        rows = self._rows
        natural = sorted(range(len(rows)), key=lambda i: self.natural_key(rows[i]), reverse=self.natural_reverse)
        if self.sort_column < 0:
            return natural
        attr = self.columns[self.sort_column].key
        values = [getattr(rows[i], attr) for i in natural]
        have = [i for i, v in zip(natural, values, strict=True) if v is not None]
        empty = [i for i, v in zip(natural, values, strict=True) if v is None]
        desc = self.sort_order == Qt.SortOrder.DescendingOrder
        have.sort(key=lambda i: getattr(rows[i], attr), reverse=desc)  # stable either way: ties keep natural order
        return have + empty

    def _reorder(self) -> None:
        order = self._order()
        if order == list(range(len(self._rows))):
            return
        self.layoutAboutToBeChanged.emit()
        old_rows = self._rows
        moved_to = {old: new for new, old in enumerate(order)}
        self._rows = [old_rows[i] for i in order]
        self._texts = [self._texts[i] for i in order]
        self._fg = [self._fg[i] for i in order]
        self._bg = [self._bg[i] for i in order]
        self._pos = {self.key_of(r): k for k, r in enumerate(self._rows)}
        before = self.persistentIndexList()
        after = [self.index(moved_to[i.row()], i.column()) if 0 <= i.row() < len(old_rows) else QModelIndex()
                 for i in before]
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()
        self.layout_changes += 1


def _runs(sorted_rows: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for r in sorted_rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs


def side_colour(side: str | None) -> QColor | None:
    return GREEN if side == "LONG" else RED if side == "SHORT" else None


class ActiveSignalsModel(KeyedTableModel):
    """Open signals, the columns a scalper reads first on the left; the accuracy text last (it is long)."""

    columns = (
        Column("Symbol", "symbol"), Column("Side", "side"), Column("TF", "timeframe"),
        Column("Status", "status_text"),
        Column("Elapsed", "closed_candle_ms", lambda m, r: elapsed_text(m.now() - r.closed_candle_ms / 1000.0),
               "Real time since the signal candle closed", right=True, live=True),
        Column("Unrealised", "unrealised_pct", lambda m, r: pct_text(r.unrealised_pct),
               "If closed at the last price, after fees and slippage on both sides", right=True),
        Column("Last", "last_price", lambda m, r: m.price(r.last_price, r.symbol), right=True),
        Column("Entry", "entry", lambda m, r: m.price(r.entry, r.symbol), right=True),
        Column("SL", "stop_loss", lambda m, r: m.price(r.stop_loss, r.symbol), right=True),
        Column("TP", "take_profit", lambda m, r: m.price(r.take_profit, r.symbol), right=True),
        Column("Score", "confluence_score", _score, right=True),
        Column("ML p", "ml_probability", _prob, "Calibrated win probability; — when the filter is off", right=True),
        Column("Hist. accuracy", "accuracy", None, "Net expectancy per trade of this score band in the latest "
               "backtest with the same risk settings, with its 95% interval, sample and the run's verdict", elide=True),
    )

    def __init__(self, parent: Any = None, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.now = clock
        self.elapsed_column = next(k for k, c in enumerate(self.columns) if c.key == "closed_candle_ms")

    def colour(self, row: Any, col: Column) -> QColor | None:
        if col.key == "side":
            return side_colour(row.side)
        if col.key == "unrealised_pct" and row.unrealised_pct is not None:
            return GREEN if row.unrealised_pct > 0 else RED
        if col.key == "accuracy" and "not enough" in row.accuracy:
            return GREY
        return None

    def tooltip(self, row: Any, col: Column) -> str | None:
        if col.key == "accuracy":
            return str(row.accuracy)
        if col.key == "entry" and row.provisional:
            return "Provisional: the signal candle's close until the next candle opens"
        return None

    def tick_elapsed(self) -> None:
        """Real elapsed time moves every second: repaint that one column only."""
        if self._rows:
            c = self.elapsed_column
            self.dataChanged.emit(self.index(0, c), self.index(len(self._rows) - 1, c), [_DISPLAY])


class CompletionsModel(KeyedTableModel):
    """Closed signals, most recent first unless sorted otherwise."""

    natural_reverse = True
    columns = (
        Column("Closed", "closed_at", lambda m, r: m.clock.stamp(r.closed_at), "Open time of the candle that "
               "decided the outcome", zoned=True),
        Column("Symbol", "symbol"), Column("Side", "side"), Column("TF", "timeframe"),
        Column("Outcome", "status", lambda m, r: r.status + (" *" if r.ambiguous else "")),
        Column("P&L", "pnl_pct", lambda m, r: pct_text(r.pnl_pct), "After fees and slippage on both sides",
               right=True),
        Column("Entry", "entry", lambda m, r: m.price(r.entry, r.symbol), right=True),
        Column("Exit", "exit_price", lambda m, r: m.price(r.exit_price, r.symbol), right=True),
        Column("Bars", "bars_held", None, "Candles held", right=True),
        Column("Score", "confluence_score", _score, right=True),
        Column("ML p", "ml_probability", _prob, right=True),
    )

    def key_of(self, row: Any) -> Hashable:
        return (row.closed_at, row.id)

    def row_of(self, key: Hashable) -> int | None:
        """By signal id."""
        return next((k for k, r in enumerate(self._rows) if r.id == key), None)

    def colour(self, row: Any, col: Column) -> QColor | None:
        if col.key in ("status", "pnl_pct"):
            return GREEN if row.status == "WIN" else RED if row.status == "LOSS" else GREY
        if col.key == "side":
            return side_colour(row.side)
        return None

    def tooltip(self, row: Any, col: Column) -> str | None:
        if col.key == "status" and row.ambiguous:
            return "Stop and target inside one candle: counted as a LOSS"
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
