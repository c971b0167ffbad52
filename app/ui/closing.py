"""Closing the window without freezing it, and never for longer than a deadline.

The first close is refused: the scanner is asked to stop (its cycle in progress is cancelled at the next feed, then
its session closes: alerts and tasks get what time is left), running jobs are cancelled, and the status bar says so.
The window keeps painting meanwhile. When everything has ended, the window closes. At the deadline, what is still
running is logged (with where its thread is) and kept referenced until it ends by itself, and the window closes
anyway; the app's exit then leaves without destroying it (app.ui.app). Nothing stored is lost either way: every
signal and outcome was committed in its own transaction, queued alerts wait in the database, and a cycle that had
not committed is redone from the stored feed positions at the next start.

With no event loop running (a script or a test calls `close()` after `exec()` returned), the close waits here in a
local event loop, bounded by the same deadline.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, QThread, QTimer, Slot

from app.ui.workers import abandon

log = logging.getLogger(__name__)

CLOSE_DEADLINE_S = 10.0
STOPPING_TEXT = "Stopping the scanner…"


class Closer(QObject):
    def __init__(self, window: Any, deadline_s: float = CLOSE_DEADLINE_S) -> None:
        super().__init__(window)
        self.window = window
        self.deadline_s = deadline_s
        self.started = False
        self.finished = False
        self.forced = False  # the deadline passed with something still running
        self.left: list[str] = []  # what was still running then
        self.started_at = 0.0
        self.sync = False  # no event loop runs: the close waits in wait() instead of being refused
        self._beginning = False  # inside begin(), itself inside the close event: that close is accepted directly
        self._loop: QEventLoop | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(self.check)
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(self.give_up)

    def begin(self) -> None:
        """Ask everything to stop; returns at once."""
        if self.started:
            return
        self.started = True
        self.started_at = time.monotonic()
        w = self.window
        w.statusBar().showMessage(f"{STOPPING_TEXT} The window closes when it has stopped (at most "
                                  f"{self.deadline_s:g} s).")
        self._beginning = True
        try:
            w.jobs.cancel_all()
            w.source.stop_later(self.check, self.deadline_s)
            self._deadline.start(int(self.deadline_s * 1000))
            self._poll.start()  # the jobs have no signal of their own when they end: looked at 10 times a second
            self.check()
        finally:
            self._beginning = False

    @property
    def done(self) -> bool:
        return not self.window.source.running and not self.window.jobs.active()

    @Slot()
    def check(self) -> None:
        if self.started and not self.finished and self.done:
            log.info("closing: everything stopped in %.1f s", time.monotonic() - self.started_at)
            self._finish()

    @Slot()
    def give_up(self) -> None:
        """The deadline: log what is still running, keep it alive until it ends, close anyway."""
        if self.finished:
            return
        w = self.window
        self.left = w.source.describe_running() + [job.describe() for job in w.jobs.active()]
        log.error("closing after %.0f s with work still running (it is left to end on its own; nothing committed "
                  "is lost, an uncommitted cycle is redone at the next start):\n%s", self.deadline_s,
                  "\n".join(self.left))
        w.source.give_up()
        for job in w.jobs.active():
            abandon(job)
        self.forced = True
        self._finish()

    def _finish(self) -> None:
        self.finished = True
        self._poll.stop()
        self._deadline.stop()
        if self._loop is not None:
            self._loop.quit()  # the close waiting in wait() goes on
        elif not self.sync and not self._beginning:
            QTimer.singleShot(0, self.window, self.window.close)  # the close that was refused, again: now accepted

    @staticmethod
    def loop_running() -> bool:
        return QThread.currentThread().loopLevel() > 0

    def wait(self) -> None:
        """No event loop runs to finish the close later: run one here until it is finished (at most the deadline)."""
        if self.finished:
            return
        self._loop = QEventLoop()
        try:
            self._loop.exec()
        finally:
            self._loop = None
