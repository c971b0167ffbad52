"""Each dialog opens, runs its job on small data and applies its result; the settings dialog validates."""

from __future__ import annotations

import json

import pytest

from app import paths
from app.settings import load
from app.storage.db import Database
from app.ui.dialogs import BacktestDialog, OptimiseDialog, SettingsDialog, TrainDialog
from app.ui.workers import JobManager
from tests.cancel_probe import stage_reached


@pytest.fixture(scope="module")
def jobs():
    return JobManager()


def _run(qtbot, dlg, timeout=240_000):
    dlg.open()
    with qtbot.waitSignal(dlg.job_done, timeout=timeout):
        dlg.run_button.click()
    return dlg.result


def test_backtest_train_and_optimise_dialogs(qtbot, qtmodeltester, jobs):
    settings = load()
    db = paths.default_db_path()
    bt = BacktestDialog(jobs, settings, db)
    qtbot.addWidget(bt)
    bt.sim_candles.setValue(6000)
    r = _run(qtbot, bt)
    assert r["stored_signals"] > 300 and r["simulated"]
    assert "SIMULATED" in bt.summary.text() and bt.buckets.rowCount() == len(r["by_score"])
    for model in (bt.buckets, bt.per_pair, bt.trades):
        qtmodeltester.check(model)

    tr = TrainDialog(jobs, settings, db, paths.default_model_path())
    qtbot.addWidget(tr)
    r = _run(qtbot, tr)
    assert r["samples"] > 300 and tr.reliability.rowCount() > 0
    qtmodeltester.check(tr.reliability)
    assert ("ENABLED" in tr.summary.text()) == r["enabled"]

    opt = OptimiseDialog(jobs, settings, db, "thresholds")
    qtbot.addWidget(opt)
    r = _run(qtbot, opt)
    assert opt.table.rowCount() == 8
    qtmodeltester.check(opt.table)
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
    qtmodeltester.check(pat.table)
    assert pat.apply_button.isEnabled() == (not r["message"])


@pytest.mark.parametrize("stage", ["analysing", "storing"])
def test_backtest_dialog_cancel_stops_within_a_second_and_stores_nothing(qtbot, jobs, stage):
    db = paths.default_db_path()
    dlg = BacktestDialog(jobs, load(), db)
    qtbot.addWidget(dlg)
    dlg.sim_candles.setValue(60_000)
    dlg.open()
    with stage_reached(stage) as reached:
        dlg.run_button.click()
        qtbot.waitUntil(reached.is_set, timeout=120_000)
        dlg.cancel_button.click()
        qtbot.waitUntil(lambda: dlg.job is None, timeout=10_000)
    assert dlg.status.text() == dlg.cancelled_text
    assert dlg.cancel_latency_s is not None and dlg.cancel_latency_s < 1.0
    assert dlg.run_button.isEnabled() and not dlg.cancel_button.isEnabled() and dlg.result is None
    with Database(db) as d:
        assert d.query("SELECT COUNT(*) AS n FROM backtest_runs")[0]["n"] == 0
        assert d.query("SELECT COUNT(*) AS n FROM backtest_signals")[0]["n"] == 0


def test_settings_dialog_rejects_invalid_and_saves_valid(qtbot):
    dlg = SettingsDialog(load())
    qtbot.addWidget(dlg)
    dlg.open()
    editor, _ = dlg.editors["confluence.min_score"]
    save = dlg.buttons.button(dlg.buttons.StandardButton.Save)
    editor.setText("150")
    assert not save.isEnabled()
    assert dlg.error.text() == "Minimum confluence score: 150 is out of range; expected 0 to 100"
    editor.setText("abc")
    assert not save.isEnabled() and dlg.error.text() == "Minimum confluence score: must be a number, got 'abc'"
    editor.setText("72")
    assert save.isEnabled() and dlg.error.text() == ""
    with qtbot.waitSignal(dlg.saved, timeout=5000):
        save.click()
    assert json.loads(paths.user_config_file().read_text()) == {"confluence": {"min_score": 72.0}}
    assert load().get_min_confluence_score() == 72.0
