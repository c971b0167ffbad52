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


def test_pipeline_worker_on_a_stream_cycles_on_the_close_and_publishes_prices_and_connection(qtbot, tmp_path,
                                                                                           settings):
    """The scan interval is an hour: only the closed candle can start the cycle; between closes the worker publishes
    a snapshot with the streamed prices and the connection state once a second."""
    from app.session.live import SourceSpec
    from app.ui.workers import PipelineThread, PipelineWorker
    from tests.stream_harness import START, TF, Exchange, market

    data = market(2, 500, seed=9)
    with Exchange(data, START + 400 * TF + 5_000) as ex:
        spec = SourceSpec(symbols=tuple(sorted(data)), timeframe="1m", **ex.spec_kwargs())
        s = settings.replace({"scanner.interval_s": 3600, "scanner.history_candles": 300,
                              "scanner.timeframe": "1m"})
        worker = PipelineWorker(s, tmp_path / "live.sqlite", tmp_path / "model.joblib", spec=spec)
        snaps, cycles = [], []
        worker.snapshot_ready.connect(snaps.append)
        worker.cycle_finished.connect(cycles.append)
        thread = PipelineThread(worker)
        thread.start()
        try:
            qtbot.waitUntil(lambda: worker.session is not None and len(worker.session.pipeline.buffers) == 2,
                            timeout=30_000)
            qtbot.waitUntil(lambda: len(ex.ws.subscribed()) == 4, timeout=10_000)
            ex.ws.advance(ex.now_ms + 30_000)  # forming updates and book tickers, no close
            qtbot.waitUntil(lambda: bool(snaps) and snaps[-1].connection.state == "connected"
                            and len(snaps[-1].quotes) == 2 and snaps[-1].quotes["BTC/USDT"].bid is not None,
                            timeout=10_000)
            q = snaps[-1].quotes["BTC/USDT"]
            assert q.bid is not None and q.ask is not None and q.bid < q.ask
            before = len(cycles)
            ex.ws.advance((ex.now_ms // TF + 1) * TF + 500)  # the close
            qtbot.waitUntil(lambda: any(n > 0 for n in cycles[before:]), timeout=10_000)
        finally:
            thread.stop()
