"""Training the ML filter: out-of-sample metrics and the reliability table (app.session.jobs.train)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QCheckBox, QLabel, QWidget

from app.ui.dialogs.base import JobDialog
from app.ui.dialogs.fmt import f as _f
from app.ui.dialogs.fmt import rate as _rate
from app.ui.workers import JobManager


class TrainDialog(JobDialog):
    kind = "train"

    def __init__(self, jobs: JobManager, settings: Any, db_path: Path, model_path: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(jobs, parent)
        self.setWindowTitle("Train model")
        self.settings, self.db_path, self.model_path = settings, db_path, model_path
        self.force = QCheckBox("Enable even if it does not beat the base rate out of sample")
        self.form.addRow(self.force)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.tabs.addTab(self.summary, "Out-of-sample metrics")
        self.reliability = self.add_table("Reliability", [
            ("Predicted", "mean_predicted", _f(".2f")), ("n", "n", str), ("Observed", "win_rate", _rate),
            ("95% low", "ci_low", _f(".1%")), ("95% high", "ci_high", _f(".1%"))])

    def make_job(self) -> Callable[..., Any]:
        settings, db_path, model_path, force = self.settings, self.db_path, self.model_path, self.force.isChecked()

        def run(progress: Callable[[float, str], None], cancel: Any) -> Any:
            from app.session import jobs

            return jobs.train(settings, db_path, model_path, force=force, control=jobs.Control(progress, cancel))

        return run

    def show_result(self, r: Any) -> None:
        m = r["metrics"]
        self.summary.setText(
            f"{r['samples']} backtest signals, {r['folds']} walk-forward folds; out of sample ({m['oos_samples']}): "
            f"base win rate {_f('.3f')(m['base_win_rate'])}, AUC {_f('.3f')(m['auc'])} (logistic baseline "
            f"{_f('.3f')(m['baseline_logistic_auc'])}), Brier {_f('.4f')(m['brier'])} vs base "
            f"{_f('.4f')(m['brier_base_rate'])}, precision at p ≥ {r['min_probability']:.2f}: "
            f"{_rate(m['precision_at_min_probability'])} on {m['kept_signals']} signals.\n\n{r['verdict']}\n"
            f"Model stored at {r['model_path']}: filter {'ENABLED' if r['enabled'] else 'NOT enabled'}.")
        self.reliability.set_rows(m["reliability"])
