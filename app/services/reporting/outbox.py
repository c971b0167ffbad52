"""Work that leaves the app (reports, e-mail) runs here, in its own thread, never on the scan path.

A bounded queue: when it is full a task is dropped and counted (the count is shown), never blocking the
caller. A slow SMTP server or a long PDF delays only the tasks behind it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

Task = tuple[str, Callable[[], object]]


class Outbox:
    def __init__(self, maxsize: int = 100, name: str = "outbox") -> None:
        self._queue: queue.Queue[Task | None] = queue.Queue(maxsize=maxsize)
        self._name = name
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.done = 0
        self.failed = 0
        self.dropped = 0
        self.last_error = ""
        self._pending: set[str] = set()

    def submit(self, name: str, fn: Callable[[], object]) -> bool:
        """Queue a task; False (and counted as dropped) when the queue is full or the same task is waiting."""
        with self._lock:
            if name in self._pending:
                return False
            try:
                self._queue.put_nowait((name, fn))
            except queue.Full:
                self.dropped += 1
                log.warning("%s: queue full, task %s dropped", self._name, name)
                return False
            self._pending.add(name)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        return True

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            name, fn = item
            try:
                fn()
                self.done += 1
            except Exception as exc:  # one failed task must not stop the others
                self.failed += 1
                self.last_error = f"{name}: {exc}"
                log.warning("%s: task %s failed: %s", self._name, name, exc)
            finally:
                with self._lock:
                    self._pending.discard(name)

    def close(self, timeout: float = 5.0) -> None:
        """Finish what is queued (up to `timeout` seconds), then stop the thread."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            try:
                self._queue.put(None, timeout=timeout)
            except queue.Full:
                return
            thread.join(timeout)
