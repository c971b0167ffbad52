"""Secrets: kept in the OS keyring (or an environment variable), never in files or logs.

Every secret read is registered here so `redact` can strip it from any text that leaves the process
(logs, crash dialogs, reports, exception messages).
"""

from __future__ import annotations

import logging
import os

_SECRETS: set[str] = set()
SERVICE = "ScalpDesk"


def register_secret(value: str | None) -> None:
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def get_secret(name: str) -> str | None:
    """From the environment (SCALPDESK_<NAME>) first, then the OS keyring; None when absent."""
    value = os.environ.get(f"SCALPDESK_{name.upper()}")
    if not value:
        try:
            import keyring

            value = keyring.get_password(SERVICE, name)
        except Exception:  # no keyring backend on this machine
            value = None
    register_secret(value)
    return value or None


def set_secret(name: str, value: str) -> None:
    import keyring

    register_secret(value)
    keyring.set_password(SERVICE, name, value)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            record.msg = redact(record.getMessage())
            record.args = None
        return True
