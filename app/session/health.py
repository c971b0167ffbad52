"""The app's own reliability, for the status bar: alerts and background tasks that wait or went wrong, and a disk
about to fill. Computed in the session's thread (the GUI thread does no I/O), the disk at most once a minute."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DISK_EVERY_S = 60.0


def notification_status(telegram: Any, outbox: Any, db: Any = None, problems: list[str] | None = None
                        ) -> dict[str, Any]:
    """{telegram: {queued, sent, dropped, failed} over every session of this database (None when Telegram is
    off), telegram_this_session: {sent, dropped, failed} of the running sender, tasks_dropped, tasks_failed (the
    reports, e-mail and backups queue), last_error, problems: why an enabled channel cannot be used}."""
    queue = telegram.queue if telegram is not None else None
    return {"telegram": queue.counts(db) if queue is not None else None,
            "telegram_this_session": {"sent": queue.sent, "dropped": queue.dropped, "failed": queue.failed}
            if queue is not None else None,
            "tasks_dropped": outbox.dropped, "tasks_failed": outbox.failed,
            "last_error": outbox.last_error or (queue.last_error if queue is not None else ""),
            "problems": list(problems or [])}


class DiskWatch:
    """`warning()`: app.paths.low_disk_warning for the database's folder, asked at most every `every_s` seconds
    (the answer in between is the last one)."""

    def __init__(self, folder: Path, every_s: float = DISK_EVERY_S, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.folder = folder
        self.every_s = every_s
        self.clock = clock
        self.checks = 0
        self._at: float | None = None
        self._last: str | None = None

    def warning(self) -> str | None:
        now = self.clock()
        if self._at is None or now - self._at >= self.every_s:
            from app.paths import low_disk_warning

            self._at = now
            self.checks += 1
            self._last = low_disk_warning(self.folder)
        return self._last
