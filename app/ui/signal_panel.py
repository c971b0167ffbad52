"""The selected signal: what to do with it (position size, money at risk, reward/risk, costs, one key to copy the
levels) and why it fired (score components as bars, patterns, indicators on the signal candle, the ML filter, and
what history says about its score band: expectancy with its interval and verdict, a win rate only beside its
break-even)."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.core.confluence import COMPONENTS
from app.core.prices import format_price
from app.core.sizing import Sizing, quantity_text, size_position
from app.ui.formatting import Clock

GREEN, RED, AMBER, GREY = "#2e9d57", "#d64545", "#c8a04c", "#8a8f98"
WORDS = {"trend": "Trend (EMAs, ADX)", "momentum": "Momentum (RSI, MACD, Stoch.)", "volume": "Volume (z-score, "
         "VWAP)", "volatility": "Volatility (Bollinger)", "pattern": "Candle patterns"}


def pattern_words(name: str) -> str:
    """CDLENGULFING -> Engulfing, CDL3WHITESOLDIERS -> 3 White Soldiers."""
    known = {"CDL3WHITESOLDIERS": "3 White Soldiers", "CDL3BLACKCROWS": "3 Black Crows",
             "CDLDARKCLOUDCOVER": "Dark Cloud Cover", "CDLINVERTEDHAMMER": "Inverted Hammer",
             "CDLSHOOTINGSTAR": "Shooting Star", "CDLMORNINGSTAR": "Morning Star", "CDLEVENINGSTAR": "Evening Star"}
    return known.get(name, name.removeprefix("CDL").title())


def split_symbol(symbol: str) -> tuple[str, str]:
    base, _, quote = symbol.partition("/")
    return base, quote or "quote"


class ComponentBars(QWidget):
    """The five components of a score as bars: points earned against the component's maximum."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.parts: list[tuple[str, float, float]] = []
        self.colour = QColor(GREEN)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_parts(self, parts: list[tuple[str, float, float]], side: str) -> None:
        self.parts = parts
        self.colour = QColor(GREEN if side == "LONG" else RED)
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(260, (self.fontMetrics().height() + 6) * max(1, len(self.parts)))

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        fm = self.fontMetrics()
        row_h = fm.height() + 6
        label_w = min(max((fm.horizontalAdvance(WORDS[n]) for n in COMPONENTS), default=100) + 10,
                      int(self.width() * 0.5))
        value_w = fm.horizontalAdvance("00.0 / 00") + 8
        bar_w = max(20, self.width() - label_w - value_w)
        text = self.palette().windowText().color()
        for k, (name, points, top) in enumerate(self.parts):
            y = k * row_h
            p.setPen(text)
            p.drawText(QRectF(0, y, label_w, row_h), int(Qt.AlignmentFlag.AlignVCenter),
                       fm.elidedText(WORDS.get(name, name), Qt.TextElideMode.ElideRight, label_w - 6))
            frame = QRectF(label_w, y + 3, bar_w, row_h - 6)
            p.fillRect(frame, QColor(128, 128, 128, 50))
            frac = 0.0 if top <= 0 else max(0.0, min(1.0, points / top))
            p.fillRect(QRectF(frame.left(), frame.top(), frame.width() * frac, frame.height()), self.colour)
            p.drawText(QRectF(label_w + bar_w, y, value_w, row_h),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), f"{points:.1f} / {top:.0f}")
        p.end()


def _label() -> QLabel:
    lab = QLabel("")
    lab.setWordWrap(True)
    lab.setTextFormat(Qt.TextFormat.RichText)
    lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    lab.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    return lab


