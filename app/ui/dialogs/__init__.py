"""The window's dialogs, one module each: a job base (Run / Cancel / progress / result tabs), the backtest explorer,
training, the optimisers, settings, the data manager and the exports. Every job is a session-layer function run in
the window's JobManager; a dialog only collects options and shows results."""

from __future__ import annotations

import json
from typing import Any

from app.ui.dialogs.backtest import BacktestDialog, BacktestExplorer
from app.ui.dialogs.base import JobDialog
from app.ui.dialogs.data_manager import DataManagerDialog
from app.ui.dialogs.export import CsvExportDialog, PdfExportDialog
from app.ui.dialogs.optimise import OptimiseDialog
from app.ui.dialogs.settings_dialog import SettingsDialog
from app.ui.dialogs.train import TrainDialog

__all__ = ["BacktestDialog", "BacktestExplorer", "CsvExportDialog", "DataManagerDialog", "JobDialog",
           "OptimiseDialog", "PdfExportDialog", "SettingsDialog", "TrainDialog", "about_text", "json_text"]


def about_text() -> str:
    from app import __version__

    return (f"<b>ScalpDesk {__version__}</b><br>Confluence signals for crypto scalpers, with numbers measured on "
            "real history after fees, with their sample size and 95% interval.<br>Never trades, never holds "
            "trading keys.")


def json_text(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)
