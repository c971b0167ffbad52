"""Helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from app import paths
from app.settings import Settings, load, set_config

Common = Callable[[argparse.ArgumentParser], None]


def settings_from(args: argparse.Namespace) -> Settings:
    settings = load(getattr(args, "config", None))
    set_config(settings)
    return settings


def db_path(args: argparse.Namespace) -> Path:
    value = getattr(args, "db", None)
    return Path(value) if value else paths.default_db_path()


def model_path(args: argparse.Namespace, settings: Settings) -> Path:
    value = getattr(args, "model", None) or settings.ml.model_path
    return Path(value) if value else paths.default_model_path()


def progress_printer(args: argparse.Namespace) -> Callable[[float, str], None]:
    """Progress on stderr with --verbose, silence otherwise (stdout holds only the result)."""
    def show(frac: float, msg: str) -> None:
        if getattr(args, "verbose", False):
            print(f"[{frac * 100:5.1f}%] {msg}", file=sys.stderr)

    return show


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*[str(x) for x in r]) for r in rows]
    return "\n".join(lines)
