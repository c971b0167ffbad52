"""The job dialog: options on top, Run / Cancel with a progress bar, result tabs below, Apply when there is
something to apply. The job itself is a session-layer function run in the window's JobManager; a dialog only
collects options and shows results."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.models import ResultTableModel
from app.ui.workers import Job, JobManager

JobFn = Callable[[Callable[[float, str], None], Any], Any]


def submit(jobs: JobManager, kind: str, fn: JobFn, done: Callable[[Any], None],
           failed: Callable[[str], None] | None = None) -> Job | None:
    """A short job beside the dialog's main one (a listing, a trade's candles). `done`/`failed` should be bound
    methods of a QObject, so that they run in the GUI thread. None when one of that kind is still running."""
    job = Job(kind, fn)
    job.signals.finished.connect(done)
    if failed is not None:
        job.signals.failed.connect(failed)
    return job if jobs.submit(job) else None


def table_view(model: Any) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class JobDialog(QDialog):
    """Options on top, Run / Cancel with a progress bar, results below, Apply when there is something to apply."""

    kind = "job"
    cancelled_text = "Cancelled; nothing was stored."
    applied = Signal(object)
    job_done = Signal(object)

    def __init__(self, jobs: JobManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.job: Job | None = None
        self.result: Any = None
        self.cancel_latency_s: float | None = None  # from the Cancel click to the job's end (shown, and tested)
        self._cancel_clicked: float | None = None
        self.setMinimumSize(760, 520)
        lay = QVBoxLayout(self)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        lay.addLayout(self.form)
        row = QHBoxLayout()
        self.run_button = QPushButton("&Run")
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        lay.addLayout(row)
        lay.addWidget(self.status)
        self.tabs = QTabWidget()
        lay.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.apply_button = buttons.addButton("&Apply", QDialogButtonBox.ButtonRole.ApplyRole)
        self.apply_button.setEnabled(False)
        self.apply_button.setVisible(False)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.apply_button.clicked.connect(self.apply)

    def add_table(self, title: str, columns: list[tuple[str, str, Callable[[Any], str]]]) -> ResultTableModel:
        model = ResultTableModel(columns, self)
        self.tabs.addTab(table_view(model), title)
        return model

    # to implement
    def make_job(self) -> JobFn:
        raise NotImplementedError

    def show_result(self, result: Any) -> None:
        raise NotImplementedError

    def apply(self) -> None:
        pass

    def write_settings(self, write: Callable[[], Any]) -> None:
        """Apply a result to the settings through `write` (it returns the new settings); a refusal or a failed save
        is shown and changes nothing; success disables Apply and emits `applied` (the window passes the settings
        on to the running session)."""
        from PySide6.QtWidgets import QMessageBox

        from app.errors import ScalpDeskError

        try:
            new = write()
        except ScalpDeskError as exc:
            QMessageBox.warning(self, "Not applied", str(exc))
            return
        self.status.setText(f"Applied to {new.source_path} (previous kept as .bak).")
        self.apply_button.setEnabled(False)
        self.applied.emit(new)

    # job plumbing
    def start(self) -> None:
        try:
            fn = self.make_job()
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        job = Job(self.kind, fn)
        if not self.jobs.submit(job):
            self.status.setText("This job is already running.")
            return
        self.job = job
        self._cancel_clicked = None
        job.signals.progress.connect(self._progress)
        job.signals.finished.connect(self._finished)
        job.signals.failed.connect(self._failed)
        job.signals.cancelled.connect(self._cancelled)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.apply_button.setEnabled(False)
        self.progress.setValue(0)
        self.status.setText("Running…")

    def cancel(self) -> None:
        if self.job is not None:
            self._cancel_clicked = time.perf_counter()
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling…")

    def _progress(self, frac: float, msg: str) -> None:
        if self.job is None or self._cancel_clicked is not None:
            return  # a late report from a job already ended or cancelled
        self.progress.setValue(int(frac * 1000))
        self.status.setText(msg)

    def _end(self) -> None:
        if self._cancel_clicked is not None:
            self.cancel_latency_s = time.perf_counter() - self._cancel_clicked
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.job = None

    def _finished(self, result: Any) -> None:
        self._end()
        self.progress.setValue(1000)
        self.result = result
        self.status.setText("Done.")
        self.show_result(result)
        self.job_done.emit(result)

    def _failed(self, message: str) -> None:
        self._end()
        self.status.setText(f"Failed: {message}")

    def _cancelled(self) -> None:
        self._end()
        self.progress.setValue(0)
        self.status.setText(self.cancelled_text)

    def reject(self) -> None:
        if self.job is not None:
            self.job.cancel()
        super().reject()
