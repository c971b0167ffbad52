"""The backtest explorer: choose the data (files, downloaded exchange history or the simulated market), pairs,
timeframe and period; the result leads with the verdict, the net expectancy after costs with its interval, the
edge over random entries and the account, then per pair, by score band and every trade. Selecting a trade emits
`trade_selected(TradeRef)` with the candles around it, cut in a job (the main window shows it on its chart)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

import app.ui.dialogs.fmt as fmt
from app.services.reporting import headline as words
from app.ui.dialogs.base import JobDialog, JobFn, submit, table_view
from app.ui.dialogs.data_choice import (
    DOWNLOADED,
    FILES,
    SIMULATED,
    SOURCES,
    PairList,
    PeriodEdit,
    Series,
    files_for,
    series_of_files,
    set_timeframes,
    timeframe_combo,
)
from app.ui.dialogs.tables import NumbersModel, TradeListModel
from app.ui.workers import JobManager

BAND_COLUMNS: list[tuple[str, str, Any]] = [
    ("Expectancy %", "expectancy_pct", fmt.f("+.3f")), ("95% low", "exp_ci_low", fmt.f("+.3f")),
    ("95% high", "exp_ci_high", fmt.f("+.3f")), ("n", "n", fmt.count), ("Win rate", "win_rate", fmt.rate),
    ("Win 95% low", "ci_low", fmt.f(".1%")), ("Win 95% high", "ci_high", fmt.f(".1%")),
    ("Profit factor", "profit_factor", fmt.f(".2f"))]
BAND_TIPS = {"Expectancy %": "Net P&L per trade after fees and slippage; 95% interval clustered by day",
             "Win rate": "With its Wilson 95% interval; fewer than 30 trades: not enough history"}


class BacktestExplorer(JobDialog):
    kind = "backtest"
    trade_selected = Signal(object)  # app.services.research.trades.TradeRef

    def __init__(self, jobs: JobManager, settings: Any, db_path: Path, parent: QWidget | None = None,
                 history_folder: Path | None = None) -> None:
        super().__init__(jobs, parent)
        self.setWindowTitle("Backtest explorer")
        self.settings = settings
        self.db_path = db_path
        self.history_folder = history_folder
        self.files: list[str] = []
        self.file_spans: dict[str, tuple[int | None, int | None]] = {}  # first/last candle, read in a job
        self.downloaded: list[Series] = []
        self.exploration: Any = None
        self._source_touched = False
        self._unchecked: set[str] = set()  # pairs the user unticked, kept unticked when the data changes
        self._trade_job: Any = None
        self._trade_pending: int | None = None
        self._build_options()
        self._build_results()
        self.run_button.setText("&Run backtest")
        self.resize(1100, 760)
        self._source_changed()
        self.refresh_downloaded()

    # ------------------------------------------------------------------ options
    def _build_options(self) -> None:
        self.source = QComboBox()
        for key, text in SOURCES:
            self.source.addItem(text, key)
        self.source.setCurrentIndex(self.source.findData(SIMULATED))
        self.pick = QPushButton("Choose files…")
        self.pick.clicked.connect(self.choose)
        self.files_label = QLabel("")
        self.files_label.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.source)
        row.addWidget(self.pick)
        row.addWidget(self.files_label, 1)
        self.form.addRow("Data", row)
        self.pairs = PairList()
        self.form.addRow("Pairs", self.pairs)
        self.timeframe = timeframe_combo()
        self.period = PeriodEdit()
        row = QHBoxLayout()
        row.addWidget(self.timeframe)
        row.addSpacing(16)
        row.addWidget(QLabel("Period"))
        row.addWidget(self.period, 1)
        self.form.addRow("Timeframe", row)
        self.min_score = QDoubleSpinBox()
        self.min_score.setRange(0, 100)
        self.min_score.setDecimals(0)
        self.min_score.setValue(50)
        self.min_score.setToolTip("Signals from this score up are stored (the by-score table); the headline covers "
                                  f"the live minimum score, {self.settings.confluence.min_score:g}")
        self.sim_candles = QSpinBox()
        self.sim_candles.setRange(1000, 2_000_000)
        self.sim_candles.setSingleStep(1000)
        self.sim_candles.setValue(20_000)
        self.sim_candles.setGroupSeparatorShown(True)
        self.sim_label = QLabel("Simulated candles per pair")
        row = QHBoxLayout()
        row.addWidget(self.min_score)
        row.addWidget(QLabel(f"(the verdict covers the live minimum, {self.settings.confluence.min_score:g}, "
                             "and up)"))
        row.addSpacing(16)
        row.addWidget(self.sim_label)
        row.addWidget(self.sim_candles)
        row.addStretch(1)
        self.form.addRow("Store signals from score", row)
        self.source.activated.connect(self._touched)
        self.source.currentIndexChanged.connect(self._source_changed)
        self.timeframe.currentTextChanged.connect(self._show_range)

    def _touched(self, *_: Any) -> None:
        self._source_touched = True

    def choose(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "History files", "",
                                                "Candles (*.feather *.csv *.json *.zip);;All files (*)")
        if files:
            self.set_files(files)

    def set_files(self, files: list[str]) -> None:
        self.files = list(files)
        self.file_spans = {}
        self._source_touched = True
        self.source.setCurrentIndex(self.source.findData(FILES))
        self._source_changed()
        chosen = list(files)

        def run(progress: Any, cancel: Any) -> Any:
            from app.session import data, jobs

            return data.spans(chosen, jobs.Control(progress, cancel))

        submit(self.jobs, f"backtest-spans-{id(self)}", run, self._spans_ready)

    def _spans_ready(self, spans: dict[str, tuple[int | None, int | None]]) -> None:
        self.file_spans = spans
        self._show_range()

    def refresh_downloaded(self) -> None:
        """List the data manager's files in a job (their first and last candle are read from disk)."""
        folder = self.history_folder

        def run(progress: Any, cancel: Any) -> Any:
            from app.session import data, jobs

            return data.inventory(folder, jobs.Control(progress, cancel))

        submit(self.jobs, f"backtest-inventory-{id(self)}", run, self._downloaded_ready)

    def _downloaded_ready(self, rows: list[dict[str, Any]]) -> None:
        self.downloaded = [Series(r["symbol"], r["timeframe"], r["path"], r["first"], r["last"]) for r in rows
                           if not r["error"] and r["candles"]]
        if self.downloaded and not self._source_touched and self.job is None and self.result is None:
            self.source.setCurrentIndex(self.source.findData(DOWNLOADED))
        self._source_changed()

    def source_key(self) -> str:
        return str(self.source.currentData())

    def series(self) -> list[Series]:
        key = self.source_key()
        if key == FILES:
            return [Series(x.symbol, x.timeframe, x.path, *self.file_spans.get(x.path or "", (None, None)))
                    for x in series_of_files(self.files)]
        if key == DOWNLOADED:
            return self.downloaded
        return [Series(s, self.settings.scanner.timeframe, None) for s in self.settings.scanner.symbols]

    def _source_changed(self, *_: Any) -> None:
        key = self.source_key()
        series = self.series()
        self.pick.setVisible(key == FILES)
        self.sim_label.setVisible(key == SIMULATED)
        self.sim_candles.setVisible(key == SIMULATED)
        if key == FILES:
            names = [Path(f).name for f in self.files]
            self.files_label.setText(", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
                                     if names else "no files chosen yet")
        elif key == DOWNLOADED:
            self.files_label.setText(f"{len(series)} files in the data manager's folder" if series else
                                     "nothing downloaded yet: use Tools > Data manager")
        else:
            self.files_label.setText("a seeded simulated market; every figure is labelled SIMULATED")
        self._unchecked |= set(self.pairs.pairs()) - set(self.pairs.checked())
        self._unchecked -= set(self.pairs.checked())
        pairs = sorted({s.symbol for s in series})
        self.pairs.set_pairs(pairs, set(pairs) - self._unchecked)
        tfs = sorted({s.timeframe for s in series})
        if key == SIMULATED:
            tfs = ["1m", "3m", "5m", "15m", "30m", "1h", "4h"]
        set_timeframes(self.timeframe, tfs, self.settings.scanner.timeframe)
        self._show_range()

    def _show_range(self, *_: Any) -> None:
        tf = self.timeframe.currentText()
        spans = [(s.first_ms, s.last_ms) for s in self.series() if s.timeframe == tf and s.first_ms is not None]
        if spans:
            self.period.show_range(min(a for a, _ in spans), max(b for _, b in spans))  # type: ignore[type-var]
        else:
            self.period.show_range(None, None)

    def request(self) -> Any:
        from app.session import jobs

        key = self.source_key()
        pairs = self.pairs.checked()
        tf = self.timeframe.currentText()
        if key == FILES and not self.files:
            raise ValueError("Choose history files first.")
        if key == DOWNLOADED and not self.downloaded:
            raise ValueError("Nothing downloaded yet: use Tools > Data manager, or choose history files.")
        if not pairs:
            raise ValueError("Choose at least one pair.")
        start, end = self.period.bounds()
        if key == SIMULATED:
            return jobs.BacktestRequest(sim_candles=self.sim_candles.value(), timeframe=tf, symbols=tuple(pairs),
                                        min_score=self.min_score.value(), start_ms=start, end_ms=end)
        files = files_for(self.series(), pairs, tf)
        if not files:
            raise ValueError("No files for these pairs and this timeframe.")
        return jobs.BacktestRequest(files=tuple(files), timeframe=tf, symbols=tuple(pairs),
                                    min_score=self.min_score.value(), start_ms=start, end_ms=end)

    def make_job(self) -> JobFn:
        from app.session import explorer, jobs

        settings, db_path, req = self.settings, self.db_path, self.request()

        def run(progress: Any, cancel: Any) -> Any:
            return explorer.explore(settings, db_path, req, jobs.Control(progress, cancel))

        return run

    # ------------------------------------------------------------------ results
    def _build_results(self) -> None:
        self.summary = QLabel("Choose the data and press Run backtest. The result leads with the verdict and the "
                              "net expectancy per trade after costs.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setContentsMargins(8, 8, 8, 8)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.summary)
        self.tabs.addTab(scroll, "Summary")
        self.per_pair = NumbersModel([("Pair", "key", str), *BAND_COLUMNS], self, BAND_TIPS)
        self.tabs.addTab(table_view(self.per_pair), "Per pair")
        self.buckets = NumbersModel([("Score", "label", str), *BAND_COLUMNS], self, BAND_TIPS)
        self.tabs.addTab(table_view(self.buckets), "By score")
        page = QWidget()
        lay = QVBoxLayout(page)
        bar = QHBoxLayout()
        self.trade_pair = QComboBox()
        self.trade_pair.setMinimumContentsLength(12)
        self.only_headline = QCheckBox("Only trades at or above the minimum score (the ones the verdict describes)")
        self.only_headline.setChecked(True)
        self.trade_count = QLabel("")
        bar.addWidget(QLabel("Pair"))
        bar.addWidget(self.trade_pair)
        bar.addWidget(self.only_headline)
        bar.addStretch(1)
        bar.addWidget(self.trade_count)
        lay.addLayout(bar)
        self.trades = TradeListModel(self)
        self.trade_view = table_view(self.trades)
        self.trade_view.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)  # time order
        self.trade_view.setSortingEnabled(True)
        lay.addWidget(self.trade_view, 1)
        self.trade_note = QLabel("Select a trade to show it on the main chart with its entry, exit and levels.")
        self.trade_note.setWordWrap(True)
        lay.addWidget(self.trade_note)
        self.tabs.addTab(page, "Trades")
        self.trade_pair.currentIndexChanged.connect(self._filter_trades)
        self.only_headline.toggled.connect(self._filter_trades)
        self.trade_view.selectionModel().currentRowChanged.connect(self._trade_clicked)

    def _finished(self, result: Any) -> None:
        self.exploration = result
        super()._finished(result.result)

    def show_result(self, r: Any) -> None:
        self.summary.setText(summary_html(r))
        self.per_pair.set_rows(r.get("by_symbol") or [])
        self.buckets.set_rows(r["by_score"])
        table = self.exploration.trades if self.exploration is not None else None
        self.trade_pair.blockSignals(True)
        self.trade_pair.clear()
        self.trade_pair.addItem("All pairs", "")
        for s in table.symbols() if table is not None else []:
            self.trade_pair.addItem(s, s)
        self.trade_pair.blockSignals(False)
        self.only_headline.setText(f"Only trades at or above the minimum score {r['min_score']:g} (the ones the "
                                   "verdict describes)")
        self.trades.set_table(table)
        self._filter_trades()
        self.status.setText(f"Run {r['run_id']} stored.")

    def _filter_trades(self, *_: Any) -> None:
        table = self.trades.table
        if table is None:
            return
        symbol = self.trade_pair.currentData() or None
        self.trades.set_filter(symbol, table.min_score if self.only_headline.isChecked() else None)
        self.trade_count.setText(f"{self.trades.rowCount():,} of {len(table):,} stored trades")

    def _trade_clicked(self, current: Any, _previous: Any = None) -> None:
        if not current.isValid() or self.exploration is None:
            return
        self.request_trade(self.trades.table_row(current.row()))

    def request_trade(self, i: int) -> None:
        """Cut the candles around trade `i` in a job; `trade_selected` follows. A click while one is being cut
        waits and only the latest is shown."""
        if self._trade_job is not None:
            self._trade_pending = i
            return
        exploration = self.exploration

        def run(progress: Any, cancel: Any) -> Any:
            from app.session import jobs

            return exploration.trade(i, jobs.Control(progress, cancel))

        self._trade_job = submit(self.jobs, f"backtest-trade-{id(self)}", run, self._trade_ready, self._trade_failed)

    def _trade_ready(self, ref: Any) -> None:
        self._trade_job = None
        if self._trade_pending is not None:
            i, self._trade_pending = self._trade_pending, None
            self.request_trade(i)
            return
        sim = " · SIMULATED" if ref.source == "SIMULATED" else ""
        self.trade_note.setText(
            f"{ref.side} {ref.symbol} {ref.timeframe} at {fmt.utc(ref.signal_time)} UTC: entry {fmt.price(ref.entry)}, "
            f"stop {fmt.price(ref.stop_loss)}, target {fmt.price(ref.take_profit)} → {ref.outcome} at "
            f"{fmt.price(ref.exit_price)} ({fmt.utc(ref.exit_time)} UTC), {ref.pnl_pct:+.3f}% after costs{sim}")
        self.trade_selected.emit(ref)

    def _trade_failed(self, message: str) -> None:
        self._trade_job = None
        self.trade_note.setText(f"Could not show the trade: {message}")


