"""Sub-commands of the command line: each module adds its parser and registers its handler."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from app.commands import backtest, optimize, report, scan, track, train

MODULES = [scan, backtest, train, optimize, track, report]


def add_parsers(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    for module in MODULES:
        module.add_parser(sub, common)
