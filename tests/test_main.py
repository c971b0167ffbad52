"""main.py: interpreter command lines (how multiprocessing/joblib re-run a frozen app) never start the window."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

import main
from tests.conftest import ROOT


@pytest.fixture
def no_gui(monkeypatch):
    import app.ui.app as gui

    def refuse(argv):
        raise AssertionError(f"the window was started for {argv}")

    monkeypatch.setattr(gui, "run_gui", refuse)


@pytest.mark.parametrize("args", [
    ["-B", "-S", "-I", "-c", "import os; os._exit(7)"],
    ["-c", "print(1)"],
    ["-W", "ignore", "-m", "some.module"],
    ["-Xfrozen_modules=off", "-B"],
    ["-I"],
])
def test_interpreter_flags_never_start_the_window(args, no_gui, capsys):
    assert main.run(args) == 2
    assert "ScalpDesk" in capsys.readouterr().err


def test_gui_options_start_the_window_and_commands_the_cli(monkeypatch):
    import app.cli
    import app.ui.app as gui

    calls = []
    monkeypatch.setattr(gui, "run_gui", lambda argv: calls.append(("gui", argv)) or 0)
    monkeypatch.setattr(app.cli, "main", lambda argv: calls.append(("cli", argv)) or 0)
    main.run([])
    main.run(["--smoke-test"])
    main.run(["scan", "--source", "sim"])
    main.run(["--bogus"])
    assert calls == [("gui", []), ("gui", ["--smoke-test"]), ("cli", ["scan", "--source", "sim"]),
                     ("cli", ["--bogus"])]


def test_the_resource_tracker_command_line_runs_the_tracker_and_exits():
    """What multiprocessing's and loky's resource trackers run: `EXE -B -S -I -c "from ... import main; main(fd)"`;
    the tracker reads its pipe until the parent closes it, then exits (before: the window started and stayed)."""
    for module in ("multiprocessing.resource_tracker", "joblib.externals.loky.backend.resource_tracker"):
        r, w = os.pipe()
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        code = f"from {module} import main; main({r})" if module.startswith("multi") else \
            f"from {module} import main; main({r}, False)"
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "-B", "-S", "-I", "-c", code], pass_fds=(r,),
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.close(r)
        os.close(w)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"{module}: the process did not exit (a window was started?)")
        assert proc.returncode == 0, err
        assert time.monotonic() - t0 < 30
        assert "smoke" not in out
