"""Every view of the window rendered offscreen to PNG, for a human look (issue 19).

    python tests/ui/screens.py --out DIR

Real Binance candles from ../shared/data when present (else the simulated market): a backtest on the weeks before,
then the last days replayed through the whole desk (watchlist, chart, signals, tracker, statistics, alerts), as a
trader would see them. One file per view: watchlist.png, chart.png, chart_closed_trade.png, why.png, sizing.png,
alerts.png, backtest_explorer.png, data_manager.png, settings.png, pdf_export.png, empty_first_start.png and
main_light_2x.png (the main window in the light theme at 2x scale, rendered by a second process).

The four dialogs (app/ui/dialogs/) are rendered by one function each
in tests/ui/screens_dialogs.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
REAL = ROOT.parent / "shared" / "data" / "binance-5m-15m-1h-2024"
PAIRS = ("BTC", "ETH", "SOL", "XRP", "DOGE", "AVAX", "LINK", "LTC", "PEPE", "WIF")
REPLAY_CANDLES = 2500  # the last ~8.7 days at 5m, played through the desk
BACKTEST_CANDLES = 12_000  # the ~6 weeks before them: the history every "why" quotes
SIZE = (1440, 900)


def prepare(work: Path) -> tuple[list[str], list[str], str]:
    """(backtest files, replay files, what they are)."""
    import pandas as pd

    bt, rp = work / "backtest", work / "replay"
    bt.mkdir(parents=True, exist_ok=True)
    rp.mkdir(parents=True, exist_ok=True)
    frames: dict[str, Any] = {}
    if REAL.is_dir():
        for pair in PAIRS:
            frames[f"{pair}_USDT"] = pd.read_feather(REAL / f"{pair}_USDT-5m.feather")
        what = f"real Binance 5m candles of {len(PAIRS)} pairs ({REAL})"
    else:
        from app.market.simulated import generate

        data = generate([f"{p}/USDT" for p in PAIRS[:6]], "5m", REPLAY_CANDLES + BACKTEST_CANDLES + 600, seed=19)
        for sym, c in data.items():
            frames[sym.replace("/", "_")] = pd.DataFrame({
                "date": pd.to_datetime(c.time, unit="ms", utc=True), "open": c.open, "high": c.high, "low": c.low,
                "close": c.close, "volume": c.volume})
        what = "the simulated market (no real candles found at ../shared/data)"
    end = min(f["date"].iloc[-1] for f in frames.values())  # one clock: every pair ends together
    frames = {k: f[f["date"] <= end].reset_index(drop=True) for k, f in frames.items()}
    end = busy_end(frames)
    for name, f in frames.items():
        f = f[f["date"] <= end].reset_index(drop=True)
        f.iloc[-(REPLAY_CANDLES + BACKTEST_CANDLES):-REPLAY_CANDLES].reset_index(drop=True).to_feather(
            bt / f"{name}-5m.feather")
        f.iloc[-REPLAY_CANDLES:].reset_index(drop=True).to_feather(rp / f"{name}-5m.feather")
    return sorted(map(str, bt.glob("*.feather"))), sorted(map(str, rp.glob("*.feather"))), what


def busy_end(frames: dict[str, Any], recent: int = 12) -> Any:
    """The end of the replay, in the last 600 candles, with the most signals in its last `recent` candles: the
    desk then shows open signals being tracked, as live (the scanner's own rules find them)."""
    import numpy as np
    import pandas as pd

    from app.core.candles import Candles
    from app.core.signals import EngineConfig, find_signals
    from app.settings import load

    cfg = EngineConfig.from_settings(load())

    def ms(dates: Any) -> np.ndarray:
        return ((dates - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).to_numpy(dtype=np.int64)

    first = next(iter(frames.values()))
    times = ms(first["date"])[-600:]
    counts = np.zeros(len(times))
    for f in frames.values():
        tail = f.iloc[-3000:]
        c = Candles.from_arrays("X/USDT", "5m", ms(tail["date"]),
                                *(tail[k].to_numpy() for k in ("open", "high", "low", "close", "volume")))
        when = c.time[find_signals(c, cfg).index]
        for k, t in enumerate(times):
            counts[k] += np.sum((when <= t) & (when > t - recent * 300_000))
    return first["date"].iloc[len(first) - 600 + int(np.argmax(counts))]


def pump(app: Any, seconds: float, until: Any = None) -> None:
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        if until is not None and until():
            return
        time.sleep(0.01)


def save(widget: Any, out: Path, name: str, app: Any) -> None:
    app.processEvents()
    widget.grab().save(str(out / name))
    print(f"  {name}")


# ------------------------------------------------------------------ the desk
def open_desk(app: Any, replay_files: list[str], interval_s: float = 0.2) -> Any:
    from app import paths
    from app.session.live import SourceSpec
    from app.settings import load
    from app.ui.main_window import MainWindow

    spec = SourceSpec(kind="replay", files=tuple(replay_files), speed=0.0, step=250)
    w = MainWindow(load(), paths.default_db_path(), paths.default_model_path(), interval_s=interval_s, spec=spec)
    w.resize(*SIZE)
    w.show()
    played: list[str] = []
    w.source.notice.connect(played.append)
    pump(app, 600, lambda: bool(played) and w.latest is not None)
    pump(app, 1.5)
    w.refresh()
    return w


def select(app: Any, w: Any, view: Any, row: int) -> None:
    view.selectRow(row)
    pump(app, 3, lambda: w.why.report is not None and w.why.report.signal_id == w.selected.id)
    pump(app, 1.0)


def best_open_row(w: Any) -> int:
    """The open signal with the most to show (a pattern, the highest score)."""
    m = w.active
    rows = [(bool(m.row_at(r).confluence_score), m.row_at(r).confluence_score, r) for r in range(m.rowCount())]
    return max(rows)[2] if rows else 0


def main_run(out: Path) -> None:
    from PySide6.QtWidgets import QApplication

    work = Path(tempfile.mkdtemp(prefix="scalpdesk-screens-"))
    os.environ["SCALPDESK_HOME"] = str(work / "home")
    app = QApplication.instance() or QApplication([])
    from app import paths
    from app.session import jobs
    from app.settings import load
    from app.ui import theme

    theme.apply(app, "dark")
    bt_files, rp_files, what = prepare(work)
    print(f"data: {what}")
    t0 = time.time()
    result = jobs.backtest(load(), paths.default_db_path(), jobs.BacktestRequest(files=tuple(bt_files))).to_dict()
    print(f"backtest run {result['run_id']}: {result['signals']} signals, verdict {result['verdict']} "
          f"({time.time() - t0:.0f} s)")
    w = open_desk(app, rp_files)
    print(f"desk: {w.latest.source if w.latest else '?'}, {w.active.rowCount()} open, {w.completions.rowCount()} "
          f"completed, {w.alert_center.model.rowCount()} alerts")
    w.watch.view.sortByColumn(2, __import__("PySide6.QtCore", fromlist=["Qt"]).Qt.SortOrder.DescendingOrder)
    save(w.watch_dock, out, "watchlist.png", app)
    select(app, w, w.active_view, best_open_row(w))
    save(w.why, out, "why.png", app)
    save(w.sizing, out, "sizing.png", app)
    w.alerts_dock.raise_()
    save(w.alerts_dock, out, "alerts.png", app)
    w.resize(1900, 1100)  # a chart as a trader sizes it
    w.left_split.setSizes([120, 840, 120])
    w.chart_panel.set_overlays({"ema21", "ema50", "bb", "rsi"})
    pump(app, 1.0)
    save(w.chart_panel, out, "chart.png", app)
    w.chart_panel.set_overlays({"ema21", "ema50"})
    if w.completions.rowCount():
        select(app, w, w.done_view, 0)
    save(w.chart_panel, out, "chart_closed_trade.png", app)
    w.resize(*SIZE)
    w.close()
    from tests.ui import screens_dialogs  # the dialogs: backtest explorer, data manager, settings, PDF export

    for path in screens_dialogs.render_all(out):
        print(f"  {path.name}")
    home = work / "home"
    first = work / "first-start"
    os.environ["SCALPDESK_HOME"] = str(first)
    from app.ui.main_window import MainWindow

    fresh = MainWindow(load(), paths.default_db_path(), paths.default_model_path(), interval_s=3600)
    fresh.resize(*SIZE)
    fresh.show()
    pump(app, 120, lambda: fresh.latest is not None)
    pump(app, 1.0)
    fresh.refresh()
    save(fresh, out, "empty_first_start.png", app)
    fresh.close()
    env = {**os.environ, "SCALPDESK_HOME": str(home), "QT_SCALE_FACTOR": "2", "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run([sys.executable, __file__, "--out", str(out), "--light-2x", *rp_files], env=env, check=True)
    shutil.rmtree(work, ignore_errors=True)


def light_2x_run(out: Path, replay_files: list[str]) -> None:
    """The same desk (its records are in SCALPDESK_HOME) in the light theme at 2x scale."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from app.ui import theme

    theme.apply(app, "light")
    w = open_desk(app, replay_files)
    select(app, w, w.active_view, best_open_row(w))
    save(w, out, "main_light_2x.png", app)
    w.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--light-2x", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["SCALPDESK_NO_DIALOGS"] = "1"
    args.out.mkdir(parents=True, exist_ok=True)
    if args.light_2x is not None:
        light_2x_run(args.out, args.light_2x)
    else:
        main_run(args.out)


if __name__ == "__main__":
    main()