def summary_html(r: dict[str, Any]) -> str:
    """The result's headline, in the words the command line and the PDF use (app.services.reporting.headline)."""
    parts = []
    if r.get("simulated") or r.get("source") == "SIMULATED":
        parts.append("<p style='color:#c8a04c'><b>SIMULATED market</b>: these numbers are not from real "
                     "trading.</p>")
    v = r.get("verdict")
    if v:
        colour = fmt.VERDICT_COLOURS.get(v, "#555555")
        parts.append(f"<table width='100%' cellpadding='8'><tr><td style='background:{colour}; color:white'>"
                     f"<span style='font-size:15pt'><b>{html.escape(v)}</b></span><br>"
                     f"{html.escape(r.get('verdict_text', ''))}</td></tr></table>")
    elif r.get("verdict_text"):
        parts.append(f"<p><b>No verdict</b>: {html.escape(r['verdict_text'])}</p>")
    parts.append(f"<p style='font-size:12pt'><b>{html.escape(words.expectancy_line(r))}</b></p>")
    for line in (words.edge_line(r), words.account_line(r), words.win_rate_line(r), words.chance_line(r),
                 words.cost_line(r)):
        if line:
            parts.append(f"<p>{html.escape(line)}</p>")
    halves = [(name, r.get(key)) for name, key in (("First half", "first_half"), ("second half", "second_half"))]
    if all(h for _, h in halves):
        text = "; ".join(f"{name} {fmt.pct((h or {}).get('expectancy_pct'))} per trade (n={(h or {}).get('n', 0):,})"
                         for name, h in halves)
        parts.append(f"<p>{html.escape(text)} — nothing was fitted, so neither half is out of sample.</p>")
    parts.append(f"<p style='color:#8a8f98'>{html.escape(data_line(r))}</p>")
    return "".join(parts)


def data_line(r: dict[str, Any]) -> str:
    data = r.get("data") or []
    pairs = sorted({d["symbol"] for d in data})
    tfs = sorted({d["timeframe"] for d in data})
    firsts = [d["first"] for d in data if d.get("first") is not None]
    lasts = [d["last"] for d in data if d.get("last") is not None]
    span = f", {fmt.utc(min(firsts), False)} to {fmt.utc(max(lasts), False)} UTC" if firsts else ""
    return (f"Run {r['run_id']}: {r['candles']:,} candles of {', '.join(pairs)} {', '.join(tfs)}{span}; "
            f"{r['signals']:,} decided trades at or above the minimum score {r['min_score']:g} "
            f"({r.get('undecided', 0):,} undecided at the end of the data); {r.get('stored_signals', 0):,} stored "
            f"from score {r.get('store_floor', 50):g}; {r.get('fees_round_trip_pct', 0):.2f}% round-trip costs.")


BacktestDialog = BacktestExplorer  # the name the window and older callers use
