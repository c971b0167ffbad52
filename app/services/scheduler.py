"""Scheduled reports: daily and weekly at configured times; a report missed while the app was closed is
produced at the next start, once (report_runs remembers what was made)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from app.storage.db import Database


def due(now: dt.datetime, daily_time: str, weekly_day: int, done: set[tuple[str, str]],
        lookback_days: int = 7) -> list[tuple[str, dt.date]]:
    """(period, last day covered) of reports whose time has passed and that were not made yet."""
    hh, mm = (int(x) for x in daily_time.split(":"))
    latest: dict[str, dt.date] = {}
    for back in range(lookback_days, -1, -1):
        day = (now - dt.timedelta(days=back)).date()
        if dt.datetime.combine(day, dt.time(hh, mm), tzinfo=now.tzinfo) <= now:
            latest["daily"] = day
            if day.weekday() == weekly_day:
                latest["weekly"] = day
    # only the most recent report of each kind is made up for, and only once
    return [(kind, day) for kind, day in latest.items() if (kind, day.isoformat()) not in done]


def run_due(db_path: Path, folder: Path, settings: Any, now: dt.datetime | None = None) -> list[Path]:
    from app.services.reporting import render_report

    now = now or dt.datetime.now(dt.UTC)
    with Database(db_path) as db:
        done = {(r[0], r[1]) for r in db.query("SELECT period, period_end FROM report_runs")}
    made = []
    for kind, day in due(now, settings.reports.daily_time, settings.reports.weekly_day, done):
        out = folder / f"scalpdesk-{kind}-{day.isoformat()}.pdf"
        render_report(db_path, out, kind, end=day.isoformat(), now=now)
        with Database(db_path) as db:
            db.write("INSERT OR IGNORE INTO report_runs (period, period_end, path, created_at) VALUES (?, ?, ?, ?)",
                     (kind, day.isoformat(), str(out), int(now.timestamp() * 1000)))
        made.append(out)
    return made
