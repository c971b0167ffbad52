"""The command line (python -m app ...). Every command takes --json and then prints one JSON object.

Errors the user can fix print one clear line on stderr and exit 2; nothing is printed as a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from app import __version__, commands
from app.errors import DamagedDatabaseError, ScalpDeskError

log = logging.getLogger("app")

def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--config", metavar="PATH", help="configuration file (default: the user's config.json)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scalpdesk", description="ScalpDesk: confluence signals, honestly "
                                     "measured. Without a command the desktop app starts (main.py).")
    parser.add_argument("--version", action="version", version=f"ScalpDesk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for spec in commands.COMMANDS:
        spec.add_parser(sub, _common)
    return parser


def _setup_logging(verbose: bool) -> None:
    from app.security import RedactingFilter

    level = logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())  # secrets and credential shapes never reach a log line
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    _setup_logging(getattr(args, "verbose", False))
    module = commands.load(args.command)
    try:
        result = module.run(args)
    except DamagedDatabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        _offer_recovery(exc)
        return 2
    except ScalpDeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            path = _crash_log(exc)
            print(f"internal error: {type(exc).__name__}: {exc}. Details were written to {path}", file=sys.stderr)
            return 3
        where = f" writing {exc.filename}" if exc.filename else ""
        print(f"error: the disk is full{where}; free some space and run the command again. Files are written "
              f"whole or not at all: nothing was half-written.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so plainly, keep the details in the log
        path = _crash_log(exc)
        print(f"internal error: {type(exc).__name__}: {exc}. Details were written to {path}", file=sys.stderr)
        return 3
    out = result.to_dict() if hasattr(result, "to_dict") else result
    if args.json:
        print(json.dumps(out, default=_json_default))
    else:
        print(module.text(out))
    return int(getattr(result, "exit_code", 0) or (out.get("exit_code", 0) if isinstance(out, dict) else 0))


def _offer_recovery(exc: DamagedDatabaseError) -> None:
    """At a terminal, ask whether to move the damaged database aside and start fresh (never in scripts)."""
    from pathlib import Path

    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return
    try:
        answer = input(f"Move {exc.path} aside and start fresh (from the latest good backup if any)? [y/N] ")
    except EOFError:
        return
    if answer.strip().lower() not in ("y", "yes"):
        return
    from app.storage import recovery

    try:
        print(recovery.recover(Path(str(exc.path))).text(), file=sys.stderr)
    except ScalpDeskError as again:
        print(f"error: {again}", file=sys.stderr)


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _crash_log(exc: BaseException) -> str:
    from app import paths
    from app.security import redact

    try:
        folder = paths.user_data_dir() / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "crash.log"
        with path.open("a", encoding="utf-8") as fh:
            fh.write(redact("".join(traceback.format_exception(exc))) + "\n")
        return str(path)
    except OSError:
        return "(could not write the crash log)"
