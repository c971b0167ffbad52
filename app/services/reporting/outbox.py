"""Work that leaves the app runs here, in its own threads, never on the scan path.

- `Outbox`: tasks (reports, e-mail, backups) on one thread. A bounded queue: when it is full a task is dropped and
  counted, never blocking the caller. A slow SMTP server or a long PDF delays only the tasks behind it.
- `AlertQueue`: messages of one channel (Telegram alerts), persistent in the database, retried with backoff.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.errors import ScalpDeskError

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

    def pending(self) -> list[str]:
        """The names of the tasks queued or running."""
        with self._lock:
            return sorted(self._pending)

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

    def close(self, timeout: float = 5.0) -> bool:
        """Finish what is queued, then stop the thread: never longer than `timeout` seconds in all, even with a full
        queue behind a task that hangs. True when the thread has ended; False when time ran out (the thread is a
        daemon: what it still runs ends with the process, what it had not started is not done)."""
        deadline = time.monotonic() + max(0.0, timeout)
        thread = self._thread
        if thread is None or not thread.is_alive():
            return True
        try:
            self._queue.put(None, timeout=max(0.0, deadline - time.monotonic()))
        except queue.Full:
            return False
        thread.join(max(0.0, deadline - time.monotonic()))
        return not thread.is_alive()


class AlertQueue:
    """Messages of one channel (e.g. Telegram alerts) on their way out: `post` never blocks the caller; a sender
    thread stores each message in the database's outbox table (so it survives an exit or a crash and is sent at
    the next start), sends the oldest due one, and retries failures with backoff. Bounded: past `maxsize` waiting
    messages the oldest are dropped, and every drop is counted (`dropped`, also kept in the database)."""

    def __init__(self, send: Callable[[str], object], channel: str, db_path: Path | None = None,
                 maxsize: int = 1000, max_attempts: int = 12, clock: Callable[[], float] = time.time,
                 late_after_s: float = 120.0) -> None:
        self._send, self.channel, self.db_path = send, channel, db_path
        self.maxsize, self.max_attempts, self._clock, self.late_after_s = maxsize, max_attempts, clock, late_after_s
        self._handoff: deque[str] = deque()  # posted, not yet stored (bounded like the table: oldest dropped)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._deadline = 0.0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._unsaved_drops = 0
        self.sent = self.failed = self.dropped = 0
        self.last_error = ""
        if db_path is not None and db_path.exists():
            self._start()  # messages left by an earlier session go out now

    def post(self, text: str) -> None:
        with self._lock:
            self._handoff.append(text)
            full = len(self._handoff) > self.maxsize
            if full:
                self._handoff.popleft()
                self.dropped += 1
                self._unsaved_drops += 1
        if full:
            log.warning("%s: queue full, the oldest message was dropped (%d so far)", self.channel, self.dropped)
        self._start()
        self._wake.set()

    def counts(self, db: Any = None) -> dict[str, int]:
        """{queued, sent, dropped, failed}: over every session for a database-backed queue, else this one's. `db`: an
        open connection to the same database file (else one is opened for the call)."""
        if self.db_path is not None and self.db_path.exists():
            from app.storage import outbox as repo
            from app.storage.db import Database

            try:
                if db is not None:
                    out = repo.counts(db, self.channel)
                else:
                    with Database(self.db_path) as own:
                        out = repo.counts(own, self.channel)
                out["queued"] += len(self._handoff)
                return out
            except ScalpDeskError:
                pass
        return {"queued": len(self._handoff), "sent": self.sent, "dropped": self.dropped, "failed": self.failed}

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping.clear()
                self._thread = threading.Thread(target=self._run, name=f"{self.channel}-queue", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        from app.storage import outbox as repo
        from app.storage.db import Database

        try:
            db = Database(self.db_path if self.db_path is not None else ":memory:")
        except ScalpDeskError as exc:
            self.last_error = str(exc)
            log.error("%s: the queue cannot open its database: %s", self.channel, exc)
            return
        try:
            while True:
                self._store(db, repo)
                now_ms = int(self._clock() * 1000)
                item = repo.next_due(db, self.channel, now_ms)
                if item is None:
                    if self._stopping.is_set():
                        return
                    nxt = repo.next_try(db, self.channel)
                    wait = 1.0 if nxt is None else min(1.0, max(0.01, (nxt - now_ms) / 1000))
                    self._wake.wait(wait)
                    self._wake.clear()
                    continue
                if self._stopping.is_set() and time.monotonic() > self._deadline:
                    return  # what is left stays queued in the database for the next start
                self._deliver(db, repo, item)
        except ScalpDeskError as exc:  # the database became unusable: say so, the messages stay where they are
            self.last_error = str(exc)
            log.error("%s: queue stopped: %s", self.channel, exc)
        finally:
            db.close()

    def _store(self, db: Any, repo: Any) -> None:
        with self._lock:
            batch = list(self._handoff)
            self._handoff.clear()
            drops, self._unsaved_drops = self._unsaved_drops, 0
        if batch:
            dropped = repo.enqueue(db, self.channel, batch, self.maxsize, int(self._clock() * 1000))
            if dropped:
                self.dropped += dropped
                log.warning("%s: queue full, %d old messages dropped", self.channel, dropped)
        if drops:
            with db.transaction() as conn:
                repo._bump(conn, self.channel, "dropped", drops)

    def _deliver(self, db: Any, repo: Any, item: Any) -> None:
        from app.services.reporting.notifier import NotifyError

        text = item.payload
        age = self._clock() - item.created_at / 1000
        if age > self.late_after_s:
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(item.created_at / 1000))
            text += f"\n<i>(queued {when} UTC, sent late)</i>"
        try:
            self._send(text)
        except NotifyError as exc:
            self.last_error = str(exc)
            if exc.retryable and item.attempts + 1 < self.max_attempts:
                backoff = min(3600.0, 30.0 * 2 ** item.attempts)
                repo.retry_later(db, item.id, int((self._clock() + backoff) * 1000), str(exc))
                log.warning("%s: %s (try %d, again in %.0f s)", self.channel, exc, item.attempts + 1, backoff)
            else:
                repo.give_up(db, self.channel, item.id, str(exc))
                self.failed += 1
                log.warning("%s: message given up: %s", self.channel, exc)
            return
        repo.sent(db, self.channel, item.id)
        self.sent += 1

    def close(self, timeout: float = 5.0) -> bool:
        """Send what is due, then stop: never longer than `timeout` seconds, even when a send hangs. What is not sent
        stays queued in the database for the next start (messages posted while the sender hung are stored here
        first). True when the sender thread has ended."""
        deadline = time.monotonic() + max(0.0, timeout)
        thread = self._thread
        if thread is None or not thread.is_alive():
            if not self._handoff:
                return True
            self._start()
            thread = self._thread
        self._deadline = deadline
        self._stopping.set()
        self._wake.set()
        if thread is None:
            return True
        store_s = 0.25 if self.db_path is not None else 0.0  # kept back to store what the sender could not
        thread.join(max(0.0, deadline - time.monotonic() - store_s))
        if not thread.is_alive():
            return True
        self._store_left()
        return False

    def _store_left(self) -> None:
        """The sender is stuck in a send: the messages posted meanwhile go to the database from here, so an exit
        does not lose them (the sender takes from the same hand-off under the lock: none is stored twice)."""
        if self.db_path is None or not (self._handoff or self._unsaved_drops):
            return
        from app.storage import outbox as repo
        from app.storage.db import Database

        try:
            with Database(self.db_path) as db:
                self._store(db, repo)
        except ScalpDeskError as exc:
            self.last_error = str(exc)
            log.error("%s: %d messages could not be stored at exit: %s", self.channel, len(self._handoff), exc)
