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
    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            record.msg = redact(record.getMessage())
            record.args = None
        return True