class SizingPanel(QWidget):
    """Position size and money of the selected signal, from the settings' account and risk per trade."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.text = _label()
        self.text.setObjectName("sizing_text")
        self.copy_button = QPushButton("Copy levels and size (Ctrl+Shift+C)")
        self.copy_button.clicked.connect(self.copy)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.text)
        lay.addWidget(self.copy_button)
        lay.addStretch(1)
        self.row: Any = None
        self.sizing: Sizing | None = None
        self.tick = 0.01
        self.show_signal(None, None, 0.01)

    def show_signal(self, row: Any, settings: Any, tick: float) -> None:
        """`row`: an open or closed signal row of the snapshot (None: nothing selected)."""
        self.row, self.tick = row, tick
        self.copy_button.setEnabled(row is not None)
        if row is None or settings is None:
            self.sizing = None
            self.text.setText("<p style='color:#8a8f98'>Select a signal to size a position from your account and "
                              "risk per trade (Settings: Risk).</p>")
            return
        from app.core.outcomes import Costs

        r, round_trip = settings.risk, Costs.from_settings(settings).round_trip_pct
        s = size_position(r.account_size, r.risk_per_trade_pct, row.entry, row.stop_loss, row.take_profit,
                          round_trip)
        self.sizing = s
        base, quote = split_symbol(row.symbol)
        head = (f"<p><b style='color:{GREEN if row.side == 'LONG' else RED}'>{row.side}</b> <b>{row.symbol}</b> "
                f"{row.timeframe} · entry {format_price(row.entry, tick)} · SL {format_price(row.stop_loss, tick)} "
                f"· TP {format_price(row.take_profit, tick)}</p>")
        if s is None:
            self.text.setText(head + "<p>These levels cannot size a position (no distance to the stop).</p>")
            return

        def money(x: float) -> str:
            return f"{x:,.2f} {quote}"

        be = "—" if s.break_even_win_rate is None else f"{s.break_even_win_rate:.1%}"
        rows = [
            ("Position size", f"{quantity_text(s.quantity)} {base}"),
            ("Notional", f"{money(s.notional)} ({s.leverage:.2f}× the account)"),
            ("Risk at the stop", f"{money(s.risk_money)} + {money(s.costs_money)} costs = {money(s.loss_at_stop)}"),
            ("Reward at the target", f"{money(s.reward_money)} − costs = {money(s.gain_at_target)}"),
            ("Reward / risk", f"{s.reward_risk:.2f} (after costs {s.reward_risk_net:.2f})"),
            ("Fees and slippage", f"{money(s.costs_money)} round trip ({round_trip:.2f}% of the notional)"),
            ("Break-even win rate", f"{be} after costs"),
        ]
        body = "".join(f"<tr><td>{html.escape(k)}</td><td align='right'><b>{html.escape(v)}</b></td></tr>"
                       for k, v in rows)
        note = (f"<p>Account {money(r.account_size)}, {r.risk_per_trade_pct:g}% risked per trade (Settings: Risk).</p>")
        if s.leverage > 1:
            note += (f"<p style='color:{AMBER}'>The position is {s.leverage:.1f}× the account: it needs margin or a "
                     "smaller risk.</p>")
        self.text.setText(head + f"<table width='100%' cellspacing='2'>{body}</table>" + note)

    def clipboard_text(self) -> str:
        """One line a trader pastes into an order ticket."""
        row = self.row
        if row is None:
            return ""
        t = self.tick
        size = "" if self.sizing is None else f" size {quantity_text(self.sizing.quantity)}"
        return (f"{row.symbol} {row.side} entry {format_price(row.entry, t)} SL {format_price(row.stop_loss, t)} "
                f"TP {format_price(row.take_profit, t)}{size}")

    def copy(self) -> str:
        text = self.clipboard_text()
        if text:
            QGuiApplication.clipboard().setText(text)
        return text


class WhyPanel(QWidget):
    """Why the selected signal fired (a WhyReport from the worker)."""

    def __init__(self, parent: Any = None, clock: Clock | None = None) -> None:
        super().__init__(parent)
        self.clock = clock or Clock()
        self.head = _label()
        self.bars = ComponentBars()
        self.body = _label()
        self.body.setObjectName("why_text")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.head)
        lay.addWidget(self.bars)
        lay.addWidget(self.body)
        lay.addStretch(1)
        self.report: Any = None
        self.show_report(None)

    def show_report(self, report: Any, pattern_points: dict[str, float] | None = None) -> None:
        self.report = report
        if report is None:
            self.head.setText("<p style='color:#8a8f98'>Select a signal to see why it fired: the parts of its score, "
                              "the patterns, the indicators on its candle, the ML filter and what history says about "
                              "its score band.</p>")
            self.bars.set_parts([], "LONG")
            self.bars.setVisible(False)
            self.body.setText("")
            return
        r = report
        t = r.tick
        colour = GREEN if r.side == "LONG" else RED
        self.head.setText(
            f"<p><b style='color:{colour}'>{r.side}</b> <b>{r.symbol}</b> {r.timeframe} · score <b>{r.score:.1f}</b> "
            f"(a signal from {r.min_score:g}) · candle of {self.clock.full_zoned(r.signal_time)} · "
            f"{'open' if r.status == 'OPEN' else r.status}</p>")
        self.bars.setVisible(True)
        self.bars.set_parts([(c.name, c.points, c.max_points) for c in r.components], r.side)
        points = pattern_points or {}
        pats = ", ".join(pattern_words(p) + (f" (+{points[p]:g})" if p in points else "") for p in r.patterns) \
            or "none on the signal candle"
        self.body.setText("".join((
            f"<p><b>Patterns:</b> {html.escape(pats)}</p>",
            self._indicators(r, t), self._ml(r), self._history(r))))

    def _indicators(self, r: Any, t: float) -> str:
        if not r.indicators:
            return f"<p><b>Indicators:</b> <span style='color:{GREY}'>{html.escape(r.indicator_note)}</span></p>"
        from app.services.live.why import PRICE_LIKE

        cells = [("Close", format_price(r.close, t))]
        for key, words, value in r.indicators:
            if value is None:
                text = "warming up"
            elif key in PRICE_LIKE:
                text = format_price(value, t / 10 if key in ("macd_hist", "atr") else t)
            elif key in ("bb_width", "bb_width_avg"):
                text = f"{value * 100:.2f}%"
            else:
                text = f"{value:.1f}"
            cells.append((words, text))
        half = (len(cells) + 1) // 2
        rows = "".join(
            f"<tr><td>{html.escape(a[0])}</td><td align='right'>{a[1]}</td><td width='12'></td>"
            + (f"<td>{html.escape(b[0])}</td><td align='right'>{b[1]}</td>" if b else "<td></td><td></td>") + "</tr>"
            for a, b in zip(cells[:half], [*cells[half:], None], strict=False))
        return f"<p><b>Indicators on the signal candle</b></p><table cellspacing='1'>{rows}</table>"

    @staticmethod
    def _ml(r: Any) -> str:
        if r.ml_status.startswith("off"):
            return (f"<p><b>ML filter:</b> <span style='color:{AMBER}'>{html.escape(r.ml_status)}</span>: this "
                    "signal was not rated.</p>")
        p = "not rated" if r.ml_probability is None else f"win probability {r.ml_probability:.2f}"
        return f"<p><b>ML filter:</b> {p} ({html.escape(r.ml_status)})</p>"

    @staticmethod
    def _history(r: Any) -> str:
        h = r.history
        band = f"score band {h['lo']:g}–{h['hi']:g}"
        if h.get("run_id") is None:
            return (f"<p><b>History of its {band}:</b> <span style='color:{GREY}'>not enough history: no backtest "
                    "with these risk settings yet (Tools: Run backtest).</span></p>")
        if h.get("expectancy_pct") is None:
            return (f"<p><b>History of its {band}</b> (run {h['run_id']}): <span style='color:{GREY}'>not enough "
                    f"history (n={h.get('n', 0)}, at least 30 needed)</span></p>")
        from app.core.edge import Verdict

        verdict = h.get("verdict")
        words = Verdict(verdict).text if verdict in Verdict.__members__ else ""
        vc = GREEN if verdict == "PROFITABLE" else RED
        ci = "" if h.get("exp_ci_low") is None else f" (95%: {h['exp_ci_low']:+.2f} to {h['exp_ci_high']:+.2f})"
        be = "" if r.break_even_win_rate is None else f" against a break-even of {r.break_even_win_rate:.0%} for " \
                                                      "these levels"
        win = "" if h.get("win_rate") is None else (
            f" Won {h['win_rate']:.0%} ({h['ci_low']:.0%}–{h['ci_high']:.0%}){be}.")
        return (f"<p><b>History of its {band}</b> · {html.escape(str(h.get('scope')))}, backtest run {h['run_id']}: "
                f"<b>{h['expectancy_pct']:+.2f}% per trade after costs</b>{ci} over {h['n']} trades.{win}</p>"
                f"<p style='color:{vc}'><b>{html.escape(str(verdict))}</b>: {html.escape(words)}</p>")
