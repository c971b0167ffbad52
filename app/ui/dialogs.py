"""Dialogs that launch long jobs (progress bar, Cancel), show their result tables and charts, and apply results.
The jobs themselves are the services the command line uses; dialogs only collect options and show results."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.models import ResultTableModel
from app.ui.workers import Job, JobManager


def _f(fmt: str) -> Callable[[Any], str]:
    return lambda x: "n/a" if x is None else format(x, fmt)


def _rate(x: Any) -> str:
    return "not enough history" if x is None else f"{x:.1%}"


class JobDialog(QDialog):
    """Options on top, Run / Cancel with a progress bar, results below, Apply when there is something to apply."""

    kind = "job"
    applied = Signal(object)
    job_done = Signal(object)

    def __init__(self, jobs: JobManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.job: Job | None = None
        self.result: Any = None
        self.setMinimumSize(760, 520)
        lay = QVBoxLayout(self)
        self.form = QFormLayout()
        lay.addLayout(self.form)
        row = QHBoxLayout()
        self.run_button = QPushButton("&Run")
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        lay.addLayout(row)
        lay.addWidget(self.status)
        self.tabs = QTabWidget()
        lay.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.apply_button = buttons.addButton("&Apply", QDialogButtonBox.ButtonRole.ApplyRole)
        self.apply_button.setEnabled(False)
        self.apply_button.setVisible(False)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.apply_button.clicked.connect(self.apply)

    def add_table(self, title: str, columns: list[tuple[str, str, Callable[[Any], str]]]) -> ResultTableModel:
        model = ResultTableModel(columns, self)
        view = QTableView()
        view.setModel(model)
        view.horizontalHeader().setStretchLastSection(True)
        self.tabs.addTab(view, title)
        return model

    # to implement
    def make_job(self) -> Callable[[Callable[[float, str], None], Any], Any]:
        raise NotImplementedError

    def show_result(self, result: Any) -> None:
        raise NotImplementedError

    def apply(self) -> None:
        pass

    # job plumbing
    def start(self) -> None:
        try:
            fn = self.make_job()
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        job = Job(self.kind, fn)
        if not self.jobs.submit(job):
            self.status.setText("This job is already running.")
            return
        self.job = job
        job.signals.progress.connect(self._progress)
        job.signals.finished.connect(self._finished)
        job.signals.failed.connect(self._failed)
        job.signals.cancelled.connect(self._cancelled)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.apply_button.setEnabled(False)
        self.progress.setValue(0)
        self.status.setText("Running…")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Cancelling…")

    def _progress(self, frac: float, msg: str) -> None:
        self.progress.setValue(int(frac * 1000))
        self.status.setText(msg)

    def _end(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.job = None

    def _finished(self, result: Any) -> None:
        self._end()
        self.progress.setValue(1000)
        self.result = result
        self.show_result(result)
        self.job_done.emit(result)

    def _failed(self, message: str) -> None:
        self._end()
        self.status.setText(f"Failed: {message}")

    def _cancelled(self) -> None:
        self._end()
        self.progress.setValue(0)
        self.status.setText("Cancelled; nothing was stored.")

    def reject(self) -> None:
        if self.job is not None:
            self.job.cancel()
        super().reject()


class BacktestDialog(JobDialog):
    kind = "backtest"

    def __init__(self, jobs: JobManager, settings: Any, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(jobs, parent)
        self.setWindowTitle("Run backtest")
        self.settings = settings
        self.db_path = db_path
        self.files: list[str] = []
        pick = QPushButton("Choose history files…")
        pick.clicked.connect(self.choose)
        self.files_label = QLabel("none: a simulated market is used (labelled SIMULATED)")
        self.files_label.setWordWrap(True)
        self.sim_candles = QSpinBox()
        self.sim_candles.setRange(1000, 2_000_000)
        self.sim_candles.setValue(20_000)
        self.min_score = QDoubleSpinBox()
        self.min_score.setRange(0, 100)
        self.min_score.setValue(50)
        self.form.addRow(pick, self.files_label)
        self.form.addRow("Simulated candles per symbol", self.sim_candles)
        self.form.addRow("Store signals from score", self.min_score)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs.addTab(self.summary, "Summary")
        self.buckets = self.add_table("By score", [
            ("Score", "label", str), ("n", "n", str), ("Expectancy %", "expectancy_pct", _f("+.3f")),
            ("95% low", "exp_ci_low", _f("+.3f")), ("95% high", "exp_ci_high", _f("+.3f")),
            ("Win rate", "win_rate", _rate), ("PF", "profit_factor", _f(".2f"))])

    def choose(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "History files", "",
                                                "Candles (*.feather *.csv *.json *.zip);;All files (*)")
        if files:
            self.files = files
            self.files_label.setText("\n".join(Path(f).name for f in files))

    def make_job(self) -> Callable[..., Any]:
        from app.session import jobs

        settings, db_path = self.settings, self.db_path
        req = jobs.BacktestRequest(files=tuple(self.files), min_score=self.min_score.value(),
                                   sim_candles=None if self.files else self.sim_candles.value())

        def run(progress: Callable[[float, str], None], cancel: Any) -> Any:
            return jobs.backtest(settings, db_path, req, jobs.Control(progress, cancel)).to_dict()

        return run

    def show_result(self, r: Any) -> None:
        from app.services.reporting.headline import headline

        self.summary.setText(
            f"Run {r['run_id']}: {r['candles']:,} candles, {r['signals']:,} decided signals at or above the minimum "
            f"score {r['min_score']:g} ({r['undecided']} undecided at the end of the data).\n\n"
            + "\n".join(headline(r)))
        self.buckets.set_rows(r["by_score"])


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


class OptimiseDialog(JobDialog):
    def __init__(self, jobs: JobManager, settings: Any, db_path: Path, what: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(jobs, parent)
        self.kind = f"optimise-{what}"
        self.what = what
        self.settings, self.db_path = settings, db_path
        self.setWindowTitle("Optimise threshold" if what == "thresholds" else "Optimise patterns")
        self.objective = QComboBox()
        self.objective.addItems(["seed", "expectancy", "profit_factor"])
        self.objective.setCurrentText(settings.optimization.objective)
        self.objective.setToolTip("seed = win rate × 0.7 + profit factor × 0.3 (win rate as a fraction, profit "
                                  "factor as a ratio)")
        self.form.addRow("Objective", self.objective)
        self.apply_button.setVisible(True)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        if what == "thresholds":
            self.table = self.add_table("Thresholds", [
                ("Min score", "threshold", str), ("Train n", "in_sample.signals", str),
                ("Train exp %", "in_sample.expectancy_pct", _f("+.3f")), ("Train win", "in_sample.win_rate", _f(".1%")),
                ("Holdout n", "out_of_sample.signals", str),
                ("Holdout exp %", "out_of_sample.expectancy_pct", _f("+.3f")),
                ("Holdout win", "out_of_sample.win_rate", _f(".1%")),
                ("Holdout PF", "out_of_sample.profit_factor", _f(".2f"))])
            self.plot = pg.PlotWidget()
            self.plot.addLegend()
            self.plot.setLabel("bottom", "minimum score")
            self.plot.setLabel("left", "win rate")
            self.tabs.addTab(self.plot, "Chart")
        else:
            self.table = self.add_table("Patterns", [
                ("Pattern", "pattern", str), ("n", "count", str), ("Win rate", "win_rate", _f(".1%")),
                ("Shrunk", "shrunk_win_rate", _f(".1%")), ("Points now", "current_points", _f(".0f")),
                ("New points", "points", _f(".0f"))])
        self.tabs.addTab(self.note, "Notes")

    def make_job(self) -> Callable[..., Any]:
        settings, db_path, kind, what = self.settings, self.db_path, self.objective.currentText(), self.what

        def run(progress: Callable[[float, str], None], cancel: Any) -> Any:
            from app.session import jobs

            return jobs.optimise(what, settings, db_path, kind, control=jobs.Control(progress, cancel))

        return run

    def show_result(self, r: Any) -> None:
        if self.what == "thresholds":
            self.table.set_rows(r["rows"])
            self.plot.clear()
            x = [row["threshold"] for row in r["rows"]]
            for key, colour, name in (("in_sample", "#c8a04c", "training"), ("out_of_sample", "#4c9be8",
                                                                              "holdout")):
                y = [row[key]["win_rate"] if row[key]["win_rate"] is not None else float("nan") for row in r["rows"]]
                self.plot.plot(x, y, pen=pg.mkPen(colour, width=2), symbol="o", name=f"win rate, {name}")
            counts = [row["out_of_sample"]["signals"] for row in r["rows"]]
            top = max(counts) if counts and max(counts) else 1
            self.plot.plot(x, [c / top for c in counts], pen=pg.mkPen("#888", style=Qt.PenStyle.DashLine),
                           name=f"holdout signals (÷{top})")
            msg = r.get("message") or (f"Chosen threshold: {r['chosen_threshold']}, chosen on the training part of "
                                       f"{r['trials']} thresholds; it made money after costs on the untouched holdout.")
            wf = r["walk_forward_result"]
            self.note.setText(f"{msg}\nWalk-forward inside the training part: {wf['signals']} signals, expectancy "
                              f"{_f('+.3f')(wf['expectancy_pct'])}%.\n{r.get('note', '')}")
            self.apply_button.setEnabled(bool(r.get("applicable")))
        else:
            self.table.set_rows(r["patterns"])
            chk = r["out_of_sample_check"]
            self.note.setText(f"Out of sample: current objective {_f('.3f')(chk['current']['objective'])} on "
                              f"{chk['current']['signals']} signals, new {_f('.3f')(chk['new']['objective'])} on "
                              f"{chk['new']['signals']}.\n{r.get('message') or 'The new points are not worse.'}\n"
                              f"{r['note']}")
            self.apply_button.setEnabled(not r["message"])

    def apply(self) -> None:
        from app.errors import ScalpDeskError
        from app.session import jobs

        try:
            new = jobs.apply_optimisation(self.result)
        except ScalpDeskError as exc:
            QMessageBox.warning(self, "Not applied", str(exc))
            return
        self.status.setText(f"Applied to {new.source_path} (previous kept as .bak).")
        self.apply_button.setEnabled(False)
        self.applied.emit(new)


SECRETS = (("telegram_token", "Telegram bot token"), ("smtp_password", "SMTP password"))
GROUPS = (("scanner", "Scanner"), ("risk", "Risk"), ("fees", "Risk"), ("confluence", "Scanner"), ("ml", "ML"),
          ("optimization", "Optimisation"), ("notifications", "Notifications"), ("reports", "Notifications"),
          ("appearance", "Appearance"), ("pattern_scores", "Scanner"))


class SettingsDialog(QDialog):
    """Generated from the settings' field metadata; validates as the user types; secrets go to the keyring."""

    saved = Signal(object)

    def __init__(self, settings: Any, parent: QWidget | None = None, config_path: Path | None = None) -> None:
        from app.settings import field_specs

        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.config_path = config_path
        self.editors: dict[str, tuple[QWidget, Any]] = {}
        lay = QVBoxLayout(self)
        tabs = QTabWidget()
        forms: dict[str, QFormLayout] = {}
        group_of = dict(GROUPS)
        current = settings.to_dict()
        for key, tp, md in field_specs():
            group = group_of.get(key.split(".")[0], "Other")
            if group not in forms:
                page = QWidget()
                forms[group] = QFormLayout(page)
                tabs.addTab(page, group)
            value: Any = current
            for part in key.split("."):
                value = value[part]
            editor = self._editor(tp, md, value)
            editor.setToolTip(md.get("help") or "")
            editor.setObjectName(key)
            forms[group].addRow(md["label"], editor)
            self.editors[key] = (editor, tp)
        self.secret_edits: dict[str, QLineEdit] = {}
        form = forms.setdefault("Notifications", QFormLayout(QWidget()))
        for name, label in SECRETS:
            edit = QLineEdit()
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setPlaceholderText("kept in the OS keyring; leave empty to keep the stored one")
            form.addRow(label, edit)
            self.secret_edits[name] = edit
        lay.addWidget(tabs)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #d64545")
        self.error.setWordWrap(True)
        lay.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        for editor, _ in self.editors.values():
            for sig in ("textChanged", "valueChanged", "currentTextChanged", "toggled"):
                if hasattr(editor, sig):
                    getattr(editor, sig).connect(self.validate)
                    break

    def _editor(self, tp: Any, md: dict[str, Any], value: Any) -> QWidget:
        if tp is bool:
            box = QCheckBox()
            box.setChecked(bool(value))
            return box
        if md.get("choices"):
            combo = QComboBox()
            combo.addItems(list(md["choices"]))
            combo.setCurrentText(str(value))
            return combo
        if tp in (int, float):
            edit = QLineEdit(str(value))  # free text, so an out-of-range value is seen and explained
            return edit
        if tp == list[str]:
            return QLineEdit(", ".join(value))
        return QLineEdit("" if value is None else str(value))

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, (editor, tp) in self.editors.items():
            if isinstance(editor, QCheckBox):
                out[key] = editor.isChecked()
            elif isinstance(editor, QComboBox):
                out[key] = editor.currentText()
            elif tp in (int, float):
                text = editor.text().strip()  # type: ignore[attr-defined]
                try:
                    out[key] = int(text) if tp is int else float(text)
                except ValueError:
                    out[key] = text  # validation names the key and what is expected
            elif tp == list[str]:
                out[key] = [x.strip() for x in editor.text().split(",") if x.strip()]  # type: ignore[attr-defined]
            else:
                out[key] = editor.text()  # type: ignore[attr-defined]
        return out

    def changes(self) -> dict[str, Any]:
        current = self.settings.to_dict()
        diff = {}
        for key, value in self.values().items():
            old: Any = current
            for part in key.split("."):
                old = old[part]
            if value != old:
                diff[key] = value
        return diff

    def validate(self) -> bool:
        from app.errors import ConfigError

        try:
            self.settings.replace(self.changes())
        except ConfigError as exc:
            self.error.setText(str(exc).split(": ", 1)[-1])
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)
            return False
        self.error.setText("")
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(True)
        return True

    def save(self) -> None:
        from app.errors import ConfigError
        from app.security import set_secret
        from app.settings import update_user_config

        if not self.validate():
            return
        try:
            new = update_user_config(self.changes(), self.config_path)
            for name, edit in self.secret_edits.items():
                if edit.text():
                    set_secret(name, edit.text())
        except ConfigError as exc:
            self.error.setText(str(exc))
            return
        except Exception as exc:  # keyring backend missing
            self.error.setText(f"Saved the settings, but the secret could not be stored in the OS keyring: {exc}")
            return
        self.saved.emit(new)
        self.accept()


def about_text() -> str:
    from app import __version__

    return (f"<b>ScalpDesk {__version__}</b><br>Confluence signals for crypto scalpers, with numbers measured on "
            "real history after fees, with their sample size and 95% interval.<br>Never trades, never holds "
            "trading keys.")


def json_text(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)
