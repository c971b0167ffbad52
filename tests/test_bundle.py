"""The double-click app: build the PyInstaller bundle once, then run every command in it (slow: marked `bundle`).

Figures (size, start-up) are printed; the README's reliability table quotes them.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.bundle
EXE = ROOT / "dist" / "ScalpDesk" / ("ScalpDesk.exe" if sys.platform == "win32" else "ScalpDesk")
# The target is 400 MB; this bundle is ~630 MB (760 before): llvmlite (~155 MB, numba's compiler), pyarrow
# (~80 MB, feather files), Qt (~75 MB) and scipy/numpy with their two OpenBLAS builds (~110 MB) are loaded by the
# commands. The test guards against growth; README "Reliability" says what would reach 400 MB.
MAX_MB = 650
MAX_START_S = 3.0


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


@pytest.fixture(scope="module")
def bundle():
    if os.environ.get("SCALPDESK_BUNDLE_BUILT") != "1" or not EXE.is_file():
        build = subprocess.run(["bash", "packaging/build.sh"], cwd=ROOT, capture_output=True, text=True,
                               timeout=3600)
        assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-3000:]
    assert EXE.is_file()
    return EXE


@pytest.fixture
def run(bundle, tmp_path):
    env = {**os.environ, "SCALPDESK_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}

    def call(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(bundle), *args], capture_output=True, text=True, timeout=timeout, env=env)
        if check:
            assert proc.returncode == 0, f"{args}: {proc.stdout[-1500:]}{proc.stderr[-3000:]}"
        return proc

    return call


def test_bundle_size(bundle):
    mb = _size_mb(bundle.parent)
    print(f"bundle size: {mb:.0f} MB")
    if sys.platform.startswith("linux"):
        assert mb < MAX_MB, f"{mb:.0f} MB (limit {MAX_MB} MB)"


def test_smoke_test_version_and_nothing_written_inside(bundle, run, tmp_path):
    before = _listing(bundle.parent)
    smoke = run("--smoke-test")
    assert "one scan cycle on SIMULATED" in smoke.stdout
    from app import __version__

    assert __version__ in run("--version").stdout
    scan = run("scan", "--source", "sim", "--json")
    assert '"source": "SIMULATED"' in scan.stdout
    assert _listing(bundle.parent) == before  # nothing written inside the bundle
    assert (tmp_path / "home" / "data").is_dir()  # user files went to the user's folders
    assert not any(p.startswith("tests") for p in before)


def _sample_files(tmp_path: Path) -> list[str]:
    """Four symbols of simulated history in the import formats (CSV, feather, JSON, Binance Vision zip)."""
    import zipfile

    import pandas as pd

    frame = pd.read_csv(ROOT / "data" / "SIM_USDT-5m.csv")
    out = []
    csv = tmp_path / "SIMA_USDT-5m.csv"
    frame.to_csv(csv, index=False)
    feather = tmp_path / "SIMB_USDT-5m.feather"
    f2 = frame.assign(date=pd.to_datetime(frame["timestamp"], unit="ms", utc=True))
    f2[["date", "open", "high", "low", "close", "volume"]].to_feather(feather)
    js = tmp_path / "SIMC_USDT-5m.json"
    js.write_text(json.dumps(frame.values.tolist()))
    zp = tmp_path / "SIMDUSDT-5m-2024-01.zip"
    with zipfile.ZipFile(zp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("SIMDUSDT-5m-2024-01.csv", frame.to_csv(index=False, header=False))
    out += [str(csv), str(feather), str(js), str(zp)]
    return out


def test_a_backtest_over_several_files_finishes_and_leaves_no_process(run, tmp_path):
    """Issue 20 item 1: with several files the bundle hung (joblib workers re-ran the app as a hidden window)."""
    db = str(tmp_path / "bt.sqlite")
    t0 = time.monotonic()
    out = json.loads(run("backtest", "--data", *_sample_files(tmp_path), "--db", db, "--json", timeout=900).stdout)
    print(f"bundle backtest, 4 files: {time.monotonic() - t0:.1f} s")
    assert out["run_id"] == 1 and out["signals"] > 0
    if out["expectancy"]["ci_low"] is not None:
        assert out["verdict"] in ("PROFITABLE", "EDGE_BELOW_COSTS", "NO_EDGE", "WORSE_THAN_RANDOM")
    else:  # the sample's trades fall on one day: no interval clustered by day, and the bundle says so, not judging
        assert out["verdict"] is None and out["verdict_text"].startswith("not enough history")
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout if os.name == "posix" else ""
    assert str(EXE) not in ps  # no worker or hidden window outlives the command


def test_interpreter_command_lines_never_start_the_window(bundle, tmp_path):
    env = {**os.environ, "SCALPDESK_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    refused = subprocess.run([str(bundle), "-B", "-S", "-I", "-c", "print('hello')"], capture_output=True,
                             text=True, timeout=60, env=env)
    assert refused.returncode == 2 and "not a Python interpreter" in refused.stderr
    if os.name == "posix":  # the resource tracker's command line runs the tracker, which exits when its pipe closes
        r, w = os.pipe()
        proc = subprocess.Popen([str(bundle), "-B", "-S", "-I", "-c",
                                 f"from joblib.externals.loky.backend.resource_tracker import main; main({r}, False)"],
                                pass_fds=(r,), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.close(r)
        os.close(w)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err


def test_every_command_works_in_the_bundle(run, tmp_path):
    db = str(tmp_path / "all.sqlite")
    model = str(tmp_path / "m.model")
    sample = str(ROOT / "data" / "SIM_USDT-5m.csv")
    bt = json.loads(run("backtest", "--sim", "20000", "--db", db, "--json", timeout=900).stdout)
    assert bt["run_id"] == 1
    tr = json.loads(run("train", "--db", db, "--model", model, "--force", "--json", timeout=900).stdout)
    assert tr["samples"] > 0 and Path(tr["model_path"]).is_file()
    for what in ("thresholds", "patterns"):
        assert json.loads(run("optimize", what, "--db", db, "--json").stdout)
    tk = json.loads(run("track", "--source", "replay", "--data", sample, "--db", db, "--model", model,
                        "--json").stdout)
    assert tk["candles"] > 0 and tk["ml_filter"].startswith("on:")  # the skops model loads in the bundle
    assert json.loads(run("scan", "--source", "files", "--data", sample, "--model", model, "--json").stdout)
    pdf = tmp_path / "r.pdf"
    assert json.loads(run("report", "--run", "1", "--db", db, "--out", str(pdf), "--json").stdout)["pages"] >= 1
    assert json.loads(run("db", "check", "--db", db, "--json").stdout)["ok"]
    assert json.loads(run("db", "backup", "--db", db, "--json").stdout)["backups"]  # track made today's already
    none = run("notify", "--test", check=False)
    assert none.returncode == 1 and "No notification channel" in none.stdout
    offline = run("scan", "--source", "exchange", "--symbols", "BTC/USDT", "--exchange-url", "http://127.0.0.1:9",
                  "--json", check=False, timeout=300)
    assert "internal error" not in offline.stderr


def test_start_to_window(bundle, tmp_path):
    """Seconds from launch to the window shown (SCALPDESK_EXIT_AFTER_SHOW), median of 5; the first run also
    counts the disk reads of a cold start where the page cache could be dropped (root on Linux)."""
    env = {**os.environ, "SCALPDESK_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen",
           "SCALPDESK_EXIT_AFTER_SHOW": "1"}
    times = []
    cold = False
    for i in range(5):
        if i == 0 and sys.platform.startswith("linux"):
            try:
                subprocess.run(["sync"], check=False)
                Path("/proc/sys/vm/drop_caches").write_text("3\n")
                cold = True
            except OSError:
                cold = False
        t0 = time.time()
        proc = subprocess.run([str(bundle)], capture_output=True, text=True, timeout=120, env=env)
        shown = [line for line in proc.stdout.splitlines() if line.startswith("shown_at=")]
        assert proc.returncode == 0 and shown, proc.stderr[-2000:]
        times.append(float(shown[0].split("=")[1]) - t0)
    median = statistics.median(times)
    print(f"start to window: median {median:.2f} s of {[round(t, 2) for t in times]} "
          f"(first run {'cold: page cache dropped' if cold else 'warm'})")
    assert median < MAX_START_S
