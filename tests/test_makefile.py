"""`make run` installs only when pyproject.toml changed (a stamp file), not on every start."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _fake_venv(folder):
    """A venv whose pip and python only record that they ran."""
    bin_ = folder / ".venv" / "bin"
    bin_.mkdir(parents=True)
    for name in ("pip", "python"):
        tool = bin_ / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "{folder}/calls"\n')
        tool.chmod(0o755)


def _calls(folder):
    p = folder / "calls"
    return p.read_text().splitlines() if p.exists() else []


def test_make_run_installs_once_and_again_only_after_pyproject_changes(tmp_path):
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    _fake_venv(tmp_path)
    env = {**os.environ, "MAKEFLAGS": ""}

    def run():
        subprocess.run(["make", "-s", "run"], cwd=tmp_path, env=env, check=True, capture_output=True, timeout=60)
        return [c for c in _calls(tmp_path) if c.startswith("pip install")]

    assert run() == ["pip install -e ."]
    assert run() == ["pip install -e ."]  # the second start: no install
    assert _calls(tmp_path)[-1] == "python main.py"
    later = time.time() + 5
    os.utime(tmp_path / "pyproject.toml", (later, later))  # the dependencies changed
    assert run() == ["pip install -e .", "pip install -e ."]


def test_the_licence_is_an_spdx_string_not_the_deprecated_table():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert isinstance(project["project"]["license"], str)  # setuptools warns about the TOML-table form
    assert any(r.startswith("setuptools>=77") for r in project["build-system"]["requires"])
