"""Workers: the live pipeline in its own QThread, and long jobs in a pool with progress and cancel.

The GUI thread never touches the network, the disk or a model: workers publish immutable snapshots
through queued signals, and the window applies the latest one on its 1 s timer.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMetaObject, QObject, QRunnable, Qt, QThread, QThreadPool, QTimer, Signal, Slot

log = logging.getLogger(__name__)
POLL_MS = 100  # how often the worker looks for closed candles of a streaming source
STOP_TIMEOUT_S = 10.0  # a stop waits this long at most for the scanner (its cycle, then closing the session)

# Workers still running when their window gave up waiting for them. A QThread destroyed while it runs aborts the
# process, so they are kept here until they end; the app's exit checks `still_running()` and, when something is
# stuck, exits without destroying them (app.ui.app).
_ABANDONED: list[Any] = []


def abandon(thing: Any) -> None:
    """Keep a running PipelineThread or Job alive (referenced) until it ends on its own."""
    _ABANDONED[:] = [t for t in _ABANDONED if t.alive]
    if thing not in _ABANDONED:
        _ABANDONED.append(thing)


def still_running() -> list[str]:
    """What was abandoned and is still running, in words (empty: nothing; the finished ones are released)."""
    _ABANDONED[:] = [t for t in _ABANDONED if t.alive]
    return [t.describe() for t in _ABANDONED]


def thread_stack(ident: int | None) -> str:
    """Where a Python thread is now (its innermost frames), for the log of a stop that timed out."""
    frame = sys._current_frames().get(ident) if ident is not None else None
    if frame is None:
        return ""
    return "".join(traceback.format_stack(frame, limit=8))


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
        # set from the GUI thread (request_stop) while this thread may be busy: the cycle stops at its next feed
        self.cancel = threading.Event()
        self.stop_by: float | None = None  # time.monotonic() by which closing the session must be done
        self.activity = "starting"  # what this thread is doing, for the log of a stop that timed out
        self.activity_since = time.monotonic()
        self.thread_ident: int | None = None

    def _doing(self, what: str) -> None:
        self.activity, self.activity_since = what, time.monotonic()

    def request_stop(self, deadline: float | None = None) -> None:
        """Thread-safe, called from the GUI thread: no new cycle starts and the running one stops at its next feed;
        closing the session then keeps within `deadline` (time.monotonic())."""
        self.stop_by = deadline
        self.cancel.set()
        session = self.session
        if session is not None:
            session.request_stop()

    def describe(self) -> str:
        """What the worker's thread is doing now, and where (its stack), in words."""
        text = f"the scanner ({self.activity}, for {time.monotonic() - self.activity_since:.1f} s)"
        stack = thread_stack(self.thread_ident)
        return f"{text}; it is in:\n{stack}" if stack else text

    @property
    def pipeline(self) -> Any:
        return self.session.pipeline if self.session is not None else None

    @Slot()
    def start(self) -> None:
        from app.session.desk import Desk
        from app.session.live import LiveSession

        self.thread_ident = threading.get_ident()
        self._doing("starting the session")
        try:
            self.session = LiveSession(self.settings, self.db_path, self.model_path, self.spec, alerts=True,
                                       reports=True, cancel=self.cancel)
        except Exception as exc:  # shown to the user, never lost
            log.exception("pipeline failed to start")
            self.failed.emit(f"The scanner could not start: {exc}")
            return
        finally:
            self._doing("idle")
        if self.cancel.is_set():  # the window closed while the session was being built: the queued stop closes it
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

        if self.session is None or self.cancel.is_set():
            return
        self._doing("a scan cycle")
        try:
            before = self.session.settings
            result = self.session.cycle()
            if result.cancelled:
                return
            if self.session.settings is not before:
                self.settings = self.session.settings
                self.settings_applied.emit(list(self.session.changes))
                self._restart_timer()
            snap = self.desk.snapshot()
        except ScalpDeskError as exc:
            self.failed.emit(str(exc))
            return
        finally:
            self._doing("idle")
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
        if session is None or self.cancel.is_set() or not session.streams:
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
        """Close the session within what is left until `stop_by` (STOP_TIMEOUT_S without one)."""
        self.cancel.set()
        for timer in (self._timer, self._poll):  # stopped and destroyed in this (the worker's) thread
            if timer is not None:
                timer.stop()
                timer.setParent(None)
        self._timer = self._poll = None
        if self.session is not None:
            self._doing("closing the session")
            budget = STOP_TIMEOUT_S if self.stop_by is None else self.stop_by - time.monotonic()
            try:
                self.session.close(timeout=max(0.1, budget - 0.5))  # half a second kept for the thread to end
            finally:
                self.session = None
                self.desk = None
                self._doing("stopped")

    @Slot()
    def stop_and_quit(self) -> None:
        """Stop, then end the thread (the window then starts another source)."""
        self.stop()
        thread = self.thread()
        if thread is not None:
            thread.quit()


class PipelineThread:
    """The worker moved to a QThread, started and stopped cleanly, and never waited for without a limit."""

    def __init__(self, worker: PipelineWorker) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("pipeline")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.start)

    def start(self) -> None:
        self.thread.start()

    @property
    def alive(self) -> bool:
        return self.thread.isRunning()

    def describe(self) -> str:
        return self.worker.describe()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Blocking, at most `timeout_s`: the running cycle is cancelled, the session closed in the worker's thread.
        False (logged, and the thread kept referenced until it ends) when the worker did not stop in time."""
        if not self.thread.isRunning():
            return True
        self.worker.request_stop(time.monotonic() + timeout_s)
        QMetaObject.invokeMethod(self.worker, "stop_and_quit", Qt.ConnectionType.QueuedConnection)
        if self.thread.wait(int(timeout_s * 1000)):
            return True
        log.error("gave up waiting %.0f s for %s", timeout_s, self.describe())
        self.give_up()
        return False

    def stop_later(self, then: Callable[[], None], timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop without blocking the window; `then` runs (in the GUI thread: give a slot of a QObject that lives
        there) once the thread has ended. The cycle in progress is cancelled at its next feed."""
        if not self.thread.isRunning():
            then()
            return
        self.thread.finished.connect(then)
        self.worker.request_stop(time.monotonic() + timeout_s)
        QMetaObject.invokeMethod(self.worker, "stop_and_quit", Qt.ConnectionType.QueuedConnection)

    def give_up(self) -> None:
        """The worker did not stop in time: keep it referenced until it ends (destroying a running QThread aborts the
        process). It stops by itself once its current call returns (its stop is queued)."""
        abandon(self)


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
        self.done_event = threading.Event()  # set when run() has returned, however it ended
        self.started_at: float | None = None
        self.signals = JobSignals()
        self.setAutoDelete(False)

    @property
    def alive(self) -> bool:
        """Started and not yet returned."""
        return self.started_at is not None and not self.done_event.is_set()

    def describe(self) -> str:
        since = 0.0 if self.started_at is None else time.monotonic() - self.started_at
        return f"the {self.kind} job ({'cancelled, ' if self.cancel_event.is_set() else ''}running for {since:.1f} s)"

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.done_event.set()

    def _run(self) -> None:
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
        job.started_at = time.monotonic()
        self.pool.start(job)
        return True

    def active(self) -> list[Job]:
        """The jobs whose run() has not returned yet (thread-safe: read from the jobs' own flags)."""
        return [job for job in self.running.values() if job.alive]

    def cancel_all(self) -> None:
        for job in list(self.running.values()):
            job.cancel()
