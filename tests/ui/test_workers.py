"""Jobs in the pool: finished, failed, cancelled; one job per kind."""

from __future__ import annotations

import time

from app.errors import CancelledError, ScalpDeskError
from app.ui.workers import Job, JobManager


def test_job_reports_progress_and_finishes(qtbot):
    seen = []

    def work(progress, cancel):
        for k in range(5):
            progress(k / 5, f"step {k}")
        return 42

    job = Job("t", work)
    job.signals.progress.connect(lambda f, m: seen.append(m))
    with qtbot.waitSignal(job.signals.finished, timeout=5000) as blocker:
        assert JobManager().submit(job)
    assert blocker.args == [42]
    qtbot.waitUntil(lambda: len(seen) == 5)


def test_job_failure_is_a_message(qtbot):
    def work(progress, cancel):
        raise ScalpDeskError("file.csv: line 3: bad")

    job = Job("t", work)
    with qtbot.waitSignal(job.signals.failed, timeout=5000) as blocker:
        JobManager().submit(job)
    assert "line 3" in blocker.args[0]


def test_cancel_stops_the_job_and_one_job_per_kind(qtbot):
    def work(progress, cancel):
        while not cancel.is_set():
            time.sleep(0.01)
        raise CancelledError("stopped")

    jobs = JobManager()
    job = Job("backtest", work)
    assert jobs.submit(job)
    assert not jobs.submit(Job("backtest", work))  # the same kind is refused while one runs
    with qtbot.waitSignal(job.signals.cancelled, timeout=5000):
        job.cancel()
    qtbot.waitUntil(lambda: "backtest" not in jobs.running)
