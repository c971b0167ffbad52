"""Exports: the PDF report (a day, a week or custom dates of live signals, or a finished backtest run) and the
CSV of signals (live, or a backtest run's), each written by a session-layer job (`jobs.report`,
`jobs.export_csv`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

import app.ui.dialogs.fmt as fmt
from app.ui.dialogs.base import JobDialog, JobFn, submit, table_view
from app.ui.dialogs.tables import NumbersModel
from app.ui.workers import JobManager


class RunPicker(QWidget):
    """The finished backtest runs (id, date, data, verdict), read in a job; one can be selected."""

    def __init__(self, jobs: JobManager, db_path: Path) -> None:
        super().__init__()
        self.jobs, self.db_path = jobs, db_path
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.model = NumbersModel([
            ("Run", "id", str), ("Made (UTC)", "started", str), ("Pairs", "pairs", str),
            ("TF", "timeframes", str), ("Data (UTC)", "span", str), ("Source", "source", str),
            ("Verdict", "verdict", str), ("Signals", "signals", fmt.count)], self,
            {"Signals": "Decided signals at or above the minimum score of the run"})
        self.view = table_view(self.model)
        self.view.setMinimumHeight(140)
        self.empty = QLabel("Reading the backtest runs…")
        lay.addWidget(self.view)
        lay.addWidget(self.empty)
        self.refresh()

    def refresh(self) -> None:
        db_path = self.db_path

        def run(progress: Any, cancel: Any) -> Any:
            from app.session import explorer, jobs

            return explorer.finished_runs(db_path, jobs.Control(progress, cancel))

        submit(self.jobs, f"runs-{id(self)}", run, self.show_runs, self.show_error)

    def show_runs(self, rows: list[dict[str, Any]]) -> None:
        self.model.set_rows(rows)
        self.empty.setText("" if rows else "No finished backtest yet: run one in Tools > Backtest explorer.")
        self.empty.setVisible(not rows)
        if rows:
            self.view.selectRow(0)

    def show_error(self, message: str) -> None:
        self.empty.setText(f"Could not read the backtest runs: {message}")

    def run_id(self) -> int | None:
        idx = self.view.currentIndex()
        if not idx.isValid():
            return None
        return int(self.model.row_dict(idx.row())["id"])


def _radios(*texts: str) -> tuple[QWidget, QButtonGroup, list[QRadioButton]]:
    box = QWidget()
    lay = QHBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    group = QButtonGroup(box)
    buttons = []
    for k, text in enumerate(texts):
        b = QRadioButton(text)
        group.addButton(b, k)
        lay.addWidget(b)
        buttons.append(b)
    buttons[0].setChecked(True)
    lay.addStretch(1)
    return box, group, buttons


def _date(d: QDate) -> QDateEdit:
    e = QDateEdit(d)
    e.setCalendarPopup(True)
    e.setDisplayFormat("yyyy-MM-dd")
    return e


class _ExportDialog(JobDialog):
    """Live signals or a backtest run, an output file, Run; the result says where the file is."""

    suffix = "pdf"

    def __init__(self, jobs: JobManager, settings: Any, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(jobs, parent)
        self.settings, self.db_path = settings, db_path
        box, self.what, (self.live, self.run) = _radios("Live signals", "A backtest run")
        self.form.addRow("Report on" if self.suffix == "pdf" else "Signals", box)
        self.extra_rows()
        self.runs = RunPicker(jobs, db_path)
        self.runs_label = QLabel("Backtest run")
        self.form.addRow(self.runs_label, self.runs)
        self.out = QLineEdit()
        self.out.setMinimumWidth(420)
        self._auto_out = ""
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.out, 1)
        row.addWidget(browse)
        self.form.addRow("Save as", row)
        self.done_label = QLabel("")
        self.done_label.setWordWrap(True)
        self.done_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.open_button = QPushButton("Open the file")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_file)
        page = QWidget()
        v = QVBoxLayout(page)
        v.addWidget(self.done_label)
        v.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        v.addStretch(1)
        self.tabs.addTab(page, "Result")
        self.what.idToggled.connect(self._mode_changed)
        self.runs.view.selectionModel().currentRowChanged.connect(self._suggest)
        self.runs.model.modelReset.connect(self._suggest)
        self.setMinimumSize(1000, 560)
        self._mode_changed()

    def extra_rows(self) -> None:
        pass

    def folder(self) -> Path:
        from app import paths

        return Path(self.settings.reports.folder) if self.settings.reports.folder else paths.reports_dir()

    def default_name(self) -> str:
        raise NotImplementedError

    def _mode_changed(self, *_: Any) -> None:
        self.form.setRowVisible(self.runs, self.run.isChecked())
        self._suggest()

    def _suggest(self, *_: Any) -> None:
        """The output follows the choices until the user edits it."""
        if self.out.text() and self.out.text() != self._auto_out:
            return
        self._auto_out = str(self.folder() / self.default_name())
        self.out.setText(self._auto_out)

    def browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save as", self.out.text(), f"{self.suffix.upper()} "
                                              f"(*.{self.suffix})")
        if path:
            self.out.setText(path)

    def output(self) -> Path:
        text = self.out.text().strip()
        if not text:
            raise ValueError("Save as: choose a file to write.")
        path = Path(text).expanduser()
        return path if path.suffix.lower() == f".{self.suffix}" else path.with_name(path.name + f".{self.suffix}")

    def run_id(self) -> int | None:
        if not self.run.isChecked():
            return None
        rid = self.runs.run_id()
        if rid is None:
            raise ValueError("Backtest run: select a finished run (none yet? run a backtest first).")
        return rid

    def open_file(self) -> None:
        if self.result:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.result["out"]))


class PdfExportDialog(_ExportDialog):
    kind = "report"
    suffix = "pdf"
    cancelled_text = "Cancelled; no report was written."

    def __init__(self, jobs: JobManager, settings: Any, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(jobs, settings, db_path, parent)
        self.setWindowTitle("Export PDF report")
        self.run_button.setText("&Write report")

    def extra_rows(self) -> None:
        today = QDate.currentDate()
        box, self.period, (self.day, self.week, self.custom) = _radios("Day", "Week", "Custom dates")
        self.day_edit = _date(today)
        self.start_edit = _date(today.addDays(-6))
        self.end_edit = _date(today)
        self.day_label = QLabel("day")
        self.from_label = QLabel("from")
        self.to_label = QLabel("to")
        row = QHBoxLayout()
        row.addWidget(box)
        for w in (self.day_label, self.day_edit, self.from_label, self.start_edit, self.to_label, self.end_edit):
            row.addWidget(w)
        row.addWidget(QLabel("UTC"))
        row.addStretch(1)
        self.period_row = QWidget()
        self.period_row.setLayout(row)
        self.form.addRow("Period", self.period_row)
        self.period.idToggled.connect(self._mode_changed)
        for e in (self.day_edit, self.start_edit, self.end_edit):
            e.dateChanged.connect(self._suggest)

    def _mode_changed(self, *_: Any) -> None:
        custom = self.custom.isChecked()
        self.form.setRowVisible(self.period_row, self.live.isChecked())  # a run's report covers the whole run
        self.day_label.setText("last day" if self.week.isChecked() else "day")
        for w in (self.day_label, self.day_edit):
            w.setVisible(not custom)
        for w in (self.from_label, self.start_edit, self.to_label, self.end_edit):
            w.setVisible(custom)
        super()._mode_changed()

    def default_name(self) -> str:
        if self.run.isChecked():
            rid = self.runs.run_id()
            return f"scalpdesk-backtest-run-{rid}.pdf" if rid is not None else "scalpdesk-backtest.pdf"
        if self.custom.isChecked():
            return (f"scalpdesk-{self.start_edit.date().toString('yyyy-MM-dd')}-to-"
                    f"{self.end_edit.date().toString('yyyy-MM-dd')}.pdf")
        kind = "week-to" if self.week.isChecked() else "day"
        return f"scalpdesk-{kind}-{self.day_edit.date().toString('yyyy-MM-dd')}.pdf"

    def request(self) -> Any:
        from app.session import jobs

        out, run_id = self.output(), self.run_id()
        if run_id is not None:
            return jobs.ReportRequest(out, "daily", run_id=run_id)
        if self.custom.isChecked():
            start, end = self.start_edit.date(), self.end_edit.date()
            if start > end:
                raise ValueError("Period: the first day is after the last day.")
            return jobs.ReportRequest(out, "custom", start.toString("yyyy-MM-dd"), end.toString("yyyy-MM-dd"))
        kind = "weekly" if self.week.isChecked() else "daily"
        return jobs.ReportRequest(out, kind, end=self.day_edit.date().toString("yyyy-MM-dd"))

    def make_job(self) -> JobFn:
        from app.session import jobs

        settings, db_path, req = self.settings, self.db_path, self.request()

        def run(progress: Any, cancel: Any) -> Any:
            return jobs.report(settings, db_path, req, jobs.Control(progress, cancel))

        return run

    def show_result(self, r: Any) -> None:
        what = f"backtest run {r['run_id']}" if r.get("run_id") is not None else \
            f"live signals from {r['from'][:16].replace('T', ' ')} to {r['to'][:16].replace('T', ' ')} UTC"
        verdict = f"; verdict {r['verdict']}" if r.get("verdict") else ""
        self.done_label.setText(f"Report of the {what} written to {r['out']}: {r['pages']} pages, "
                                f"{r['signals']:,} signals{verdict}.")
        self.open_button.setEnabled(True)
        self.status.setText(f"Written to {r['out']}")


class CsvExportDialog(_ExportDialog):
    kind = "export-csv"
    suffix = "csv"
    cancelled_text = "Cancelled; no file was written."

    def __init__(self, jobs: JobManager, settings: Any, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(jobs, settings, db_path, parent)
        self.setWindowTitle("Export signals as CSV")
        self.run_button.setText("&Export")
        note = QLabel("Times are ISO-8601 in UTC with the zone written out (2024-08-05T14:35:00+00:00); P&L is "
                      "after fees and slippage.")
        note.setWordWrap(True)
        self.form.addRow("", note)

    def default_name(self) -> str:
        if self.run.isChecked():
            rid = self.runs.run_id()
            return f"scalpdesk-backtest-run-{rid}-signals.csv" if rid is not None else "scalpdesk-backtest.csv"
        return "scalpdesk-live-signals.csv"

    def make_job(self) -> JobFn:
        from app.session import jobs

        settings, db_path = self.settings, self.db_path
        req = jobs.ExportRequest(self.output(), self.run_id())

        def run(progress: Any, cancel: Any) -> Any:
            return jobs.export_csv(settings, db_path, req, jobs.Control(progress, cancel))

        return run

    def show_result(self, r: Any) -> None:
        what = f"backtest run {r['run_id']}" if r.get("run_id") is not None else "live signals"
        self.done_label.setText(f"{r['rows']:,} {what} written to {r['out']}.")
        self.open_button.setEnabled(True)
        self.status.setText(f"Written to {r['out']}")
