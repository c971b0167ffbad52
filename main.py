"""ScalpDesk entry point: no arguments -> the desktop app; a sub-command -> the command line.

A frozen bundle is also re-run by its own worker machinery as if it were a Python interpreter
(`ScalpDesk -B -S -I -c "from multiprocessing.resource_tracker import main; main(5)"`, or loky's
`-m ...popen_loky_posix`). Such a command line never starts the window: known worker entry points run
and exit, anything else is refused with exit code 2.
"""

from __future__ import annotations

import os
import sys

GUI_OPTIONS = ("--smoke-test",)
# Interpreter options that multiprocessing/joblib pass (util._args_from_interpreter_flags) before -c/-m.
_FLAGS = {"-B", "-S", "-I", "-E", "-s", "-O", "-OO", "-q", "-u", "-b", "-bb", "-d", "-v", "-P"}
_FLAGS_WITH_VALUE = {"-W", "-X"}
# What the worker machinery of the standard library and joblib/loky start; nothing else is executed.
_WORKER_CODE = ("from multiprocessing.resource_tracker import main", "from multiprocessing.forkserver import main",
                "from joblib.externals.loky.backend.resource_tracker import main")
_WORKER_MODULES = ("joblib.externals.loky.backend.popen_loky_posix", "joblib.externals.loky.backend.popen_loky_win32")


def interpreter_call(args: list[str]) -> tuple[str, str] | None:
    """("-c", code) or ("-m", module) when `args` is an interpreter command line, else None."""
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-c", "-m") and i + 1 < len(args):
            return a, args[i + 1]
        if a in _FLAGS or (len(a) > 2 and a[:2] in _FLAGS_WITH_VALUE):
            i += 1
        elif a in _FLAGS_WITH_VALUE:
            i += 2
        else:
            return None
    return None


def looks_like_interpreter(args: list[str]) -> bool:
    """Any interpreter option at the front (even without -c/-m): never a GUI start."""
    return bool(args) and (args[0] in _FLAGS or args[0] in _FLAGS_WITH_VALUE or args[0] in ("-c", "-m")
                           or args[0][:2] in _FLAGS_WITH_VALUE)


def run_worker(kind: str, target: str, rest: list[str]) -> int:
    """Run a known worker entry point in this process (a frozen bundle has no separate interpreter)."""
    if kind == "-c" and target.startswith(_WORKER_CODE):
        sys.argv = ["-c", *rest]
        exec(compile(target, "<worker>", "exec"), {"__name__": "__main__"})
        return 0
    if kind == "-m" and target in _WORKER_MODULES:
        import runpy

        sys.argv = [target, *rest]
        runpy.run_module(target, run_name="__main__", alter_sys=True)
        return 0
    print(f"ScalpDesk: not a Python interpreter; refusing to run {kind} {target[:80]!r}", file=sys.stderr)
    return 2


def run(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    frozen = bool(getattr(sys, "frozen", False))
    if frozen:
        # joblib in a bundle: no worker processes (sequential/threads), the mode that works frozen.
        os.environ.setdefault("JOBLIB_MULTIPROCESSING", "0")
    if looks_like_interpreter(args):
        call = interpreter_call(args)
        if call is None:
            print(f"ScalpDesk: unknown option {args[0]}; see --help", file=sys.stderr)
            return 2
        rest = args[args.index(call[1]) + 1:]
        return run_worker(call[0], call[1], rest)
    import multiprocessing

    multiprocessing.freeze_support()  # a multiprocessing child of a frozen bundle runs its task and exits here
    if not args or all(a in GUI_OPTIONS for a in args):
        from app.ui.app import run_gui

        return run_gui(args)
    from app.cli import main

    return main(args)


if __name__ == "__main__":
    raise SystemExit(run())
