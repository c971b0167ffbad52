"""Where user files live and where shipped resources are found (source tree or PyInstaller bundle).

`SCALPDESK_HOME` relocates every user file (tests, portable use): config in `$SCALPDESK_HOME/config`,
data (database, models, reports, logs) in `$SCALPDESK_HOME/data`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "ScalpDesk"


def bundle_root() -> Path:
    """Root of shipped files: the PyInstaller extraction dir when frozen, else the source tree."""
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        return Path(meipass)
    return Path(__file__).resolve().parent.parent


def resource_path(*parts: str) -> Path:
    return bundle_root().joinpath("resources", *parts)


def default_config_path() -> Path:
    return bundle_root() / "config" / "default_config.json"


def _home() -> Path | None:
    value = os.environ.get("SCALPDESK_HOME")
    return Path(value).expanduser() if value else None


def user_config_dir() -> Path:
    home = _home()
    if home is not None:
        return home / "config"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_data_dir() -> Path:
    home = _home()
    if home is not None:
        return home / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_config_file() -> Path:
    return user_config_dir() / "config.json"


def default_db_path() -> Path:
    return user_data_dir() / "scalpdesk.sqlite"


def default_model_path() -> Path:
    return user_data_dir() / "models" / "signal_filter.model"


def reports_dir() -> Path:
    return user_data_dir() / "reports"


def history_dir() -> Path:
    """Exchange history downloaded by the data manager, as freqtrade writes it (`BTC_USDT-5m.feather`)."""
    return user_data_dir() / "history"


def low_disk_warning(folder: Path | None = None, min_free_mb: float = 200.0) -> str | None:
    """A warning when the disk of the data folder has less than `min_free_mb` free (None otherwise): writes would
    start failing there (the database, reports, models). Cheap (one statvfs); call it off the GUI thread."""
    import shutil

    where = folder or user_data_dir()
    probe = where
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free / 1e6
    except OSError:
        return None
    if free >= min_free_mb:
        return None
    return f"The disk of {where} is almost full ({free:.0f} MB free): new signals, reports and models cannot be " \
           f"saved until space is freed."
