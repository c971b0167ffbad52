"""Alerts: a sound and a desktop notification when a new signal opens at or above its pair's alert score, never
for a muted pair; every decision kept in an alert history the trader can read back (also the silent ones, with the
reason). One pop-up and one sound per refresh however many signals open: a burst must not flood the desktop."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.ui.models import GREEN, GREY, Column, KeyedTableModel, side_colour
from app.ui.tables import TableView


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: int  # the signal's id
    at_ms: int  # when the window learnt of it
    symbol: str
    timeframe: str
    side: str
    score: float
    alerted: bool
    what: str  # "sound and pop-up", "muted", "below the alert score 70"...


def alert_score(alerts: Any, symbol: str) -> float:
    return float(alerts.min_score_by_symbol.get(symbol, alerts.min_score))


def decide(row: Any, alerts: Any, desktop: bool) -> tuple[bool, str]:
    """Whether a new signal alerts, and in words what happened."""
    if row.symbol in alerts.muted:
        return False, "muted"
    threshold = alert_score(alerts, row.symbol)
    if row.confluence_score < threshold:
        return False, f"below the alert score {threshold:g}"
    ways = [w for w, on in (("sound", alerts.sound), ("pop-up", desktop)) if on]  # desktop: pop-ups can show
    return bool(ways), " and ".join(ways) if ways else "sound and pop-ups are off"


def tray_message(opened: Sequence[Any], closed: Sequence[Any], source: str = "") -> tuple[str, str] | None:
    """One desktop pop-up per refresh however many signals opened or closed: a burst must not flood the
    desktop. Outcomes carry their result after fees, as the completions table shows them (a burst: the mean per
    trade, never a sum of overlapping returns); the simulated market's pop-ups say SIMULATED."""
    lines = []
    if len(opened) == 1:
        r = opened[0]
        lines.append(f"New: {r.side} {r.symbol} {r.timeframe} · score {r.confluence_score:.1f}")
    elif opened:
        lines.append(f"{len(opened)} new signals")
    if len(closed) == 1:
        r = closed[0]
        lines.append(f"{r.status}: {r.side} {r.symbol} {r.timeframe} · {r.pnl_pct:+.2f}% after fees")
    elif closed:
        count = {k: sum(r.status == k for r in closed) for k in ("WIN", "LOSS", "EXPIRED")}
        mean = sum(r.pnl_pct for r in closed) / len(closed)
        lines.append(f"{len(closed)} closed: {count['WIN']} won, {count['LOSS']} lost, {count['EXPIRED']} expired · "
                     f"{mean:+.2f}% per trade after fees")
    if not lines:
        return None
    title = "New signal" if not closed else "Signal closed" if not opened else "Signals"
    if "SIMULATED" in source:
        title = f"SIMULATED · {title}"
    return title, "\n".join(lines)


class AlertsModel(KeyedTableModel):
    natural_reverse = True  # newest first
    columns = (  # what happened before the details: the dock is narrow
        Column("Time", "at_ms", lambda m, r: m.clock.time(r.at_ms), "When the window learnt of the signal",
               zoned=True),
        Column("Symbol", "symbol"), Column("Alert", "what", None, "What the alert did, or why it stayed silent"),
        Column("Side", "side"), Column("Score", "score", lambda m, r: f"{r.score:.1f}", right=True),
        Column("TF", "timeframe"),
    )

    def colour(self, row: Any, col: Column) -> QColor | None:
        if col.key == "side":
            return side_colour(row.side)
        if col.key == "what":
            return GREEN if row.alerted else GREY
        return None


class AlertCenter:
    """Decides, sounds, pops up and remembers. `beep` and `tray` are injected (tests count them)."""

    def __init__(self, beep: Callable[[], None], tray: Any = None, keep: int = 500,
                 clock: Callable[[], float] = time.time) -> None:
        self.beep = beep
        self.tray = tray
        self.keep = keep
        self.clock = clock
        self.model = AlertsModel()
        self.sounds = 0

    def on_changes(self, opened: Sequence[Any], closed: Sequence[Any], settings: Any,
                   source: str = "") -> list[AlertRecord]:
        """New open rows and newly closed rows of one refresh (`source`: the snapshot's, for the SIMULATED label)."""
        alerts = settings.alerts
        desktop = bool(settings.appearance.tray_notifications) and self.tray is not None
        now = int(self.clock() * 1000)
        records = []
        for r in opened:
            ok, what = decide(r, alerts, desktop)
            records.append(AlertRecord(r.id, now, r.symbol, r.timeframe, r.side, r.confluence_score, ok, what))
        loud = [r for r, rec in zip(opened, records, strict=True) if rec.alerted]
        if loud and alerts.sound:
            self.beep()
            self.sounds += 1
        done = [r for r in closed if r.symbol not in alerts.muted] if settings.notifications.notify_outcome else []
        if self.tray is not None and desktop:
            pop = tray_message(loud, done, source)
            if pop is not None:
                self.tray.showMessage(*pop)
        if records:
            self.model.append_front(records, keep=self.keep)
        return records


class AlertsPanel(QWidget):
    def __init__(self, center: AlertCenter, parent: Any = None) -> None:
        super().__init__(parent)
        self.center = center
        self.view = TableView(center.model, "alerts", "No alerts yet. A new signal at or above its pair's alert "
                                                      "score makes a sound and a desktop notification; each one is "
                                                      "listed here, the silent ones with the reason.")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.summary)
        lay.addWidget(self.view, 1)

    def show_settings(self, settings: Any) -> None:
        a = settings.alerts
        own = ", ".join(f"{s} {v:g}" for s, v in sorted(a.min_score_by_symbol.items()))
        pops = "off" if not settings.appearance.tray_notifications else "on" if self.center.tray is not None \
            else "unavailable (no system tray)"
        self.summary.setText(
            f"Sound {'on' if a.sound else 'off'} · pop-ups {pops}"
            f" · alert from score {a.min_score:g}" + (f" (own: {own})" if own else "")
            + (f" · muted: {', '.join(sorted(a.muted))}" if a.muted else "")
            + ". Change them from the watchlist's context menu or in Settings.")
