"""Scheduled reports: daily and weekly at configured times; a report missed while the app was closed is
produced at the next start, once (report_runs remembers what was made)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.services.reporting.outbox import Outbox
from app.storage.db import Database

log = logging.getLogger(__name__)


def due(now: dt.datetime, daily_time: str, weekly_day: int, done: set[tuple[str, str]],
        lookback_days: int = 7, since: dt.date | None = None) -> list[tuple[str, dt.date]]:
    """(period, last day covered) of reports whose time has passed and that were not made yet; none for a day
    before `since` (the day the database began: nothing was recorded before it)."""
    hh, mm = (int(x) for x in daily_time.split(":"))
    latest: dict[str, dt.date] = {}
    for back in range(lookback_days, -1, -1):
        day = (now - dt.timedelta(days=back)).date()
        if since is not None and day < since:
            continue
        if dt.datetime.combine(day, dt.time(hh, mm), tzinfo=now.tzinfo) <= now:
            latest["daily"] = day
            if day.weekday() == weekly_day:
                latest["weekly"] = day
    # only the most recent report of each kind is made up for, and only once
    return [(kind, day) for kind, day in latest.items() if (kind, day.isoformat()) not in done]


def run_due(db_path: Path, folder: Path, settings: Any, now: dt.datetime | None = None,
            send: Callable[[Path], None] | None = None) -> list[Path]:
    """Make every due report; each is marked done only after `send` (e-mail) succeeded, so a report that
    could not be sent is tried again at the next check."""
    from app.services.reporting.pdf import render_report
    from app.storage.live import started_ms

    now = now or dt.datetime.now(dt.UTC)
    with Database(db_path) as db:
        done = {(r[0], r[1]) for r in db.query("SELECT period, period_end FROM report_runs")}
        began = started_ms(db.conn)
    since = None if began is None else dt.datetime.fromtimestamp(began / 1000, now.tzinfo or dt.UTC).date()
    made = []
    for kind, day in due(now, settings.reports.daily_time, settings.reports.weekly_day, done, since=since):
        out = folder / f"scalpdesk-{kind}-{day.isoformat()}.pdf"
        render_report(db_path, out, kind, end=day.isoformat(), settings=settings, now=now)
        if send is not None:
            send(out)
        with Database(db_path) as db:
            db.write("INSERT OR IGNORE INTO report_runs (period, period_end, path, created_at) VALUES (?, ?, ?, ?)",
                     (kind, day.isoformat(), str(out), int(now.timestamp() * 1000)))
        made.append(out)
    return made


class ReportSchedule:
    """Checks every `every_s` seconds whether a daily or weekly report is due; making and mailing it is a task of
    the outbox (its own thread), so the scan cycle that notices it does not wait for it."""

    def __init__(self, db_path: Path, settings: Any, outbox: Outbox, email: Any = None,
                 clock: Callable[[], float] = time.time, every_s: float = 600.0) -> None:
        self.db_path, self.settings, self.outbox, self.email = db_path, settings, outbox, email
        self.clock, self.every_s = clock, every_s
        self._next = 0.0

    def tick(self) -> None:
        if self.clock() < self._next:
            return
        self._next = self.clock() + self.every_s
        self.outbox.submit("scheduled reports", self.run)

    def run(self) -> list[Path]:
        from app import paths

        s = self.settings
        folder = Path(s.reports.folder) if s.reports.folder else paths.reports_dir()
        email = self.email

        def send(pdf: Path) -> None:
            if email is not None:
                email.send(f"ScalpDesk report {pdf.stem}", "The report is attached.", pdf)

        made = run_due(self.db_path, folder, s, send=send)
        for pdf in made:
            log.info("scheduled report written%s: %s", " and mailed" if email is not None else "", pdf)
        return made
