"""The double-click app: build the PyInstaller bundle and run its smoke test (slow: marked `bundle`)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.bundle


def _listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_bundle_builds_and_passes_its_smoke_test(tmp_path):
    build = subprocess.run(["bash", "packaging/build.sh"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-3000:]
    print(build.stdout.strip().splitlines()[-1])  # the bundle's size
    exe = ROOT / "dist" / "ScalpDesk" / "ScalpDesk"
    assert exe.is_file()
    before = _listing(exe.parent)
    env = {**os.environ, "SCALPDESK_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    smoke = subprocess.run([str(exe), "--smoke-test"], capture_output=True, text=True, timeout=600, env=env)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "one scan cycle on SIMULATED" in smoke.stdout
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=120, env=env)
    from app import __version__

    assert __version__ in version.stdout
    scan = subprocess.run([str(exe), "scan", "--source", "sim", "--json"], capture_output=True, text=True,
                          timeout=300, env=env)
    assert scan.returncode == 0 and '"source": "SIMULATED"' in scan.stdout, scan.stderr
    assert _listing(exe.parent) == before  # nothing written inside the bundle
    assert (tmp_path / "home" / "data").is_dir()  # user files went to the user's folders
    assert not any("test" in p.split(os.sep)[0] for p in before if p.startswith("tests"))
