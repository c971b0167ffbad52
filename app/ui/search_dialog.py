"""The strategy search dialog: files and timeframes in, the grid as a heat map of training expectancy, the chosen
setting's training and holdout figures side by side, the number of trials always visible, Apply only for a
setting that passed. The search itself is the session layer's (app.session.jobs.strategy_search)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.ui.dialogs import JobDialog
from app.ui.workers import JobManager

Index = QModelIndex | QPersistentModelIndex


def _pct(x: Any) -> str:
    return "—" if x is None else f"{x:+.3f}%"


class HeatMapModel(QAbstractTableModel):
    """Training expectancy of one slice of the grid: rows = minimum score, columns = (stop, target) in ATR, for a
    chosen timeframe, side and hold. Settings with too few training trades are grey; the chosen one is marked."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[float] = []
        self.cols: list[tuple[float, float]] = []
        self.cells: dict[tuple[float, float, float], dict[str, Any]] = {}
        self.chosen: tuple[float, float, float] | None = None
        self.scale = 1.0

    def set_slice(self, cells: list[dict[str, Any]], timeframe: str, side: str, hold: int,
                  chosen: dict[str, Any] | None) -> None:
        self.beginResetModel()  # a new slice, not a tick
        part = [c for c in cells if c["timeframe"] == timeframe and c["side"] == side and c["max_hold"] == hold]
        self.rows = sorted({c["min_score"] for c in part})
        self.cols = sorted({(c["sl_atr"], c["tp_atr"]) for c in part})
        self.cells = {(c["min_score"], c["sl_atr"], c["tp_atr"]): c for c in part}
        values = [abs(c["train_expectancy_pct"]) for c in part
                  if c["eligible"] and c["train_expectancy_pct"] is not None]
        self.scale = max(values) if values else 1.0
        self.chosen = None
        if chosen and (chosen["timeframe"], chosen["side"], chosen["max_hold"]) == (timeframe, side, hold):
            self.chosen = (chosen["min_score"], chosen["sl_atr"], chosen["tp_atr"])
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.cols)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.cols):
            sl, tp = self.cols[section]
            return f"SL {sl:g} · TP {tp:g}"
        if orientation == Qt.Orientation.Vertical and 0 <= section < len(self.rows):
            return f"score ≥ {self.rows[section]:g}"
        return None

    def cell(self, index: Index) -> dict[str, Any] | None:
        if not index.isValid() or not (0 <= index.row() < len(self.rows) and 0 <= index.column() < len(self.cols)):
            return None
        sl, tp = self.cols[index.column()]
        return self.cells.get((self.rows[index.row()], sl, tp))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        c = self.cell(index)
        if c is None:
            return None
        key = (c["min_score"], c["sl_atr"], c["tp_atr"])
        value = c["train_expectancy_pct"]
        if role == Qt.ItemDataRole.DisplayRole:
            text = f"n={c['train_n']}" if not c["eligible"] else _pct(value)
            return ("★ " + text) if key == self.chosen else text
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"training: {c['train_n']} trades, net expectancy {_pct(value)} per trade"
                    + ("" if c["eligible"] else " — too few trades to be chosen"))
        if role == Qt.ItemDataRole.BackgroundRole:
            if not c["eligible"] or value is None:
                return QBrush(QColor("#5a5e66"))
            f = max(-1.0, min(1.0, value / self.scale))
            return QBrush(QColor(46, 157, 87, int(40 + 170 * f)) if f >= 0 else QColor(214, 69, 69, int(40 - 170 * f)))
        if role == Qt.ItemDataRole.FontRole and key == self.chosen:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None


