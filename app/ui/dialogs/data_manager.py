"""The data manager: download or update exchange history for chosen pairs and timeframes (with progress and
Cancel), stored as the feather files the backtest explorer reads, and a table of what is on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QCheckBox, QDateEdit, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

import app.ui.dialogs.fmt as fmt
from app.ui.dialogs.base import JobDialog, JobFn, submit, table_view
from app.ui.dialogs.data_choice import day_ms
from app.ui.dialogs.tables import NumbersModel
from app.ui.workers import JobManager

TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "4h")


class DataManagerDialog(JobDialog):
    kind = "download"
    cancelled_text = "Cancelled. Pairs finished before the cancel are kept; the one in progress is unchanged."

    def __init__(self, jobs: JobManager, settings: Any, parent: QWidget | None = None, folder: Path | None = None,
                 exchange_url: str | None = None) -> None:
        from app.session.data import history_folder

        super().__init__(jobs, parent)
        self.setWindowTitle("Data manager")
        self.settings = settings
        self.folder = history_folder(folder)
        self.exchange_url = exchange_url
        self.exchange = settings.scanner.exchange
        self.form.addRow("Exchange", QLabel(f"{self.exchange} (public market data; no account or key needed)"))
        self.symbols = QLineEdit(", ".join(settings.scanner.symbols))
        self.symbols.setPlaceholderText("BTC/USDT, ETH/USDT")
        self.symbols.setToolTip("Pairs as the exchange writes them, separated by commas")
        self.form.addRow("Pairs", self.symbols)
        row = QHBoxLayout()
        self.timeframes: dict[str, QCheckBox] = {}
        for tf in TIMEFRAMES:
            box = QCheckBox(tf)
            box.setChecked(tf == settings.scanner.timeframe)
            self.timeframes[tf] = box
            row.addWidget(box)
        row.addStretch(1)
        self.form.addRow("Timeframes", row)
        self.since = QDateEdit()
        self.since.setCalendarPopup(True)
        self.since.setDisplayFormat("yyyy-MM-dd")
        self.since.setDate(QDate.currentDate().addDays(-30))
        self.since.setMaximumDate(QDate.currentDate())
        since_row = QHBoxLayout()
        since_row.addWidget(self.since)
        since_row.addWidget(QLabel("UTC, for new files; a file already on disk gets only the candles after its "
                                   "last one"), 1)
        self.form.addRow("From", since_row)
        folder_row = QHBoxLayout()
        folder_label = QLabel(str(self.folder))
        folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.update_all = QPushButton("Select everything on disk")
        self.update_all.setToolTip("Fill in the pairs and timeframes of every file on disk, to bring them all up "
                                   "to date")
        self.update_all.clicked.connect(self.select_all_on_disk)
        folder_row.addWidget(folder_label, 1)
        folder_row.addWidget(self.update_all)
        self.form.addRow("Folder", folder_row)
        self.run_button.setText("&Download / update")
        self.on_disk = NumbersModel([
            ("Pair", "symbol", str), ("Timeframe", "timeframe", str), ("First candle (UTC)", "first", fmt.utc),
            ("Last candle (UTC)", "last", fmt.utc), ("Candles", "candles", fmt.count),
            ("Gaps", "gaps_text", str), ("File", "file", str)], self,
            {"Gaps": "Stretches of missing candles (exchange downtime or delisting); never filled with made-up "
                     "prices"})
        self.tabs.addTab(table_view(self.on_disk), "On disk")
        self.last_run = NumbersModel([
            ("Pair", "symbol", str), ("Timeframe", "timeframe", str), ("Added", "added", fmt.count),
            ("Candles now", "candles", fmt.count), ("Last candle (UTC)", "last", fmt.utc),
            ("Result", "note", str)], self)
        self.tabs.addTab(table_view(self.last_run), "Last download")
        self.files: list[dict[str, Any]] = []
        self.resize(900, 620)
        self.refresh()

    # ------------------------------------------------------------------ what is on disk
    def refresh(self) -> None:
        folder = self.folder

        def run(progress: Any, cancel: Any) -> Any:
            from app.session import data, jobs

            return data.inventory(folder, jobs.Control(progress, cancel))

        submit(self.jobs, f"inventory-{id(self)}", run, self.show_files)

    def show_files(self, rows: list[dict[str, Any]]) -> None:
        self.files = rows
        self.on_disk.set_rows([{**r, "gaps_text": gaps_text(r)} for r in rows])
        if not rows:
            self.status.setText("Nothing on disk yet: choose pairs and timeframes, then Download.")

    def select_all_on_disk(self) -> None:
        if not self.files:
            return
        self.symbols.setText(", ".join(sorted({r["symbol"] for r in self.files})))
        tfs = {r["timeframe"] for r in self.files}
        for tf, box in self.timeframes.items():
            box.setChecked(tf in tfs)

    # ------------------------------------------------------------------ download
    def make_job(self) -> JobFn:
        from app.session import data, jobs

        symbols = tuple(s.strip().upper() for s in self.symbols.text().split(",") if s.strip())
        tfs = tuple(tf for tf, box in self.timeframes.items() if box.isChecked())
        if not symbols:
            raise ValueError("Pairs: write at least one pair, like BTC/USDT.")
        bad = [s for s in symbols if not data.PAIR.match(s)]
        if bad:
            raise ValueError(f"Pairs: '{bad[0]}' is not a pair like BTC/USDT.")
        if not tfs:
            raise ValueError("Timeframes: tick at least one.")
        req = data.DownloadRequest(symbols, tfs, day_ms(self.since.date()), self.folder, self.exchange,
                                   self.exchange_url)
        settings = self.settings

        def run(progress: Any, cancel: Any) -> Any:
            return data.download(settings, req, jobs.Control(progress, cancel))

        return run

    def show_result(self, result: Any) -> None:
        rows = [{**d, "note": "updated" if d["updated"] else "new file"} if d["added"] else
                {**d, "note": "already up to date"} for d in result.downloads]
        rows += [{"symbol": f["symbol"], "timeframe": f["timeframe"], "added": None, "candles": None, "last": None,
                  "note": f["error"]} for f in result.failed]
        self.last_run.set_rows(rows)
        self.show_files(result.files)
        added = sum(d["added"] for d in result.downloads)
        failed = f"; {len(result.failed)} failed (see Last download)" if result.failed else ""
        self.status.setText(f"{added:,} candles added in {len(result.downloads)} files{failed}.")
        self.tabs.setCurrentIndex(1 if result.failed else 0)

    def _cancelled(self) -> None:
        super()._cancelled()
        self.refresh()


def gaps_text(row: dict[str, Any]) -> str:
    if row.get("error"):
        return row["error"]
    if not row.get("gaps"):
        return "none"
    return f"{row['gaps']:,} ({row['missing']:,} candles missing)"
