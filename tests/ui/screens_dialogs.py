"""The tool dialogs rendered offscreen to PNG with representative content, for tests/ui/screens.py and a human
look: backtest_explorer.png (+ backtest_explorer_trades.png), data_manager.png, settings.png (+ settings_risk.png),
pdf_export.png (+ pdf_export_run.png).

Real candles from ../shared/data when present, else the simulated market; downloads come from the fake Binance on
127.0.0.1 (recordings in ../shared/data). Each function takes the output folder and returns the files it wrote;
user files go to a temporary SCALPDESK_HOME unless one is set.

Run alone: QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/screens_dialogs.py --out DIR
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REAL = ROOT.parent / "shared" / "data" / "binance-5m-15m-1h-2024"
RECORDINGS = ROOT.parent / "shared" / "data" / "binance-api-recordings"
JUNE_2024 = 1_717_200_000_000


def _app() -> Any:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    if not os.environ.get("SCALPDESK_HOME"):
        os.environ["SCALPDESK_HOME"] = tempfile.mkdtemp(prefix="scalpdesk-screens-")
    return app


def _wait(cond: Callable[[], bool], timeout_s: float = 300.0) -> None:
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("the dialog's job did not finish")
        QApplication.processEvents()
        time.sleep(0.01)
    for _ in range(5):
        QApplication.processEvents()


def _save(widget: Any, out_dir: Path, name: str) -> Path:
    from PySide6.QtWidgets import QApplication

    widget.show()
    for _ in range(10):
        QApplication.processEvents()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    widget.grab().save(str(path))
    return path


def _real_files(tf: str = "5m", pairs: tuple[str, ...] = ("BTC", "ETH", "SOL", "PEPE")) -> list[str]:
    return [str(REAL / f"{p}_USDT-{tf}.feather") for p in pairs if (REAL / f"{p}_USDT-{tf}.feather").exists()]


def _backtest_db(db_path: Path) -> int:
    """A finished run for the report and export dialogs (real candles from June 2024 when present)."""
    from app.session import jobs
    from app.settings import load

    files = _real_files(pairs=("BTC", "ETH"))
    req = jobs.BacktestRequest(files=tuple(files), start_ms=JUNE_2024) if files else \
        jobs.BacktestRequest(sim_candles=20_000)
    return int(jobs.backtest(load(), db_path, req).run_id)


def render_backtest_explorer(out_dir: Path) -> list[Path]:
    _app()
    from app import paths
    from app.settings import load
    from app.ui.dialogs import BacktestExplorer
    from app.ui.workers import JobManager

    dlg = BacktestExplorer(JobManager(), load(), paths.default_db_path(),
                           history_folder=Path(tempfile.mkdtemp()))
    _wait(lambda: "backtest-inventory" not in " ".join(dlg.jobs.running))
    files = _real_files()
    if files:
        dlg.set_files(files)
        dlg.period.whole.setChecked(False)
        from PySide6.QtCore import QDate

        dlg.period.start.setDate(QDate(2024, 6, 1))
        dlg.period.end.setDate(QDate(2024, 9, 7))
    else:
        dlg.sim_candles.setValue(30_000)
    dlg.run_button.click()
    _wait(lambda: dlg.job is None)
    written = [_save(dlg, out_dir, "backtest_explorer.png")]
    dlg.tabs.setCurrentIndex(3)
    dlg.trade_view.selectRow(5)
    _wait(lambda: dlg._trade_job is None)
    written.append(_save(dlg, out_dir, "backtest_explorer_trades.png"))
    dlg.close()
    return written


def render_data_manager(out_dir: Path) -> list[Path]:
    _app()
    from app.market.simulated import generate
    from app.settings import load
    from app.ui.dialogs import DataManagerDialog
    from app.ui.workers import JobManager

    folder = Path(tempfile.mkdtemp()) / "history"
    folder.mkdir()
    for f in _real_files("1h", ("SOL", "XRP", "DOGE")):
        shutil.copy(f, folder)
    if RECORDINGS.is_dir():
        from tests.fake_binance import FakeBinance

        tf = 60_000
        start = (int(time.time() * 1000) // tf) * tf - 6000 * tf
        gen = generate(["BTC/USDT", "ETH/USDT"], "1m", 6000, seed=11, start_ms=start)
        with FakeBinance(RECORDINGS, {"BTCUSDT": gen["BTC/USDT"], "ETHUSDT": gen["ETH/USDT"]},
                         start + 5990 * tf + 10_000) as fake:
            dlg = DataManagerDialog(JobManager(), load(), folder=folder, exchange_url=fake.url)
            dlg.symbols.setText("BTC/USDT, ETH/USDT")
            for tf_name, box in dlg.timeframes.items():
                box.setChecked(tf_name in ("1m", "5m"))
            from PySide6.QtCore import QDate

            dlg.since.setDate(QDate.currentDate().addDays(-3))
            dlg.run_button.click()
            _wait(lambda: dlg.job is None)
    else:
        dlg = DataManagerDialog(JobManager(), load(), folder=folder)
        _wait(lambda: not any(k.startswith("inventory") for k in dlg.jobs.running))
    dlg.tabs.setCurrentIndex(0)
    written = [_save(dlg, out_dir, "data_manager.png")]
    dlg.close()
    return written


def render_settings(out_dir: Path) -> list[Path]:
    _app()
    from app.settings import load
    from app.ui.dialogs import SettingsDialog
    from app.ui.workers import JobManager

    def show(url: str | None) -> list[Path]:
        dlg = SettingsDialog(load(), jobs=JobManager(), exchange_url=url, history_folder=Path(tempfile.mkdtemp()))
        editor, _ = dlg.editors["scanner.symbols"]
        editor.setText("BTC/USDT, ETH/USDT, NOTACOIN/USDT")  # type: ignore[attr-defined]
        dlg.check_symbols()
        _wait(lambda: dlg._checking is None)
        written = [_save(dlg, out_dir, "settings.png")]
        dlg.tabs.setCurrentIndex(3)
        written.append(_save(dlg, out_dir, "settings_risk.png"))
        dlg.close()
        return written

    if RECORDINGS.is_dir():
        from app.market.simulated import generate
        from tests.fake_binance import FakeBinance

        gen = generate(["BTC/USDT"], "1m", 100, seed=1)
        with FakeBinance(RECORDINGS, {"BTCUSDT": gen["BTC/USDT"]}, int(gen["BTC/USDT"].time[-1])) as fake:
            return show(fake.url)
    return show("http://127.0.0.1:9")


def render_pdf_export(out_dir: Path) -> list[Path]:
    _app()
    from app import paths
    from app.settings import load
    from app.ui.dialogs import PdfExportDialog
    from app.ui.workers import JobManager

    db = paths.default_db_path()
    _backtest_db(db)
    dlg = PdfExportDialog(JobManager(), load(), db)
    _wait(lambda: dlg.runs.model.rowCount() > 0 or "No finished" in dlg.runs.empty.text())
    dlg.week.setChecked(True)
    written = [_save(dlg, out_dir, "pdf_export.png")]
    dlg.run.setChecked(True)
    dlg.run_button.click()
    _wait(lambda: dlg.job is None)
    written.append(_save(dlg, out_dir, "pdf_export_run.png"))
    dlg.close()
    return written


RENDERERS = (render_backtest_explorer, render_data_manager, render_settings, render_pdf_export)


def render_all(out_dir: Path) -> list[Path]:
    return [p for fn in RENDERERS for p in fn(out_dir)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    app = _app()
    from app.settings import load
    from app.ui import theme

    theme.apply(app, load().appearance.theme)
    for p in render_all(args.out):
        print(p)


if __name__ == "__main__":
    main()
