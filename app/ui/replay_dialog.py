"""Replay in the window: history files played through the whole desk (watchlist, chart, signals, tracker,
statistics) at a chosen speed, as `scalpdesk track --source replay` does. Everything it records is labelled REPLAY
and kept apart from live and simulated records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
)

SPEEDS = (("As fast as possible", 0.0), ("×10", 10.0), ("×60 (a minute a second)", 60.0), ("×300", 300.0),
          ("×1000", 1000.0), ("×3600 (an hour a second)", 3600.0))


class ReplayDialog(QDialog):
    replay_chosen = Signal(object)  # app.session.live.SourceSpec

    def __init__(self, parent: Any = None, start_dir: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Replay history")
        self.start_dir = start_dir
        self.files: list[str] = []
        self.list = QListWidget()
        self.list.setMinimumHeight(140)
        pick = QPushButton("Choose history files…")
        pick.clicked.connect(self.choose)
        self.speed = QComboBox()
        for words, value in SPEEDS:
            self.speed.addItem(words, value)
        self.speed.setCurrentIndex(2)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #d64545")
        self.error.setWordWrap(True)
        note = QLabel("The files (feather, CSV, JSON or Binance Vision zips; one timeframe) are played through the "
                      "scanner and the tracker on a clock at the chosen speed. Everything shown is labelled REPLAY; "
                      "its signals are recorded apart from live and simulated ones. \"Back to the live source\" in "
                      "the banner returns to the settings' source.")
        note.setWordWrap(True)
        form = QFormLayout()
        form.addRow(pick, self.list)
        form.addRow("Speed", self.speed)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start replay", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setEnabled(False)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(note)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        self.resize(560, 360)

    def choose(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "History files to replay", self.start_dir,
                                                "Candles (*.feather *.csv *.json *.zip);;All files (*)")
        if files:
            self.set_files(files)

    def set_files(self, files: list[str]) -> None:
        self.files = list(files)
        self.list.clear()
        self.list.addItems([Path(f).name for f in files])
        self.start_button.setEnabled(bool(files))
        self.error.setText("")

    def spec(self) -> Any:
        from app.session.live import SourceSpec

        speed = float(self.speed.currentData())
        # as fast as possible: 250 candles a step, so the desk is seen moving rather than jumping by weeks
        return SourceSpec(kind="replay", files=tuple(self.files), speed=speed, step=250 if speed <= 0 else 2000)

    def start(self) -> None:
        """Check the files name one timeframe (by their names) before the desk switches to them."""
        from app.market.files import parse_name

        tfs = {parse_name(Path(f))[1] for f in self.files}
        if len(tfs - {None}) > 1:
            self.error.setText(f"These files hold several timeframes ({', '.join(sorted(t for t in tfs if t))}); "
                               "a replay plays one timeframe at a time.")
            return
        self.replay_chosen.emit(self.spec())
        self.accept()
