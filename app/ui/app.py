"""Starting the desktop app; `--smoke-test` opens the window offscreen, runs one scan cycle, exits 0."""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from typing import Any

log = logging.getLogger(__name__)


def _install_excepthooks(app: Any, window: Any) -> None:
    """An exception in any thread is logged and shown in a dialog, never lost (secrets redacted)."""
    from PySide6.QtCore import QObject, Signal

    from app.security import redact

    class Bridge(QObject):
        error = Signal(str)

    bridge = Bridge()
    app._error_bridge = bridge  # keep it alive

    def show(text: str) -> None:
        from PySide6.QtWidgets import QMessageBox

        if os.environ.get("SCALPDESK_NO_DIALOGS"):
            return
        QMessageBox.critical(window, "Unexpected error", text[-3000:])

    bridge.error.connect(show)

    def hook(exc_type: Any, exc: Any, tb: Any) -> None:
        text = redact("".join(traceback.format_exception(exc_type, exc, tb)))
        log.error("unhandled exception:\n%s", text)
        bridge.error.emit(text)

    sys.excepthook = hook
    threading.excepthook = lambda args: hook(args.exc_type, args.exc_value, args.exc_traceback)


_GC: Any = None


def _collect_in_gui_thread() -> None:
    """Python's cycle collector runs in whichever thread allocates when a threshold is passed: in a worker, a
    fake server's or the stream's thread it can destroy a Qt widget that became garbage there, which deadlocks
    or crashes (seen: a dialog's QMenu torn down in an HTTP thread while the GUI thread deleted its actions).
    Automatic collection is turned off and the same thresholds are checked once a second on the GUI thread
    (pyqtgraph's GarbageCollector). Reference counting frees everything else at once, as before."""
    global _GC
    if _GC is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _GC = GarbageCollector(interval=1.0)


def _logging() -> None:
    from app import paths
    from app.security import RedactingFilter

    folder = paths.user_data_dir() / "logs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(folder / "scalpdesk.log", encoding="utf-8")
    except OSError:
        handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def _smoke_watcher_class() -> Any:
    from PySide6.QtCore import QObject, Slot

    class SmokeWatcher(QObject):
        """Lives in the GUI thread, so the worker's signals reach it queued."""

        def __init__(self, window: Any, app: Any) -> None:
            super().__init__()
            self.window, self.app, self.ok = window, app, False

        @Slot(int)
        def done(self, _n: int) -> None:
            w = self.window
            w.refresh()
            self.ok = w.latest is not None
            src = w.latest.source if w.latest is not None else "?"
            print(f"smoke test: window shown, one scan cycle on {src}, {w.active.rowCount()} active signals")
            self.app.quit()

        @Slot(str)
        def failed(self, msg: str) -> None:
            print(f"smoke test failed: {msg}", file=sys.stderr)
            self.app.quit()

    return SmokeWatcher


def _SmokeWatcher(window: Any, app: Any) -> Any:
    return _smoke_watcher_class()(window, app)


def _offer_recovery(db_path: Any, ask: bool) -> bool:
    """Before the window opens: a database that does not open is offered to be moved aside (app.storage.recovery).
    False when the user declines (the app then quits; the file stays untouched)."""
    from app.errors import ScalpDeskError
    from app.storage import recovery

    damage = recovery.check(db_path)
    if damage is None:
        return True
    log.error("%s", damage)
    if not ask:
        return False
    from PySide6.QtWidgets import QMessageBox

    answer = QMessageBox.question(
        None, "Database damaged",
        f"{damage}\n\nMove it aside (nothing is deleted) and start fresh, from the latest good backup when there "
        f"is one?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
    if answer != QMessageBox.StandardButton.Yes:
        return False
    try:
        done = recovery.recover(db_path)
    except ScalpDeskError as exc:
        QMessageBox.critical(None, "Database damaged", str(exc))
        return False
    QMessageBox.information(None, "Database moved aside", done.text())
    return True


def _leave(code: int) -> int:
    """The exit code, after the window has closed. When the close gave up waiting for a worker still in a slow call
    (logged then), the process ends here with `os._exit`: destroying its running QThread at interpreter exit would
    abort ("QThread: Destroyed while thread is still running"). Nothing committed is lost that way (SQLite in WAL
    mode rolls back the unfinished transaction; queued alerts wait in the database)."""
    from app.ui.workers import still_running

    left = still_running()
    if not left:
        return code
    log.error("exiting with work still running, which ends with the process:\n%s", "\n".join(left))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_gui(argv: list[str]) -> int:
    smoke = "--smoke-test" in argv
    if smoke:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        os.environ.setdefault("SCALPDESK_NO_DIALOGS", "1")
    if "--version" in argv:
        from app import __version__

        print(f"ScalpDesk {__version__}")
        return 0
    _logging()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app import paths, settings
    from app.errors import ConfigError
    from app.ui import theme

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("ScalpDesk")
    app.setOrganizationName("ScalpDesk")
    _collect_in_gui_thread()
    from PySide6.QtGui import QIcon

    app.setWindowIcon(QIcon(str(paths.resource_path("icons", "scalpdesk.png"))))
    try:
        cfg = settings.load()
    except ConfigError as exc:
        aside = None
        user = paths.user_config_file()
        if user.exists():
            aside = settings.quarantine(user)
        cfg = settings.from_dict(settings.read_json_file(paths.default_config_path()), "defaults")
        msg = f"{exc}\n\nScalpDesk started with the default settings." + (
            f" A copy of your file was kept as {aside}; your file was not changed." if aside else "")
        if not smoke:
            QMessageBox.warning(None, "Settings not loaded", msg)
        log.error(msg)
    theme.apply(app, cfg.appearance.theme)
    if not _offer_recovery(paths.default_db_path(), ask=not smoke):
        return 2
    from app.ui.main_window import MainWindow

    model = paths.default_model_path() if not cfg.ml.model_path else __import__("pathlib").Path(cfg.ml.model_path)
    window = MainWindow(cfg, paths.default_db_path(), model, interval_s=3600 if smoke else None)
    _install_excepthooks(app, window)
    window.show()
    if os.environ.get("SCALPDESK_EXIT_AFTER_SHOW"):  # start-up benchmark: the window is visible, stop here
        import time as _time

        app.processEvents()
        print(f"shown_at={_time.time():.4f}", flush=True)
        QTimer.singleShot(0, app.quit)
        app.exec()
        window.close()
        return _leave(0)
    if smoke:
        watcher = _SmokeWatcher(window, app)
        window.worker.cycle_finished.connect(watcher.done)
        window.worker.failed.connect(watcher.failed)
        QTimer.singleShot(120_000, app.quit)
        app.exec()
        window.close()
        return _leave(0 if watcher.ok else 1)
    code = app.exec()
    window.close()  # (closed already, unless the app was told to quit another way)
    return _leave(int(code))
