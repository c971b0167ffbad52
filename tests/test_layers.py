"""Layering: core and services never import Qt; only the exchange adapter imports ccxt; only storage
opens SQLite."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_core_and_services_do_not_import_qt():
    code = ("import sys, app.core.signals, app.core.outcomes, app.core.stats, app.services.live.scanner, "
            "app.services.research.backtester, app.cli, app.commands; "
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
    assert _imports(r"^\s*(import ccxt|from ccxt)") == {"app/market/exchange.py", "app/market/exchange_ws.py"}


def test_only_storage_opens_sqlite():
    assert {p for p in _imports(r"^\s*(import sqlite3|from sqlite3)") if not p.startswith("app/storage/")} == set()


def test_only_ui_imports_qt():
    assert {p for p in _imports(r"^\s*(import|from) (PySide6|pyqtgraph)") if not p.startswith("app/ui/")} == set()


def _app_imports(path, module_level_only: bool) -> set[str]:
    """Modules of app/ that a file imports (module level only, or anywhere), TYPE_CHECKING blocks excluded."""
    import ast

    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(node, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inner = top and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import) and (top or not module_level_only):
                found.update(a.name for a in child.names if a.name.startswith("app"))
            elif isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("app") and \
                    (top or not module_level_only):
                found.add(child.module)
                found.update(f"{child.module}.{a.name}" for a in child.names)
            visit(child, inner)

    visit(tree, True)
    return found


def _modules() -> dict[str, object]:
    out = {}
    for path in (ROOT / "app").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
        out[rel.removesuffix(".__init__")] = path
    return out


def test_app_has_no_import_cycle():
    mods = _modules()
    graph = {m: {i for i in _app_imports(p, True) if i in mods and i != m} for m, p in mods.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return [*stack[stack.index(n):], n]
            if n not in state and (cycle := dfs(n)):
                return cycle
        state[m] = 2
        stack.pop()
        return None

    for m in sorted(mods):
        if m not in state and (cycle := dfs(m)):
            raise AssertionError("import cycle: " + " -> ".join(cycle))


def test_imports_point_one_way():
    """ui -> session -> services -> core; core imports no other layer; nothing below the window imports it."""
    below = {"app.core": ("app.services", "app.session", "app.ui", "app.market", "app.storage", "app.ml",
                          "app.commands", "app.cli"),
             "app.services": ("app.session", "app.ui", "app.commands", "app.cli"),
             "app.session": ("app.ui", "app.commands", "app.cli"),
             "app.market": ("app.services", "app.session", "app.ui", "app.storage"),
             "app.storage": ("app.services", "app.session", "app.ui", "app.market", "app.ml")}
    bad = []
    for m, p in _modules().items():
        for layer, forbidden in below.items():
            if m == layer or m.startswith(layer + "."):
                bad += [f"{m} imports {i}" for i in _app_imports(p, False) if i.startswith(forbidden)]
    assert bad == []
