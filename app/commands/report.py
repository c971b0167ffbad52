"""`report` (PDF of a period) and `notify --test` (one message on every configured channel)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.commands.common import Common, db_path, settings_from


def add_parser(sub: Any, common: Common) -> None:
    p = sub.add_parser("report", help="PDF report of the live signals of a period, or of a backtest run")
    common(p)
    p.add_argument("--db", default=None)
    p.add_argument("--period", choices=("daily", "weekly", "custom"), default="daily")
    p.add_argument("--start", default=None, help="first day (custom), e.g. 2024-08-01 (UTC)")
    p.add_argument("--end", default=None, help="last day covered, e.g. 2024-08-07 (default: today so far)")
    p.add_argument("--out", required=True, help="the PDF file to write")
    p.add_argument("--run", type=int, default=None, help="report a backtest run (its id) instead of live signals")
    p.add_argument("--source", default=None, help="the live source to report, e.g. SIMULATED or BINANCE (default: "
                                                  "the one with the most signals in the period)")
    n = sub.add_parser("notify", help="notifications: --test sends one message on every configured channel")
    common(n)
    n.add_argument("--test", action="store_true", required=True)


def text(r: dict[str, Any]) -> str:
    if "channels" in r:
        return notify_text(r)
    others = "".join(f"; not included: {n:,} signals from {k}" for k, n in (r.get("other_sources") or {}).items())
    return f"Report written to {r['out']} ({r['signals']} signals, {r['pages']} pages){others}"


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.command == "notify":
        return notify(args)
    from app.session import jobs

    settings = settings_from(args)
    return jobs.report(settings, db_path(args), jobs.ReportRequest(Path(args.out), args.period, args.start, args.end,
                                                                   getattr(args, "run", None),
                                                                   getattr(args, "source", None)))


def notify_text(r: dict[str, Any]) -> str:
    lines = [f"{c['channel']}: {'sent' if c['ok'] else 'FAILED'} {c.get('detail', '')}" for c in r["channels"]]
    lines += r["problems"]
    if not r["channels"] and not r["problems"]:
        lines.append("No notification channel is configured (Settings > Notifications).")
    if r.get("exit_code"):
        lines.append("No test message was sent.")
    return "\n".join(lines)


def notify(args: argparse.Namespace) -> dict[str, Any]:
    from app.services.reporting.notifier import NotifyError, from_settings

    settings = settings_from(args)
    tg, em, problems = from_settings(settings)
    channels = []
    if tg is not None:
        try:
            tg.send("ScalpDesk test message: notifications work.")
            channels.append({"channel": "telegram", "ok": True})
        except NotifyError as exc:
            channels.append({"channel": "telegram", "ok": False, "detail": str(exc)})
    if em is not None:
        try:
            em.send("ScalpDesk test message", "Notifications work.")
            channels.append({"channel": "email", "ok": True})
        except NotifyError as exc:
            channels.append({"channel": "email", "ok": False, "detail": str(exc)})
    sent = any(c["ok"] for c in channels)
    return {"channels": channels, "problems": problems, "exit_code": 0 if sent else 1}
