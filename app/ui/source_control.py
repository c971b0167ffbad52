"""The window's live source: a pipeline worker in its own thread, restarted on another source (a replay, the
simulated market the trader chose, the settings' source again) without blocking the window. The window connects to
this object once; whichever worker runs, its signals come through here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.ui.workers import STOP_TIMEOUT_S, PipelineThread, PipelineWorker


class SourceControl(QObject):
    snapshot_ready = Signal(object)
    chart_ready = Signal(object)
    why_ready = Signal(object)
    failed = Signal(str)
    notice = Signal(str)
    cycle_finished = Signal(int)
    settings_applied = Signal(object)
    restarted = Signal(object)  # the new spec (None: the settings' source)
    # to the worker (queued into its thread)
    request_chart = Signal(object)
    request_why = Signal(int)
    reload = Signal()
    apply_settings = Signal(object)

    def __init__(self, settings: Any, db_path: Path, model_path: Path, interval_s: float | None = None,
                 spec: Any = None, parent: Any = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.db_path = db_path
        self.model_path = model_path
        self.interval_s = interval_s
        self.spec = spec
        self._next: Any = None
        self._stopping: list[PipelineThread] = []  # workers of earlier sources still ending (a switch)
        self.closing = False  # the window is closing: no new worker starts
        self.worker, self.runner = self._make(spec)

    def _make(self, spec: Any) -> tuple[PipelineWorker, PipelineThread]:
        worker = PipelineWorker(self.settings, self.db_path, self.model_path, self.interval_s, spec=spec)
        for ours, theirs in ((self.snapshot_ready, worker.snapshot_ready), (self.chart_ready, worker.chart_ready),
                             (self.why_ready, worker.why_ready), (self.failed, worker.failed),
                             (self.notice, worker.notice), (self.cycle_finished, worker.cycle_finished),
                             (self.settings_applied, worker.settings_applied)):
            theirs.connect(ours)
        self.request_chart.connect(worker.request_chart)
        self.request_why.connect(worker.request_why)
        self.reload.connect(worker.reload)
        self.apply_settings.connect(worker.apply_settings)
        return worker, PipelineThread(worker)

    def start(self) -> None:
        if not self.closing:  # (the start is deferred until the window has shown; it may have closed by then)
            self.runner.start()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Blocking, at most `timeout_s`: every worker asked to stop and waited for. False when one did not stop in
        time (logged; it is kept referenced until it ends)."""
        self.closing = True
        ok = True
        for runner in self.runners():
            ok = runner.stop(timeout_s) and ok
        return ok

    def stop_later(self, then: Callable[[], None], timeout_s: float = STOP_TIMEOUT_S) -> None:
        """The window is closing: every worker asked to stop (the cycle in progress is cancelled at its next feed)
        without blocking; `then` runs in the GUI thread each time one of them has ended (check `running`)."""
        self.closing = True
        for runner in self.runners():
            runner.stop_later(then, timeout_s)

    def runners(self) -> list[PipelineThread]:
        return [*(r for r in self._stopping if r.alive and r is not self.runner), self.runner]

    @property
    def running(self) -> bool:
        return any(r.alive for r in self.runners())

    def describe_running(self) -> list[str]:
        return [r.describe() for r in self.runners() if r.alive]

    def give_up(self) -> None:
        """The window stops waiting: the workers still running are kept alive until they end."""
        for runner in self.runners():
            if runner.alive:
                runner.give_up()

    def switch(self, spec: Any) -> None:
        """Stop the running worker (in its thread) and start one on `spec` once it has ended."""
        self._next = spec
        old = self.worker
        for sig in (self.request_chart, self.request_why, self.reload, self.apply_settings):
            sig.disconnect()
        for theirs in (old.snapshot_ready, old.chart_ready, old.why_ready, old.failed, old.notice,
                       old.cycle_finished, old.settings_applied):
            theirs.disconnect()
        self._stopping.append(self.runner)
        self.runner.stop_later(self._start_next)

    @Slot()
    def _start_next(self) -> None:
        self._stopping = [r for r in self._stopping if r.alive]
        if self.closing:  # the window closed meanwhile: nothing new starts
            return
        self.spec = self._next
        self.worker, self.runner = self._make(self.spec)
        self.runner.start()
        self.restarted.emit(self.spec)
