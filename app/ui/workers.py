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
POLL_MS = 100  # how often the worker looks for closed candles of a streaming source


class PipelineWorker(QObject):
    """Holds the live session (app.session.live) in its own thread: the one writer of the live tables. It builds
    nothing itself; saved settings reach the session at its next cycle."""

    snapshot_ready = Signal(object)
    chart_ready = Signal(object)  # app.services.live.chart_data.ChartData
    why_ready = Signal(object)  # app.services.live.why.WhyReport (None: the signal is not recorded)
    failed = Signal(str)
    cycle_finished = Signal(int)
    settings_applied = Signal(object)  # the lines describing what changed
    notice = Signal(str)  # something the user should read once (a replay played to its end)

    def __init__(self, settings: Any, db_path: Path, model_path: Path, interval_s: float | None = None,
                 spec: Any = None) -> None:
        super().__init__()
        self.settings = settings
        self.db_path = db_path
        self.model_path = model_path
        self.interval_override = interval_s
        self.spec = spec
        self._timer: QTimer | None = None
        self._poll: QTimer | None = None
        self._last_mark = 0.0
        self.session: Any = None
        self.desk: Any = None
        self._chart_key: Any = None

    @property
    def pipeline(self) -> Any:
        return self.session.pipeline if self.session is not None else None

    @Slot()
    def start(self) -> None:
        from app.session.desk import Desk
        from app.session.live import LiveSession

        try:
            self.session = LiveSession(self.settings, self.db_path, self.model_path, self.spec, alerts=True,
                                       reports=True)
        except Exception as exc:  # shown to the user, never lost
            log.exception("pipeline failed to start")
            self.failed.emit(f"The scanner could not start: {exc}")
            return
        self.desk = Desk(self.session)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.cycle)
        self._restart_timer()
        self._poll = QTimer(self)
        self._poll.timeout.connect(self.poll)
        self._poll.start(POLL_MS)
        self.cycle()

    def _restart_timer(self) -> None:
        if self._timer is not None and self.session is not None:
            interval = self.interval_override if self.interval_override is not None else self.session.interval_s
            self._timer.start(max(50, int(interval * 1000)))

    @Slot()
    def cycle(self) -> None:
        from app.errors import ScalpDeskError

        if self.session is None:
            return
        try:
            before = self.session.settings
            result = self.session.cycle()
            if self.session.settings is not before:
                self.settings = self.session.settings
                self.settings_applied.emit(list(self.session.changes))
                self._restart_timer()
            snap = self.desk.snapshot()
        except ScalpDeskError as exc:
            self.failed.emit(str(exc))
            return
        self.snapshot_ready.emit(snap)
        self.cycle_finished.emit(result.new_candles)
        if self.session.finished:  # a replay played all its candles: the desk stays as it ended
            if self._timer is not None:
                self._timer.stop()
            self.notice.emit(f"{self.session.label}: every candle has been played; the desk shows where it ended.")
            return
        advance = getattr(self.session.source, "advance", None)  # a replay as fast as possible: the next step
        if advance is not None:
            advance()

    @Slot()
    def poll(self) -> None:
        """A streaming source: a cycle as soon as candles have closed (a signal within a second of the close), and
        prices marked on the open signals and a fresh snapshot (prices, connection) once a second. Other sources
        only cycle on the interval timer."""
        from app.errors import ScalpDeskError

        session = self.session
        if session is None or not session.streams:
            return
        if session.has_update():
            session.settle()
            self.cycle()
            return
        now = time.monotonic()
        if now - self._last_mark < 1.0:
            return
        self._last_mark = now
        try:
            session.mark_quotes()
            session.check_connection()
            snap = session.snapshot()
        except ScalpDeskError as exc:
            self.failed.emit(str(exc))
            return
        self.snapshot_ready.emit(snap)

    @Slot(object)
    def apply_settings(self, new: Any) -> None:
        """Saved settings: used from the next cycle (which runs now, so the window shows the effect at once)."""
        if self.session is None:
            self.settings = new
            return
        self.session.apply_settings(new)
        self.cycle()

    @Slot(object)
    def request_chart(self, request: Any) -> None:
        """(symbol, timeframe, force): the chart of a pair, sent when it differs from the last one sent (or when
        forced: the window switched pairs)."""
        if self.desk is None:
            return
        symbol, timeframe, force = request
        data = self.desk.chart(symbol, timeframe or None)
        if data is None:
            return
        if force or data.key != self._chart_key:
            self._chart_key = data.key
            self.chart_ready.emit(data)

    @Slot(int)
    def request_why(self, signal_id: int) -> None:
        if self.desk is not None:
            self.why_ready.emit(self.desk.why(signal_id))

    @Slot()
    def reload(self) -> None:
        """After training or a new backtest: reload the model and the accuracy table."""
        if self.session is not None:
            self.session.reload_research()

    @Slot()
    def stop(self) -> None:
        for timer in (self._timer, self._poll):  # stopped and destroyed in this (the worker's) thread
            if timer is not None:
                timer.stop()
                timer.setParent(None)
        self._timer = self._poll = None
        if self.session is not None:
            self.session.close()
            self.session = None
            self.desk = None

    @Slot()
    def stop_and_quit(self) -> None:
        """Stop, then end the thread (the window then starts another source)."""
        self.stop()
        thread = self.thread()
        if thread is not None:
            thread.quit()


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

    def stop_later(self, then: Callable[[], None]) -> None:
        """Stop without blocking the window; `then` runs (in the GUI thread) once the thread has ended."""
        if not self.thread.isRunning():
            then()
            return
        self.thread.finished.connect(then)
        QMetaObject.invokeMethod(self.worker, "stop_and_quit", Qt.ConnectionType.QueuedConnection)


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
