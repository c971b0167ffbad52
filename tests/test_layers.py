"""Layering: core and services never import Qt; only the exchange adapter imports ccxt; only storage
opens SQLite."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_core_and_services_do_not_import_qt():
    code = ("import sys, app.core.signals, app.core.outcomes, app.core.stats, app.services.scanner, "
            "app.services.backtester, app.cli, app.commands; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]; print(bad); "
            "sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _imports(pattern: str) -> set[str]:
    found = set()
    for path in (ROOT / "app").rglob("*.py"):
        if re.search(pattern, path.read_text(), re.MULTILINE):
            found.add(path.relative_to(ROOT).as_posix())
    return found


def test_only_the_exchange_adapter_imports_ccxt():
    assert _imports(r"^\s*(import ccxt|from ccxt)") == {"app/market/exchange.py"}


def test_only_storage_opens_sqlite():
    assert {p for p in _imports(r"^\s*(import sqlite3|from sqlite3)") if not p.startswith("app/storage/")} == set()


def test_only_ui_imports_qt():
    assert {p for p in _imports(r"^\s*(import|from) (PySide6|pyqtgraph)") if not p.startswith("app/ui/")} == set()
