"""ScalpDesk entry point: no arguments -> the desktop app; a sub-command -> the command line."""

from __future__ import annotations

import sys


def run() -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # worker processes of a frozen bundle must not start the app again
    args = sys.argv[1:]
    if (args and not args[0].startswith("-")) or any(a in ("-h", "--help", "--version") for a in args[:1]):
        from app.cli import main

        return main(args)
    from app.ui.app import run_gui

    return run_gui(args)


if __name__ == "__main__":
    raise SystemExit(run())
