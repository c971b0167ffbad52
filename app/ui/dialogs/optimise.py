"""The threshold and pattern optimisers (app.session.jobs.optimise): chosen on training data, judged on the holdout,
applied with their provenance."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from app.ui.dialogs.base import JobDialog
from app.ui.dialogs.fmt import f as _f
from app.ui.workers import JobManager


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
                ("Train break-even", "in_sample.break_even_win_rate", _f(".1%")),
                ("Holdout n", "out_of_sample.signals", str),
                ("Holdout exp %", "out_of_sample.expectancy_pct", _f("+.3f")),
                ("Holdout win", "out_of_sample.win_rate", _f(".1%")),
                ("Holdout break-even", "out_of_sample.break_even_win_rate", _f(".1%")),
                ("Holdout PF", "out_of_sample.profit_factor", _f(".2f"))])
            self.plot = pg.PlotWidget()
            self.plot.addLegend()
            self.plot.setLabel("bottom", "minimum score")
            self.plot.setLabel("left", "net expectancy per trade, %")
            self.tabs.addTab(self.plot, "Chart")
        else:
            self.table = self.add_table("Patterns", [
                ("Pattern", "pattern", str), ("n", "count", str), ("Win rate", "win_rate", _f(".1%")),
                ("Break-even", "break_even_win_rate", _f(".1%")),
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
            self.plot.addLine(y=0.0, pen=pg.mkPen("#888"))
            for key, colour, name in (("in_sample", "#c8a04c", "training"), ("out_of_sample", "#4c9be8", "holdout")):
                y = [row[key]["expectancy_pct"] if row[key]["expectancy_pct"] is not None else float("nan")
                     for row in r["rows"]]
                self.plot.plot(x, y, pen=pg.mkPen(colour, width=2), symbol="o", name=f"expectancy, {name}")
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
        from app.session import jobs

        result = self.result
        self.write_settings(lambda: jobs.apply_optimisation(result))
