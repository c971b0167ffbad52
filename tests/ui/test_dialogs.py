"""Each dialog opens, runs its job on small data and applies its result; the settings dialog validates."""

from __future__ import annotations

import json

import pytest

from app import paths
from app.settings import load
from app.ui.dialogs import BacktestDialog, OptimiseDialog, SettingsDialog, TrainDialog
from app.ui.workers import JobManager


@pytest.fixture(scope="module")
def jobs():
    return JobManager()


def _run(qtbot, dlg, timeout=240_000):
    dlg.open()
    with qtbot.waitSignal(dlg.job_done, timeout=timeout):
        dlg.run_button.click()
    return dlg.result


def test_backtest_train_and_optimise_dialogs(qtbot, jobs):
    settings = load()
    db = paths.default_db_path()
    bt = BacktestDialog(jobs, settings, db)
    qtbot.addWidget(bt)
    bt.sim_candles.setValue(6000)
    r = _run(qtbot, bt)
    assert r["stored_signals"] > 300 and r["simulated"]
    assert "SIMULATED" in bt.summary.text() and bt.buckets.rowCount() == len(r["by_score"])

    tr = TrainDialog(jobs, settings, db, paths.default_model_path())
    qtbot.addWidget(tr)
    r = _run(qtbot, tr)
    assert r["samples"] > 300 and tr.reliability.rowCount() > 0
    assert ("ENABLED" in tr.summary.text()) == r["enabled"]

    opt = OptimiseDialog(jobs, settings, db, "thresholds")
    qtbot.addWidget(opt)
    r = _run(qtbot, opt)
    assert opt.table.rowCount() == 8
    assert opt.apply_button.isEnabled() == bool(r["applicable"])  # only a threshold that made money on the holdout
    if r["applicable"]:
        with qtbot.waitSignal(opt.applied, timeout=5000):
            opt.apply_button.click()
        saved = json.loads(paths.user_config_file().read_text())
        assert saved["confluence"]["min_score"] == r["chosen_threshold"]
        assert saved["confluence"]["provenance"]["run_id"] == r["run_id"]
    else:
        assert not opt.apply_button.isEnabled()

    pat = OptimiseDialog(jobs, load(), db, "patterns")
    qtbot.addWidget(pat)
    r = _run(qtbot, pat)
    assert pat.table.rowCount() == len(r["patterns"])
    assert pat.apply_button.isEnabled() == (not r["message"])


def test_backtest_dialog_cancel_stores_nothing(qtbot, jobs):
    dlg = BacktestDialog(jobs, load(), paths.default_db_path())
    qtbot.addWidget(dlg)
    dlg.sim_candles.setValue(200_000)
    dlg.open()
    dlg.run_button.click()
    dlg.cancel_button.click()
    qtbot.waitUntil(lambda: dlg.job is None, timeout=120_000)
    assert "Cancelled" in dlg.status.text() or "Failed" not in dlg.status.text()


def test_settings_dialog_rejects_invalid_and_saves_valid(qtbot):
    dlg = SettingsDialog(load())
    qtbot.addWidget(dlg)
    dlg.open()
    editor, _ = dlg.editors["confluence.min_score"]
    save = dlg.buttons.button(dlg.buttons.StandardButton.Save)
    editor.setText("150")
    assert not save.isEnabled() and "confluence.min_score" in dlg.error.text()
    editor.setText("abc")
    assert not save.isEnabled() and "must be a number" in dlg.error.text()
    editor.setText("72")
    assert save.isEnabled() and dlg.error.text() == ""
    with qtbot.waitSignal(dlg.saved, timeout=5000):
        save.click()
    assert json.loads(paths.user_config_file().read_text()) == {"confluence": {"min_score": 72.0}}
    assert load().get_min_confluence_score() == 72.0
