"""The strategy search dialog: progress, trials, heat map of training expectancy, Apply only when passed."""

from __future__ import annotations

import json

import pytest

from app import paths
from app.market.simulated import SimParams, generate
from app.settings import load
from app.ui.search_dialog import SearchDialog
from app.ui.workers import JobManager
from tests.conftest import write_csv


def _files(tmp_path, momentum):
    return [write_csv(tmp_path, c) for c in generate(["SOL/USDT", "DOGE/USDT", "AVAX/USDT"], "5m", 60_000, seed=10,
                                                     params=SimParams(momentum=momentum)).values()]


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_search_dialog_shows_the_grid_and_applies_only_a_pass(qtbot, qtmodeltester, tmp_path, momentum):
    paths.user_config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.user_config_file().write_text(json.dumps({"risk": {"target_cost_multiple": 0}}))
    dlg = SearchDialog(JobManager(), load())
    qtbot.addWidget(dlg)
    dlg.files = _files(tmp_path, momentum)
    dlg.open()
    with qtbot.waitSignal(dlg.job_done, timeout=240_000):
        dlg.run_button.click()
    r = dlg.result
    assert dlg.trials.text() == f"Trials: {r['trials']:,}" and r["trials"] == 648
    assert r["message"] in dlg.words.text()
    qtmodeltester.check(dlg.heat)
    assert dlg.heat.rowCount() == 8 and dlg.heat.columnCount() == 9  # min scores x (stop, target)
    marked = [dlg.heat.index(i, j).data() for i in range(8) for j in range(9)]
    assert sum(str(x).startswith("★") for x in marked) == 1  # the chosen setting, on its slice
    assert dlg.apply_button.isEnabled() == r["passed"]
    before = paths.user_config_file().read_text()
    if r["passed"]:
        with qtbot.waitSignal(dlg.applied, timeout=10_000):
            dlg.apply_button.click()
        saved = json.loads(paths.user_config_file().read_text())
        assert saved["confluence"]["provenance"]["kind"] == "strategy search"
    else:
        assert paths.user_config_file().read_text() == before
    assert r["passed"] == (momentum > 0)
