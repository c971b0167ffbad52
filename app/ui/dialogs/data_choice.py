"""What a backtest runs on: history files, the exchange history the data manager downloaded, or the simulated
market; which pairs, which timeframe and which period. Only file names are looked at here (pure string work);
anything read from disk comes from a job."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from app.core.candles import TIMEFRAME_MS, timeframe_ms
from app.market.files import parse_name

FILES, DOWNLOADED, SIMULATED = "files", "downloaded", "simulated"
SOURCES = ((DOWNLOADED, "Downloaded exchange history"), (FILES, "History files…"),
           (SIMULATED, "Simulated market (SIMULATED)"))


@dataclass(frozen=True)
class Series:
    symbol: str
    timeframe: str
    path: str | None  # None: the simulated market
    first_ms: int | None = None
    last_ms: int | None = None


def series_of_files(files: list[str]) -> list[Series]:
    out = []
    for f in files:
        symbol, tf = parse_name(Path(f))
        if symbol and tf:
            out.append(Series(symbol, tf, f))
    return out


def day_ms(d: QDate) -> int:
    return int(dt.datetime(d.year(), d.month(), d.day(), tzinfo=dt.UTC).timestamp() * 1000)


def qdate(ms: int) -> QDate:
    t = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return QDate(t.year, t.month, t.day)


class PairList(QWidget):
    """Pairs as check boxes in a grid, with All / None."""

    changed = Signal()
    COLUMNS = 6

    def __init__(self) -> None:
        super().__init__()
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(14)
        self.grid.setVerticalSpacing(2)
        outer.addLayout(self.grid)
        outer.addStretch(1)
        self.boxes: list[QCheckBox] = []
        self.all_button = QPushButton("All")
        self.none_button = QPushButton("None")
        for b in (self.all_button, self.none_button):
            b.setMaximumWidth(56)
            outer.addWidget(b, 0, Qt.AlignmentFlag.AlignTop)
        self.all_button.clicked.connect(lambda: self._set_all(True))
        self.none_button.clicked.connect(lambda: self._set_all(False))

    def count(self) -> int:
        return len(self.boxes)

    def pairs(self) -> list[str]:
        return [b.text() for b in self.boxes]

    def set_pairs(self, pairs: list[str], checked: set[str] | None = None) -> None:
        for b in self.boxes:
            self.grid.removeWidget(b)
            b.deleteLater()
        self.boxes = []
        for k, p in enumerate(pairs):
            box = QCheckBox(p)
            box.setChecked(checked is None or p in checked)
            box.toggled.connect(lambda _on: self.changed.emit())
            self.grid.addWidget(box, k // self.COLUMNS, k % self.COLUMNS)
            self.boxes.append(box)
        self.changed.emit()

    def set_checked(self, pairs: set[str]) -> None:
        for b in self.boxes:
            b.setChecked(b.text() in pairs)

    def _set_all(self, on: bool) -> None:
        for b in self.boxes:
            b.setChecked(on)

    def checked(self) -> list[str]:
        return [b.text() for b in self.boxes if b.isChecked()]


class PeriodEdit(QWidget):
    """'Whole history', or from / to dates (UTC, the 'to' day included)."""

    def __init__(self) -> None:
        super().__init__()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.whole = QCheckBox("Whole history")
        self.whole.setChecked(True)
        self.start = QDateEdit()
        self.end = QDateEdit()
        for w in (self.start, self.end):
            w.setCalendarPopup(True)
            w.setDisplayFormat("yyyy-MM-dd")
        today = QDate.currentDate()
        self.start.setDate(today.addDays(-30))
        self.end.setDate(today)
        self.range_label = QLabel("")
        self.range_label.setStyleSheet("color: #8a8f98")
        lay.addWidget(self.whole)
        lay.addWidget(QLabel("from"))
        lay.addWidget(self.start)
        lay.addWidget(QLabel("to"))
        lay.addWidget(self.end)
        lay.addWidget(QLabel("UTC"))
        lay.addWidget(self.range_label, 1)
        self.whole.toggled.connect(self._toggle)
        self._toggle(True)
        self.edited = False
        self.start.dateChanged.connect(self._mark)
        self.end.dateChanged.connect(self._mark)

    def _mark(self, *_: Any) -> None:
        self.edited = True

    def _toggle(self, whole: bool) -> None:
        self.start.setEnabled(not whole)
        self.end.setEnabled(not whole)

    def show_range(self, first_ms: int | None, last_ms: int | None) -> None:
        """The data's span: written beside the dates, and the dates' default until the user changes them."""
        if first_ms is None or last_ms is None:
            self.range_label.setText("")
            return
        self.range_label.setText(f"data: {qdate(first_ms).toString('yyyy-MM-dd')} to "
                                 f"{qdate(last_ms).toString('yyyy-MM-dd')}")
        if not self.edited:
            for w, ms in ((self.start, first_ms), (self.end, last_ms)):
                w.blockSignals(True)
                w.setDate(qdate(ms))
                w.blockSignals(False)

    def bounds(self) -> tuple[int | None, int | None]:
        if self.whole.isChecked():
            return None, None
        a, b = day_ms(self.start.date()), day_ms(self.end.date().addDays(1))
        if a >= b:
            raise ValueError("The period starts after it ends: choose a 'from' date before the 'to' date.")
        return a, b


def timeframe_combo() -> QComboBox:
    box = QComboBox()
    box.setMinimumContentsLength(4)
    return box


def set_timeframes(box: QComboBox, tfs: list[str], prefer: str) -> None:
    current = box.currentText() or prefer
    ordered = sorted(set(tfs), key=lambda t: TIMEFRAME_MS.get(t, 0))
    box.blockSignals(True)
    box.clear()
    box.addItems(ordered)
    if current in ordered:
        box.setCurrentText(current)
    elif prefer in ordered:
        box.setCurrentText(prefer)
    box.blockSignals(False)


def files_for(series: list[Series], pairs: list[str], timeframe: str) -> list[str]:
    """The chosen pairs' files of `timeframe`, and their finer files (they resolve candles that touch both the stop
    and the target)."""
    tf = timeframe_ms(timeframe)
    return [s.path for s in series if s.path and s.symbol in pairs and timeframe_ms(s.timeframe) <= tf]

