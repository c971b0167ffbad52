"""Workers: the live pipeline in its own QThread, and long jobs in a pool with progress and cancel.

The GUI thread never touches the network, the disk or a model: workers publish immutable snapshots
through queued signals, and the window applies the latest one on its 1 s timer.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMetaObject, QObject, QRunnable, Qt, QThread, QThreadPool, QTimer, Signal, Slot

log = logging.getLogger(__name__)


class PipelineWorker(QObject):
    """Owns the database connection that writes live tables (one writer), the tracker and the scanner."""

    snapshot_ready = Signal(object)
    candles_ready = Signal(object)
    failed = Signal(str)
    cycle_finished = Signal(int)

    def __init__(self, settings: Any, db_path: Path, model_path: Path, interval_s: float | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.db_path = db_path
        self.model_path = model_path
        self.interval_s = interval_s if interval_s is not None else settings.scanner.interval_s
        self._timer: QTimer | None = None
        self.pipeline: Any = None
        self.offline_reason = ""

    @Slot()
    def start(self) -> None:
        try:
            self._build()
        except Exception as exc:  # shown to the user, never lost
            log.exception("pipeline failed to start")
            self.failed.emit(f"The scanner could not start: {exc}")
            return
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.cycle)
        self._timer.start(int(self.interval_s * 1000))
        self.cycle()

    def _build(self) -> None:
        from app.core.outcomes import Costs
        from app.core.signals import EngineConfig
        from app.market import sources
        from app.ml.filter import load_filter
        from app.services.accuracy import AccuracyTable
        from app.services.pipeline import LivePipeline
        from app.services.tracker import LiveSignalTracker
        from app.storage.db import Database

        s = self.settings
        sc = s.scanner
        self.db = Database(self.db_path)
        self.costs = Costs(s.fees.taker_pct, s.fees.slippage_pct)
        cfg = EngineConfig.from_settings(s)
        source: Any = None
        if sc.source == "exchange":
            try:
                ex = sources.ExchangeSource(sc.exchange, watch=list(sc.symbols))
                ex.client.load_markets()
                source = ex
            except Exception as exc:
                self.offline_reason = str(exc)
        if source is None:
            source = sources.SimSource(list(sc.symbols), sc.timeframe, sc.sim_seed, history=sc.history_candles)
        self.source = source
        self.label = source.label if not self.offline_reason else \
            f"OFFLINE ({self.offline_reason[:80]}) — {source.label}"
        tracker = LiveSignalTracker(self.db, self.costs, cfg.max_hold, cfg.sl_atr, cfg.tp_atr, source=source.label)
        self.ml = load_filter(self.model_path, s)
        self.accuracy = AccuracyTable.from_db(self.db)
        self.pipeline = LivePipeline(source, list(sc.symbols), sc.timeframe, cfg, tracker, self.ml,
                                     s.ml.min_probability, history=sc.history_candles,
                                     max_buffer=sc.history_candles * 5)
        self.last_scan_ms: int | None = None
        from app.services.notifier import from_settings

        self.telegram, self.email, problems = from_settings(s)
        for problem in problems:
            log.warning("notifications: %s", problem)
        if self.telegram is not None:
            from app.services.notifier import alert_listener

            tracker.subscribe(alert_listener(self.telegram, s, lambda score: self.accuracy.text(score)))
        from app.services.dashboard import ClosedHistory

        self.history = ClosedHistory(self.db, source.label)
        tracker.subscribe(self.history.on_event)
        self._next_report_check = 0.0

    def _scheduled_reports(self) -> None:
        """Daily/weekly reports at their times; one missed while the app was closed is made now, once."""
        from app import paths
        from app.services.scheduler import run_due

        if time.time() < self._next_report_check:
            return
        self._next_report_check = time.time() + 600
        folder = Path(self.settings.reports.folder) if self.settings.reports.folder else paths.reports_dir()
        try:
            for pdf in run_due(self.db_path, folder, self.settings):
                log.info("scheduled report written: %s", pdf)
                if self.email is not None:
                    self.email.send(f"ScalpDesk report {pdf.stem}", "The report is attached.", pdf)
        except Exception as exc:  # a report problem must not stop the scanner
            log.warning("scheduled report failed: %s", exc)

    @Slot()
    def cycle(self) -> None:
        from app.errors import ScalpDeskError
        from app.services import dashboard

        if self.pipeline is None:
            return
        try:
            result = self.pipeline.cycle()
            self.last_scan_ms = int(time.time() * 1000)
            errors = {s: st.message for s, st in self.pipeline.status.items() if st.state == "error"}
            snap = dashboard.build(self.db, self.history, self.accuracy, self.costs, self.ml.status,
                                   self.last_scan_ms, errors, time.time(), label=self.label)
        except ScalpDeskError as exc:
            self.failed.emit(str(exc))
            return
        self.snapshot_ready.emit(snap)
        self.cycle_finished.emit(result.new_candles)
        self._scheduled_reports()

    @Slot(str)
    def request_candles(self, symbol: str) -> None:
        buf = self.pipeline.buffers.get(symbol) if self.pipeline is not None else None
        if buf is not None:
            self.candles_ready.emit((symbol, buf))

    @Slot()
    def reload(self) -> None:
        """After training or a new backtest: reload the model and the accuracy table."""
        from app.ml.filter import load_filter
        from app.services.accuracy import AccuracyTable

        if self.pipeline is None:
            return
        self.ml = load_filter(self.model_path, self.settings)
        self.pipeline.ml = self.ml
        self.accuracy = AccuracyTable.from_db(self.db)

    @Slot()
    def stop(self) -> None:
        if self._timer is not None:  # stopped and destroyed in this (the worker's) thread
            self._timer.stop()
            self._timer.setParent(None)
            self._timer = None
        telegram = getattr(self, "telegram", None)
        if telegram is not None:
            telegram.close(timeout=2.0)
        if self.pipeline is not None:
            self.db.close()
            self.pipeline = None


class PipelineThread:
    """The worker moved to a QThread, started and stopped cleanly."""

    def __init__(self, worker: PipelineWorker) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("pipeline")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.start)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.isRunning():
            QMetaObject.invokeMethod(self.worker, "stop", Qt.ConnectionType.BlockingQueuedConnection)
            self.thread.quit()
            self.thread.wait(10_000)


class JobSignals(QObject):
    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()


class Job(QRunnable):
    """A long job (backtest, training, optimisation, report) in the thread pool; `fn(progress, cancel)`."""

    def __init__(self, kind: str, fn: Callable[[Callable[[float, str], None], threading.Event], Any]) -> None:
        super().__init__()
        self.kind = kind
        self.fn = fn
        self.cancel_event = threading.Event()
        self.signals = JobSignals()
        self.setAutoDelete(False)

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        from app.errors import CancelledError, ScalpDeskError

        try:
            result = self.fn(lambda f, m: self.signals.progress.emit(float(f), str(m)), self.cancel_event)
        except CancelledError:
            self.signals.cancelled.emit()
        except ScalpDeskError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:
            log.error("job %s failed:\n%s", self.kind, traceback.format_exc())
            self.signals.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.signals.finished.emit(result)


class JobManager:
    """One job per kind at a time."""

    def __init__(self, pool: QThreadPool | None = None) -> None:
        self.pool = pool or QThreadPool.globalInstance()
        self.running: dict[str, Job] = {}

    def submit(self, job: Job) -> bool:
        if job.kind in self.running:
            return False
        self.running[job.kind] = job

        def done(*_: Any) -> None:
            self.running.pop(job.kind, None)

        for sig in (job.signals.finished, job.signals.failed, job.signals.cancelled):
            sig.connect(done)
        self.pool.start(job)
        return True
