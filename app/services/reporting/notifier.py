"""Telegram and e-mail notifications.

Telegram goes through a queue and a sender thread, so a slow network never delays the scanner; 429 answers
are retried after the server's `retry_after`, 5xx and timeouts with backoff. The bot token and the SMTP
password come from the OS keyring (or SCALPDESK_TELEGRAM_TOKEN / SCALPDESK_SMTP_PASSWORD) and are redacted
from every log line and error.
"""

from __future__ import annotations

import html
import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from app.errors import ScalpDeskError
from app.security import redact, register_auth, register_secret

log = logging.getLogger(__name__)


class NotifyError(ScalpDeskError):
    """`retryable`: whether trying later may help (network, 429, 5xx) or not (a refused token or chat)."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class TelegramNotifier:
    def __init__(self, token: str, chat_id: str, base_url: str = "https://api.telegram.org", timeout_s: float = 5.0,
                 retries: int = 4, sleep: Callable[[float], None] = time.sleep, db_path: Path | None = None,
                 maxsize: int = 1000) -> None:
        from app.services.reporting.outbox import AlertQueue

        register_secret(token)
        self._token = token
        self.chat_id = chat_id
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.retries = retries
        self._sleep = sleep
        # alerts wait in the database (db_path) until sent: an exit or a crash does not lose them
        self.queue = AlertQueue(self.send, "telegram", db_path, maxsize=maxsize)

    @property
    def sent(self) -> int:
        return self.queue.sent

    @property
    def failed(self) -> int:
        return self.queue.failed

    @property
    def dropped(self) -> int:
        return self.queue.dropped

    def send(self, text: str) -> dict[str, Any]:
        """Send now (blocking, with retries); raises NotifyError with a message free of the token."""
        url = f"{self.base_url}/bot{self._token}/sendMessage"
        body = json.dumps({"chat_id": self.chat_id, "text": text, "parse_mode": "HTML",
                           "disable_web_page_preview": True}).encode()
        delay = 1.0
        last = ""
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    answer: dict[str, Any] = _json(resp.read())
                    if answer.get("ok"):
                        return answer
                    raise NotifyError(redact(f"Telegram: {answer.get('description', 'not ok')}"), retryable=False)
            except urllib.error.HTTPError as exc:
                payload = _json(exc.read())
                if exc.code == 429:
                    wait = float(payload.get("parameters", {}).get("retry_after", delay))
                    last = f"rate limited (429), retry after {wait:g}s"
                    if attempt < self.retries:
                        self._sleep(wait)
                    continue
                if 500 <= exc.code < 600:
                    last = f"server error {exc.code}"
                    if attempt < self.retries:
                        self._sleep(delay)
                        delay = min(delay * 2, 30.0)
                    continue
                raise NotifyError(redact(f"Telegram: HTTP {exc.code}: {payload.get('description', '')}"),
                                  retryable=False) from None  # 400/401/403: retrying will not help
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                last = f"network: {getattr(exc, 'reason', exc)}"
                if attempt < self.retries:
                    self._sleep(delay)
                    delay = min(delay * 2, 30.0)
        raise NotifyError(redact(f"Telegram: {last}"))

    # queued, non-blocking use from the scanner
    def post(self, text: str) -> None:
        self.queue.post(text)

    def close(self, timeout: float = 5.0) -> bool:
        """At most `timeout` seconds; True when the sender has stopped (unsent alerts wait in the database)."""
        return self.queue.close(timeout)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        out = json.loads(raw.decode() or "{}")
        return out if isinstance(out, dict) else {}
    except (ValueError, UnicodeDecodeError):
        return {}


def _simulated(s: dict[str, Any]) -> str:
    """The simulated market's messages start by saying so: a phone shows no window around them."""
    return "<b>SIMULATED</b> · " if "SIMULATED" in str(s.get("source", "")) else ""


