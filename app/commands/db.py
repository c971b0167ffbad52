"""`db`: check the database, back it up now, or move a damaged one aside and start fresh."""

from __future__ import annotations

import argparse
from typing import Any

from app.commands.common import Common, db_path, settings_from


def add_parser(sub: Any, common: Common) -> None:
    p = sub.add_parser("db", help="database: check, backup, or recover (move a damaged file aside, start fresh)")
    common(p)
    p.add_argument("action", choices=("check", "backup", "recover"))
    p.add_argument("--db", default=None, help="database file (default: the user data folder's)")
    p.add_argument("--empty", action="store_true", help="recover: start empty even when a good backup exists")


def text(r: dict[str, Any]) -> str:
    return str(r["message"])


def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.storage import recovery

    path = db_path(args)
    if args.action == "recover":
        done = recovery.recover(path, use_backup=not args.empty)
        return {**done.to_dict(), "message": done.text()}
    if args.action == "backup":
        keep = settings_from(args).backups.keep
        made = recovery.daily_backup(path, max(keep, 1))
        have = recovery.backups(path)
        return {"backup": None if made is None else str(made), "backups": [str(b) for b in have],
                "message": f"Backup written to {made}" if made else
                f"No new backup: today's exists or {path} is missing or damaged ({len(have)} backups kept)"}
    damage = recovery.check(path)
    if damage is None:
        from app.storage.db import Database

        with Database(path) as db:
            ok = db.integrity_ok()
        if ok:
            return {"ok": True, "message": f"{path}: ok"}
        return {"ok": False, "exit_code": 1, "message": f"{path}: the integrity check found damage; "
                "`python -m app db recover` moves it aside and starts fresh (from the latest good backup)"}
    return {"ok": False, "exit_code": 1, "message": str(damage)}
