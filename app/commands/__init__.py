"""Sub-commands of the command line. Each module has `add_parser(sub, common)`, `run(args)` (the result: a dict
or a record with `to_dict()`) and `text(result)`; its heavy imports happen inside `run`, so building the parser
imports no analysis library and a command loads only what it uses. Nothing here imports app.cli."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

Common = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    module: str
    help: str

    def add_parser(self, sub: Any, common: Common) -> None:
        load(self.name).add_parser(sub, common)


COMMANDS = (
    CommandSpec("scan", "app.commands.scan", "signals of one scan cycle"),
    CommandSpec("backtest", "app.commands.backtest", "run the signal engine over history"),
    CommandSpec("train", "app.commands.train", "train the ML signal filter"),
    CommandSpec("optimize", "app.commands.optimize", "thresholds, patterns or a strategy search"),
    CommandSpec("track", "app.commands.track", "run the live pipeline"),
    CommandSpec("report", "app.commands.report", "PDF report and notification test"),
    CommandSpec("db", "app.commands.db", "check, back up or recover the database"),
)


def load(name: str) -> ModuleType:
    """The module of a command (`notify` lives with `report`)."""
    for spec in COMMANDS:
        if spec.name == name or (name == "notify" and spec.name == "report"):
            return importlib.import_module(spec.module)
    raise KeyError(name)