def signal_message(s: dict[str, Any], accuracy: str) -> str:
    e = html.escape
    ml = "filter off" if s.get("ml_probability") is None else f"{s['ml_probability']:.2f}"
    return (f"{_simulated(s)}<b>{e(s['side'])} {e(s['symbol'])}</b> {e(s['timeframe'])} · score "
            f"{s['confluence_score']:.1f}\n"
            f"entry {s['entry']:.6g} · SL {s['stop_loss']:.6g} · TP {s['take_profit']:.6g}\n"
            f"history: {e(accuracy)}\nML p: {ml} · Tracking live…")


def outcome_message(s: dict[str, Any]) -> str:
    e = html.escape
    return (f"{_simulated(s)}<b>{e(s['status'])}</b> {e(s.get('symbol', ''))} · exit {s['exit_price']:.6g} · "
            f"{s['pnl_pct']:+.2f}% after fees · {s['bars_held']} candles")


def alert_listener(telegram: TelegramNotifier, settings: Any,
                   accuracy_text: Callable[[float, str, str], str]) -> Callable[[Any], None]:
    """A tracker listener that queues the alerts the settings ask for (new signal, outcome, drift). Queued:
    the scanner never waits for the network."""
    n = settings.notifications

    def listen(ev: Any) -> None:
        if ev.kind == "signal_opened" and n.notify_new_signal:
            d = ev.data
            telegram.post(signal_message(d, accuracy_text(d["confluence_score"], d["symbol"], d["timeframe"])))
        elif ev.kind == "signal_closed" and n.notify_outcome:
            telegram.post(outcome_message(ev.data))
        elif ev.kind == "drift_alert":
            telegram.post(f"<b>Drift alert</b>: {html.escape(ev.data['message'])}")

    return listen


class EmailNotifier:
    def __init__(self, host: str, port: int, security: str, user: str, password: str | None, sender: str,
                 to: str, timeout_s: float = 20.0) -> None:
        register_auth(user, password)
        self.host, self.port, self.security = host, port, security
        self.user, self._password, self.sender, self.to = user, password, sender, to
        self.timeout_s = timeout_s

    def send(self, subject: str, body: str, attachment: Path | None = None) -> None:
        msg = EmailMessage()
        msg["Subject"], msg["From"], msg["To"] = subject, self.sender, self.to
        msg.set_content(body)
        if attachment is not None:
            msg.add_attachment(attachment.read_bytes(), maintype="application", subtype="pdf",
                               filename=attachment.name)
        try:
            if self.security == "ssl":
                server: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s,
                                                        context=ssl.create_default_context())
            else:
                server = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            with server:
                if self.security == "starttls":
                    server.starttls(context=ssl.create_default_context())
                if self.user and self._password:
                    server.login(self.user, self._password)
                server.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifyError(redact(f"e-mail via {self.host}:{self.port}: {exc}")) from None


def from_settings(settings: Any, db_path: Path | None = None
                  ) -> tuple[TelegramNotifier | None, EmailNotifier | None, list[str]]:
    """The configured channels, and why any enabled one is not usable. With `db_path`, Telegram alerts queue in
    that database (they survive an exit and are sent at the next start)."""
    from app.security import get_secret

    n = settings.notifications
    problems: list[str] = []
    tg = em = None
    if n.telegram_enabled:
        token = get_secret("telegram_token")
        if not token or not n.telegram_chat_id:
            problems.append("Telegram: set the chat id in Settings and the bot token in the keyring "
                            "(Settings > Notifications) or SCALPDESK_TELEGRAM_TOKEN")
        else:
            import os

            tg = TelegramNotifier(token, n.telegram_chat_id, db_path=db_path,
                                  base_url=os.environ.get("SCALPDESK_TELEGRAM_API", "https://api.telegram.org"))
    if n.email_enabled:
        if not n.smtp_host or not n.email_to:
            problems.append("e-mail: set the SMTP host and the recipient in Settings > Notifications")
        else:
            password = get_secret("smtp_password")
            if n.smtp_user and not password:
                problems.append("e-mail: no SMTP password for the user; store it in the keyring (Settings > "
                                "Notifications) or set SCALPDESK_SMTP_PASSWORD")
            em = EmailNotifier(n.smtp_host, n.smtp_port, n.smtp_security, n.smtp_user, password,
                               n.email_from or n.smtp_user or "scalpdesk@localhost", n.email_to)
    return tg, em, problems
