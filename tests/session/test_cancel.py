"""Cancel stops a job within a second in every stage (issue 19 item 8): the job reports the cancel within a second,
its worker threads end soon after, and nothing is stored."""

from __future__ import annotations

import glob
import threading
import time

import pytest

from app.errors import CancelledError
from app.session import jobs
from app.storage.db import Database
from tests.cancel_probe import big_csv, cancel_in
from tests.conftest import REAL

JOB_LIMIT_S = 1.0  # what the user sees: the job ends
WORK_LIMIT_S = 1.5  # every worker thread gone (a margin for a loaded test machine; measured ~0.05-0.4 s)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """500,000 rows of CSV take 2.5-5 s to load: longer than the limit, so only the checks can pass the test."""
    return big_csv(tmp_path_factory.mktemp("csv") / "BTC_USDT-1m.csv", 500_000)


def _request() -> jobs.BacktestRequest:
    files = tuple(sorted(glob.glob(str(REAL / "*-5m.feather"))))[:4]
    return jobs.BacktestRequest(files=files) if files else jobs.BacktestRequest(sim_candles=60_000)


def _runs(db_path) -> int:
    if not db_path.exists():
        return 0
    with Database(db_path) as db:
        return db.query("SELECT COUNT(*) AS n FROM backtest_runs")[0]["n"] + \
            db.query("SELECT COUNT(*) AS n FROM backtest_signals")[0]["n"]


@pytest.mark.parametrize("stage, delay", [("loading", 0.3), ("analysing", 0.05), ("baseline", 0.02),
                                          ("storing", 0.02), ("statistics", 0.02)])
def test_backtest_stops_within_a_second_in_every_stage(stage, delay, big_file, settings, tmp_path):
    db = tmp_path / "t.sqlite"
    req = jobs.BacktestRequest(files=(str(big_file),)) if stage == "loading" else _request()
    stopped = cancel_in(stage, lambda ctl: jobs.backtest(settings, db, req, ctl), delay)
    assert stopped.outcome == "cancelled"
    assert stopped.job_s < JOB_LIMIT_S, stopped
    assert stopped.work_s < WORK_LIMIT_S, stopped
    assert _runs(db) == 0  # nothing stored, not even the run's row


def test_control_call_returns_raises_and_is_left_on_cancel():
    ctl = jobs.Control()
    assert ctl.call(lambda: 42) == 42
    with pytest.raises(KeyError):
        ctl.call(lambda: {}["x"])
    release = threading.Event()
    threading.Timer(0.1, ctl.cancel.set).start()
    t0 = time.perf_counter()
    with pytest.raises(CancelledError):
        ctl.call(lambda: release.wait(10))  # a step that cannot see the cancel
    assert time.perf_counter() - t0 < 0.1 + 0.5 + 0.2
    release.set()


def test_a_job_that_ends_within_the_grace_reports_its_own_result():
    ctl = jobs.Control()
    threading.Timer(0.05, ctl.cancel.set).start()
    assert ctl.call(lambda: (time.sleep(0.2), "done")[1]) == "done"
