"""Shared fixtures: user files isolated per test, Qt offscreen, real data from ../shared/data when present."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# As in the app (app.ui.app._collect_in_gui_thread): the cycle collector never runs in another thread, where it
# could tear down a Qt object left by an earlier test (a fake server's thread once deadlocked the suite so).
# It runs between tests, in the main thread, at the interpreter's usual thresholds.
gc.disable()
_GC_THRESHOLDS = gc.get_threshold()

ROOT = Path(__file__).resolve().parent.parent
# ../shared/data beside the checkout; SCALPDESK_TEST_SHARED=/nowhere runs the suite as a fresh clone would
SHARED = Path(os.environ.get("SCALPDESK_TEST_SHARED") or ROOT.parent / "shared" / "data")
REAL = SHARED / "binance-5m-15m-1h-2024"
RECORDINGS = SHARED / "binance-api-recordings"

needs_real_data = pytest.mark.skipif(not REAL.is_dir(), reason=f"real candles not found at {REAL} "
                                     "(../shared/data is beside the checkout on CI)")


def write_csv(folder: Path, candles) -> str:
    """`candles` as `<BASE_QUOTE>-<tf>.csv` in `folder` (the import format a user would hand over); its path."""
    p = folder / f"{candles.symbol.replace('/', '_')}-{candles.timeframe}.csv"
    rows = zip(candles.time.tolist(), candles.open.tolist(), candles.high.tolist(), candles.low.tolist(),
               candles.close.tolist(), candles.volume.tolist(), strict=True)
    p.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(",".join(map(str, r)) for r in rows))
    return str(p)


@pytest.fixture(autouse=True)
def _collect_in_main_thread():
    yield
    counts = gc.get_count()
    for gen in (2, 1, 0):
        if counts[gen] > _GC_THRESHOLDS[gen]:
            gc.collect(gen)
            break


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SCALPDESK_HOME", str(home))
    from app import settings

    settings.set_config(None)
    return home


@pytest.fixture
def settings():
    from app.settings import load

    return load()


@pytest.fixture
def engine_cfg(settings):
    from app.core.signals import EngineConfig

    return EngineConfig.from_settings(settings)


@pytest.fixture(scope="session")
def sim_candles():
    from app.market.simulated import generate

    return generate(["BTC/USDT", "ETH/USDT", "SOL/USDT"], "5m", 6000, seed=11)


def run_cli(home: Path, *args: str, check: bool = True, timeout: float = 300):
    """`python -m app ARGS` as a user runs it, with user files under `home`."""
    import subprocess
    import sys

    env = {**os.environ, "SCALPDESK_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc
