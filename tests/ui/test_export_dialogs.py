"""The PDF export asks for the period (day, week, custom) or a finished backtest run, and the CSV export for live
signals or a run's; both run their session job and say where the file is."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QDate

from app import paths
from app.session import jobs as session_jobs
from app.settings import load
from app.ui.dialogs import CsvExportDialog, PdfExportDialog
from app.ui.workers import JobManager
from tests.services.test_reporting import _fill


@pytest.fixture
def run_id():
    return session_jobs.backtest(load(), paths.default_db_path(),
                                 session_jobs.BacktestRequest(sim_candles=6000, symbols=("BTC/USDT",))).run_id


def _open(qtbot, cls):
    dlg = cls(JobManager(), load(), paths.default_db_path())
    qtbot.addWidget(dlg)
    dlg.open()
    qtbot.waitUntil(lambda: dlg.runs.model.rowCount() > 0 or dlg.runs.empty.text().startswith("No finished"),
                    timeout=10_000)
    return dlg


def _write(qtbot, dlg) -> dict:
    with qtbot.waitSignal(dlg.job_done, timeout=60_000):
        dlg.run_button.click()
    return dlg.result


def _text(path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(path).pages)


def test_pdf_of_a_day_a_week_and_custom_dates_of_live_signals(qtbot, tmp_path):
    _fill(paths.default_db_path(), 6)  # live signals closed on 2024-08-05
    dlg = _open(qtbot, PdfExportDialog)
    assert not dlg.form.isRowVisible(dlg.runs)  # a run list only when a run is asked for
    assert dlg.runs.empty.text().startswith("No finished backtest yet")
    dlg.day_edit.setDate(QDate(2024, 8, 5))
    assert dlg.out.text().endswith("scalpdesk-day-2024-08-05.pdf") and str(paths.reports_dir()) in dlg.out.text()
    r = _write(qtbot, dlg)
    assert (r["from"][:10], r["to"][:10], r["signals"]) == ("2024-08-05", "2024-08-06", 6)
    assert "signals of the period" in _text(r["out"]).lower()
    dlg.week.setChecked(True)
    dlg.day_edit.setDate(QDate(2024, 8, 11))
    assert dlg.out.text().endswith("scalpdesk-week-to-2024-08-11.pdf")
    r = _write(qtbot, dlg)
    assert (r["from"][:10], r["to"][:10], r["signals"]) == ("2024-08-05", "2024-08-12", 6)
    dlg.custom.setChecked(True)
    assert dlg.start_edit.isVisible() and not dlg.day_edit.isVisible()
    dlg.start_edit.setDate(QDate(2024, 8, 6))
    dlg.end_edit.setDate(QDate(2024, 8, 9))
    r = _write(qtbot, dlg)
    assert (r["from"][:10], r["to"][:10], r["signals"]) == ("2024-08-06", "2024-08-10", 0)
    assert "nothing to report" in _text(r["out"])
    assert r["out"] in dlg.done_label.text() and dlg.open_button.isEnabled()
    dlg.start_edit.setDate(QDate(2024, 8, 12))
    dlg.run_button.click()
    assert dlg.job is None and dlg.status.text() == "Period: the first day is after the last day."


def test_pdf_of_a_finished_backtest_run(qtbot, qtmodeltester, run_id, tmp_path):
    dlg = _open(qtbot, PdfExportDialog)
    qtmodeltester.check(dlg.runs.model)
    row = dlg.runs.model.row_dict(0)
    assert row["id"] == run_id and row["verdict"] and row["source"] == "SIMULATED" and row["signals"] > 0
    dlg.run.setChecked(True)
    assert dlg.form.isRowVisible(dlg.runs) and not dlg.form.isRowVisible(dlg.period_row)
    assert dlg.out.text().endswith(f"scalpdesk-backtest-run-{run_id}.pdf")
    dlg.out.setText(str(tmp_path / "mine"))  # the user's own name keeps, the suffix is added
    r = _write(qtbot, dlg)
    assert r["out"] == str(tmp_path / "mine.pdf") and r["run_id"] == run_id
    text = _text(r["out"])
    assert f"backtest report (run {run_id})" in text and "SIMULATED" in text and row["verdict"] in text
    assert f"backtest run {run_id}" in dlg.done_label.text()


def test_csv_of_a_run_or_of_live_signals_with_iso_times(qtbot, run_id, tmp_path):
    _fill(paths.default_db_path(), 3)
    dlg = _open(qtbot, CsvExportDialog)
    assert dlg.out.text().endswith("scalpdesk-live-signals.csv")
    r = _write(qtbot, dlg)
    rows = list(csv.DictReader(Path(r["out"]).read_text(encoding="utf-8").splitlines()))
    assert r["rows"] == len(rows) == 3 and rows[0]["signal_time"] == "2024-08-05T00:00:00+00:00"
    assert "3 live signals written to" in dlg.done_label.text()
    dlg.run.setChecked(True)
    assert dlg.out.text().endswith(f"scalpdesk-backtest-run-{run_id}-signals.csv")
    r = _write(qtbot, dlg)
    rows = list(csv.DictReader(Path(r["out"]).read_text(encoding="utf-8").splitlines()))
    assert rows and {x["run_id"] for x in rows} == {str(run_id)}
    assert all(dt.datetime.fromisoformat(x["signal_time"]).utcoffset() == dt.timedelta(0) for x in rows)
