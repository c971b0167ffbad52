"""Secrets: kept in the OS keyring (or an environment variable), never in files or logs.

Every secret read is registered here so `redact` can strip it from any text that leaves the process
(logs, crash dialogs, reports, exception messages).
"""

from __future__ import annotations

import base64
import logging
import os
import re

_SECRETS: set[str] = set()
SERVICE = "ScalpDesk"


def register_secret(value: str | None) -> None:
    if value and len(value) >= 4:
        _SECRETS.add(value)


def register_auth(user: str, password: str | None) -> None:
    """An SMTP password and the AUTH blobs made of it (a server may echo them back in an error): AUTH PLAIN's
    base64 of "\\0user\\0password" and AUTH LOGIN's base64 of the password."""
    if not password:
        return
    register_secret(password)
    for raw in (f"\0{user}\0{password}", f"{user}\0{user}\0{password}", password):
        blob = base64.b64encode(raw.encode()).decode()
        register_secret(blob)
        register_secret(blob.rstrip("="))


# Whatever the registry misses: credentials in the shapes they travel in.
_PATTERNS = (re.compile(r"(?i)(AUTH\s+(?:PLAIN|LOGIN|XOAUTH2)\s+)\S+"), re.compile(r"(/bot)\d+:[\w-]+"))


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


def get_secret(name: str) -> str | None:
    """From the environment (SCALPDESK_<NAME>) first, then the OS keyring; None when absent."""
    value = os.environ.get(env_name(name))
    if not value:
        try:
            import keyring

            value = keyring.get_password(SERVICE, name)
        except Exception:  # no keyring backend on this machine
            value = None
    register_secret(value)
    return value or None


def env_name(name: str) -> str:
    """The environment variable read instead of the keyring, e.g. SCALPDESK_TELEGRAM_TOKEN."""
    return f"SCALPDESK_{name.upper()}"


def set_secret(name: str, value: str) -> None:
    """Store a secret in the OS keyring; without a usable keyring, a ScalpDeskError naming the environment
    variable that works instead."""
    from app.errors import ScalpDeskError

    register_secret(value)
    try:
        import keyring

        keyring.set_password(SERVICE, name, value)
    except Exception as exc:  # NoKeyringError, a locked or broken backend...
        raise ScalpDeskError(
            f"the {name.replace('_', ' ')} could not be stored: no usable OS keyring on this machine "
            f"({redact(type(exc).__name__)}). Set the environment variable {env_name(name)} instead; ScalpDesk reads "
            f"it at start") from None


class RedactingFilter(logging.Filter):
    """On a handler: every line it writes, message and traceback, with secrets and credential shapes redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