class SearchDialog(JobDialog):
    kind = "search"

    def __init__(self, jobs: JobManager, settings: Any, parent: QWidget | None = None) -> None:
        super().__init__(jobs, parent)
        self.setWindowTitle("Strategy search")
        self.settings = settings
        self.files: list[str] = []
        pick = QPushButton("Choose history files…")
        pick.clicked.connect(self.choose)
        self.files_label = QLabel("no files yet: choose the history to search on (several pairs and timeframes)")
        self.files_label.setWordWrap(True)
        self.timeframes = QLineEdit()
        self.timeframes.setPlaceholderText("every timeframe in the files, or e.g. 5m,15m")
        self.min_trades = QSpinBox()
        self.min_trades.setRange(10, 100_000)
        self.min_trades.setValue(300)
        self.min_trades.setToolTip("A setting needs this many trades in the training period to be chosen")
        self.form.addRow(pick, self.files_label)
        self.form.addRow("Timeframes", self.timeframes)
        self.form.addRow("Fewest training trades", self.min_trades)
        self.trials = QLabel("Trials: —")
        self.trials.setObjectName("trials")
        self.form.addRow(self.trials)
        self.words = QLabel("")
        self.words.setWordWrap(True)
        self.words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        summary = QWidget()
        lay = QVBoxLayout(summary)
        lay.addWidget(self.words)
        self.compare = QLabel("")
        self.compare.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.compare)
        lay.addStretch(1)
        self.tabs.addTab(summary, "Result")
        grid_page = QWidget()
        g = QVBoxLayout(grid_page)
        pickers = QHBoxLayout()
        self.tf_box, self.side_box, self.hold_box = QComboBox(), QComboBox(), QComboBox()
        for label, box in (("Timeframe", self.tf_box), ("Side", self.side_box), ("Hold", self.hold_box)):
            pickers.addWidget(QLabel(label))
            pickers.addWidget(box)
            box.currentIndexChanged.connect(self._show_slice)
        pickers.addStretch(1)
        g.addLayout(pickers)
        self.heat = HeatMapModel(self)
        self.heat_view = QTableView()
        self.heat_view.setModel(self.heat)
        self.heat_view.horizontalHeader().setToolTip("stop-loss and take-profit in ATR multiples")
        g.addWidget(self.heat_view, 1)
        g.addWidget(QLabel("Training expectancy per trade after costs (SL/TP: stop and target in ATR); grey: too "
                           "few training trades; ★ the chosen setting. The holdout was not read to make this map."))
        self.tabs.addTab(grid_page, "Heat map")
        self.apply_button.setVisible(True)

    def choose(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "History files", "",
                                                "Candles (*.feather *.csv *.json *.zip);;All files (*)")
        if files:
            self.files = files
            self.files_label.setText("\n".join(Path(f).name for f in files))

    def make_job(self) -> Callable[..., Any]:
        from app.session import jobs

        if not self.files:
            raise ValueError("Choose history files first.")
        req = jobs.SearchRequest(files=tuple(self.files),
                                 timeframes=tuple(t.strip() for t in self.timeframes.text().split(",") if t.strip()),
                                 min_trades=self.min_trades.value())
        settings = self.settings
        self._request = req

        def run(progress: Callable[[float, str], None], cancel: Any) -> Any:
            return jobs.strategy_search(settings, req, jobs.Control(progress, cancel))

        return run

    def show_result(self, r: Any) -> None:
        self.search_result = r
        d = r.to_dict()
        self.result = d
        self.trials.setText(f"Trials: {d['trials']:,}")
        self.words.setText(d["message"])
        rows = []
        for name in ("expectancy", "edge"):
            t = (d["train"].get(name) or {}) if d["selected"] else {}
            h = (d["holdout"].get(name) or {}) if d["selected"] else {}
            rows.append(("Net expectancy per trade" if name == "expectancy" else "Edge over random entries",
                         _pct(t.get("pct")), _pct(h.get("pct"))))
        rows.append(("Verdict", d["train"].get("verdict") or "—", d["holdout"].get("verdict") or "—"))
        stats = (f"PBO {_num(d['pbo'], '.2f')} · deflated Sharpe {_num(d['deflated_sharpe'], '.2f')} · SPA p "
                 f"{_num(d['spa_p_value'], '.3f')}")
        body = "".join(f"<tr><td>{a}</td><td align='right'>{b}</td><td align='right'><b>{c}</b></td></tr>"
                       for a, b, c in rows)
        self.compare.setText(f"<table cellpadding='4'><tr><th></th><th>training</th><th>holdout</th></tr>{body}"
                             f"</table><p>{stats}</p>")
        axes = d["grid"]["axes"]
        for box, values in ((self.tf_box, axes["timeframe"]), (self.side_box, axes["side"]),
                            (self.hold_box, [str(h) for h in axes["max_hold"]])):
            box.blockSignals(True)
            box.clear()
            box.addItems([str(v) for v in values])
            box.blockSignals(False)
        sel = d["selected"]
        if sel:
            self.tf_box.setCurrentText(sel["timeframe"])
            self.side_box.setCurrentText(sel["side"])
            self.hold_box.setCurrentText(str(sel["max_hold"]))
        self._show_slice()
        self.apply_button.setEnabled(bool(d["passed"]))

    def _show_slice(self) -> None:
        d = self.result
        if not isinstance(d, dict) or "grid" not in d or not self.hold_box.currentText():
            return
        self.heat.set_slice(d["grid"]["cells"], self.tf_box.currentText(), self.side_box.currentText(),
                            int(self.hold_box.currentText()), d["selected"])
        self.heat_view.resizeColumnsToContents()

    def apply(self) -> None:
        from app.session import jobs

        if not self.result or not self.result.get("passed"):
            return
        found, req, settings = self.search_result, self._request, self.settings
        self.write_settings(lambda: jobs.apply_search(found, req, settings))


def _num(x: Any, fmt: str) -> str:
    return "n/a" if x is None else format(x, fmt)
