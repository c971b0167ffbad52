"""Where the data comes from, always visible: the status bar's connection state, and a banner when something needs
the trader (the exchange unreachable, the scanner not started, a replay or the simulated market). Switching to the
simulated market is the trader's choice, never automatic."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

AMBER, RED, GREEN, GREY = "#c8a04c", "#d64545", "#2e9d57", "#8a8f98"
STATE_COLOUR = {"connected": GREEN, "polling": AMBER, "connecting": AMBER, "reconnecting": AMBER, "offline": RED,
                "simulated": AMBER, "replay": AMBER, "files": GREY, "error": RED, "starting": GREY}


def connection_text(label: str, connection: Any, starting_s: float | None = None) -> tuple[str, str]:
    """(words, colour) for the status bar."""
    if connection is None:
        wait = "" if starting_s is None else f" ({starting_s:.0f} s)"
        return f"● {label or 'starting'}: loading candles…{wait}", GREY
    state = connection.state
    if state == "simulated":
        return "● SIMULATED market", AMBER
    if state == "replay":
        return f"● {label}", AMBER
    text = connection.text() if hasattr(connection, "text") else str(state)
    return f"● {label} · {text}", STATE_COLOUR.get(state, GREY)


class Banner(QFrame):
    """A strip above the tables: what happened, and the buttons that deal with it."""

    simulated_chosen = Signal()
    retry_chosen = Signal()
    live_chosen = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.retry = QPushButton("Retry now")
        self.simulated = QPushButton("Use the simulated market")
        self.live = QPushButton("Back to the live source")
        self.retry.clicked.connect(self.retry_chosen)
        self.simulated.clicked.connect(self.simulated_chosen)
        self.live.clicked.connect(self.live_chosen)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.text, 1)
        for b in (self.retry, self.simulated, self.live):
            lay.addWidget(b)
        self.kind = ""
        self.message = ""
        self.setVisible(False)

    def show_kind(self, kind: str, message: str) -> None:
        """kind: offline / failed / replay / disk / "" (hidden)."""
        if (kind, message) == (self.kind, self.message):
            return
        self.kind, self.message = kind, message
        colour = {"offline": RED, "failed": RED, "replay": AMBER, "disk": RED}.get(kind, GREY)
        self.setStyleSheet(f"QFrame#banner {{ border: 1px solid {colour}; border-radius: 3px; }}")
        self.text.setText(f"<span style='color:{colour}'><b>{html.escape(message)}</b></span>")
        self.retry.setVisible(kind in ("offline", "failed"))
        self.simulated.setVisible(kind in ("offline", "failed"))
        self.live.setVisible(kind == "replay")
        self.setVisible(bool(kind))


def banner_for(connection: Any, label: str, errors: dict[str, str] | None = None, watched: int = 0
               ) -> tuple[str, str]:
    """(kind, message) of the banner a snapshot calls for ("" when none). A source whose every watched feed fails
    is offline whatever its connection says (a REST source has no connection state of its own)."""
    if connection is None:
        return "", ""
    state = connection.state
    if errors and watched and len(errors) >= watched and state not in ("simulated", "replay", "offline",
                                                                       "reconnecting"):
        first = next(iter(errors.values()))
        return "offline", (f"{label}: no data for any pair ({first}). The scanner keeps retrying; nothing switches "
                           "source on its own.")
    if state in ("offline", "reconnecting"):
        retry = "" if connection.retry_in_s is None else f" Retrying in {connection.retry_in_s:.0f} s."
        detail = f" ({connection.detail})" if connection.detail else ""
        return "offline", (f"{label}: the exchange cannot be reached{detail}.{retry} The desk shows the last data "
                           "it received; nothing switches source on its own.")
    if state == "replay":
        return "replay", f"{label}: recorded history played back, not the live market."
    return "", ""


def notifications_text(status: dict[str, Any] | None) -> tuple[str, str]:
    """(status-bar words, tooltip) about the alerts and the background tasks; no words while nothing waits and
    nothing went wrong. Drops and failures are this session's (the tooltip has the totals of every session)."""
    if not status:
        return "", ""
    parts: list[str] = []
    tips: list[str] = []
    total = status.get("telegram")
    mine = status.get("telegram_this_session") or {}
    if total is not None:
        bits = [f"{n} {word}" for n, word in ((total.get("queued", 0), "queued"), (mine.get("dropped", 0), "dropped"),
                                              (mine.get("failed", 0), "failed")) if n]
        if bits:
            parts.append("Telegram: " + ", ".join(bits))
        tips.append(f"Telegram alerts, every session: {total.get('sent', 0)} sent, {total.get('queued', 0)} waiting "
                    f"(they survive an exit), {total.get('dropped', 0)} dropped (queue full), "
                    f"{total.get('failed', 0)} given up")
    tasks = [f"{n} {word}" for n, word in ((status.get("tasks_failed", 0), "failed"),
                                           (status.get("tasks_dropped", 0), "dropped")) if n]
    if tasks:
        parts.append("Reports and backups: " + ", ".join(tasks))
    problems = list(status.get("problems") or [])
    if problems:
        parts.append("Notifications: " + ("not set up" if len(problems) == 1 else f"{len(problems)} problems"))
        tips += problems
    if status.get("last_error"):
        tips.append(f"Last error: {status['last_error']}")
    if not parts:
        return "", ""
    return " · ".join(parts), "\n".join(tips)


def status_widgets(parent: QWidget) -> dict[str, QLabel]:
    return {name: QLabel(text, parent) for name, text in (("connection", "● starting…"), ("ml", "ML filter: …"),
                                                          ("scan", "last scan: —"), ("notify", ""), ("error", ""))}
