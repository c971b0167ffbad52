"""Typed settings: shipped defaults (config/default_config.json) overlaid by the user's file.

The user's file holds only what the user (or an optimiser) changed. Every field carries metadata
(label, range, help, group) so the settings dialog can be generated from it. Loading validates once
and names the file and the key (or the JSON line) of any problem; a broken file is never modified.
Saves are atomic (write, fsync, rename) and keep the previous version as `.bak`.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import paths
from app.errors import ConfigError

log = logging.getLogger(__name__)


def meta(label: str, help: str = "", lo: float | None = None, hi: float | None = None,
         choices: tuple[str, ...] | None = None, secret: bool = False, pattern: str | None = None,
         expected: str = "") -> dict[str, Any]:
    """`pattern`: a regular expression a text value must match in full; `expected` says it in words."""
    return {"label": label, "help": help, "lo": lo, "hi": hi, "choices": choices, "secret": secret,
            "pattern": pattern, "expected": expected}


HHMM = r"([01][0-9]|2[0-3]):[0-5][0-9]"
MAX_DEPTH = 12  # settings nest 4 levels; a deeper file is a mistake (and deep recursion is a crash)


@dataclass(frozen=True)
class PatternScore:
    points: float = field(metadata=meta("Points", "Points added to the pattern component", 0, 25))
    win_rate: float | None = field(metadata=meta("Win rate", "Measured win rate (fraction)", 0, 1))
    count: int = field(metadata=meta("Samples", "Signals the win rate was measured on", 0, None))


@dataclass(frozen=True)
class Weights:
    trend: float = field(metadata=meta("Trend weight", "Max points from EMA alignment and ADX", 0, 100))
    momentum: float = field(metadata=meta("Momentum weight", "Max points from RSI, MACD, Stochastic", 0, 100))
    volume: float = field(metadata=meta("Volume weight", "Max points from volume z-score and VWAP", 0, 100))
    volatility: float = field(metadata=meta("Volatility weight", "Max points from Bollinger/ATR regime", 0, 100))
    pattern: float = field(metadata=meta("Pattern weight", "Max points from candlestick patterns", 0, 100))


@dataclass(frozen=True)
class Confluence:
    min_score: float = field(metadata=meta("Minimum confluence score",
                                           "A setup becomes a signal at or above this score", 0, 100))
    weights: Weights
    provenance: dict[str, Any] | None = field(metadata=meta("Provenance", "Who set min_score, on what data"))


@dataclass(frozen=True)
class PatternScores:
    enabled: list[str] = field(metadata=meta("Enabled patterns", "TA-Lib CDL function names"))
    patterns: dict[str, PatternScore]
    provenance: dict[str, Any] | None = field(metadata=meta("Provenance", "Who set the points"))


@dataclass(frozen=True)
class Risk:
    sl_atr: float = field(metadata=meta("Stop-loss (ATR)", "Stop distance in ATR(14) multiples", 0.1, 20))
    tp_atr: float = field(metadata=meta("Take-profit (ATR)", "Target distance in ATR(14) multiples", 0.1, 50))
    max_hold_bars: int = field(metadata=meta("Max hold (candles)", "H: a signal expires after H candles", 1, 2000))
    target_cost_multiple: float = field(metadata=meta(
        "Target must pay costs ×", "A setup is a signal only if its target, after the round-trip fees and slippage, "
        "pays at least this many times those costs (0: the target must at least cover them)", 0, 20))
    risk_per_trade_pct: float = field(metadata=meta(
        "Risk per trade %", "Share of the account lost if the stop is hit: sizes positions in the account "
        "simulation and on each signal", 0.01, 10))
    account_size: float = field(metadata=meta("Account size", "In the quote currency (e.g. USDT): position sizes "
                                              "and money figures on each signal", 1, None))


# Fee per side, % (Binance spot, regular tier, as published in 2024): what the presets stand for.
FEE_PRESETS = {"binance_taker": 0.10, "binance_maker": 0.10, "binance_maker_bnb": 0.075}


@dataclass(frozen=True)
class Fees:
    preset: str = field(metadata=meta(
        "Fee level", "custom: the fee below; binance_taker 0.10 %, binance_maker 0.10 %, binance_maker_bnb 0.075 % "
        "(maker paying fees in BNB) per side, Binance spot regular tier", choices=("custom", *FEE_PRESETS)))
    taker_pct: float = field(metadata=meta("Fee per side %", "Charged on entry and on exit (used when the fee "
                                           "level is custom)", 0, 5))
    slippage_pct: float = field(metadata=meta("Slippage %", "Assumed on entry and on exit", 0, 5))

    @property
    def fee_pct(self) -> float:
        """The fee charged on each side: the preset's, or the custom one."""
        return FEE_PRESETS.get(self.preset, self.taker_pct)


@dataclass(frozen=True)
class Ml:
    enabled: bool = field(metadata=meta("Use the ML filter", "Skip signals the model rates below the minimum"))
    min_probability: float = field(metadata=meta("Minimum win probability", "Signals below are skipped", 0, 1))
    model_path: str = field(metadata=meta("Model file", "Empty: the default place in the data folder"))


@dataclass(frozen=True)
class Scanner:
    source: str = field(metadata=meta("Data source", "sim: simulated market; exchange: live public data",
                                      choices=("sim", "exchange")))
    exchange: str = field(metadata=meta("Exchange", "A ccxt exchange id, e.g. binance"))
    symbols: list[str] = field(metadata=meta("Symbols", "Pairs to watch, e.g. BTC/USDT"))
    timeframe: str = field(metadata=meta("Timeframe", "Candle length",
                                         choices=("1m", "3m", "5m", "15m", "30m", "1h", "4h")))
    extra_timeframes: list[str] = field(metadata=meta("Also watch timeframes", "More candle lengths scanned at "
                                                      "the same time, e.g. 1m, 15m (empty: only the timeframe above)"))
    sides: str = field(metadata=meta("Sides", "Which setups become signals: both sides, long only or short only",
                                     choices=("both", "long", "short")))
    universe: str = field(metadata=meta("Pairs to watch", "list: the symbols above; top_volume: the N pairs with the "
                                        "largest 24 h quote volume", choices=("list", "top_volume")))
    top_n: int = field(metadata=meta("Top N pairs", "How many pairs 'top_volume' watches", 1, 200))
    quote: str = field(metadata=meta("Quote currency", "Quote currency of the 'top_volume' pairs, e.g. USDT"))
    interval_s: float = field(metadata=meta("Scan interval (s)", "Seconds between scan cycles", 1, 3600))
    history_candles: int = field(metadata=meta("History candles", "Candles kept per symbol", 300, 100000))
    sim_seed: int = field(metadata=meta("Simulator seed", "Seed of the simulated market", 0, None))


@dataclass(frozen=True)
class Optimization:
    min_signals: int = field(metadata=meta("Minimum signals", "Fewer signals: a threshold is not eligible", 1, None))
    folds: int = field(metadata=meta("Walk-forward folds", "Time-ordered out-of-sample folds", 2, 20))
    objective: str = field(metadata=meta("Objective", "expectancy = net result per signal after costs; seed = "
                                         "win_rate x 0.7 + profit_factor x 0.3",
                                         choices=("seed", "expectancy", "profit_factor")))


@dataclass(frozen=True)
class Notifications:
    telegram_enabled: bool = field(metadata=meta("Telegram", "Send alerts through a Telegram bot"))
    telegram_chat_id: str = field(metadata=meta("Telegram chat id", "The bot token is kept in the OS keyring"))
    notify_new_signal: bool = field(metadata=meta("Alert on new signal", ""))
    notify_outcome: bool = field(metadata=meta("Alert on outcome", ""))
    email_enabled: bool = field(metadata=meta("E-mail reports", "Send PDF reports by e-mail"))
    email_to: str = field(metadata=meta("E-mail to", ""))
    email_from: str = field(metadata=meta("E-mail from", ""))
    smtp_host: str = field(metadata=meta("SMTP host", ""))
    smtp_port: int = field(metadata=meta("SMTP port", "", 1, 65535))
    smtp_security: str = field(metadata=meta("SMTP security", "", choices=("starttls", "ssl", "none")))
    smtp_user: str = field(metadata=meta("SMTP user", "The password is kept in the OS keyring"))


@dataclass(frozen=True)
class Reports:
    folder: str = field(metadata=meta("Report folder", "Empty: the data folder's reports/"))
    daily_time: str = field(metadata=meta("Daily report time", "HH:MM, local time", pattern=HHMM,
                                          expected="a time HH:MM, 00:00..23:59"))
    weekly_day: int = field(metadata=meta("Weekly report day", "0 = Monday .. 6 = Sunday", 0, 6))


@dataclass(frozen=True)
class Backups:
    keep: int = field(metadata=meta("Daily backups kept", "One copy of the database a day in the data folder's "
                                    "backups/; the newest N are kept (0: no backups)", 0, 365))


@dataclass(frozen=True)
class Appearance:
    theme: str = field(metadata=meta("Theme", "", choices=("dark", "light")))
    tray_notifications: bool = field(metadata=meta("Desktop notifications", "Tray pop-ups for signals"))
    times: str = field(metadata=meta("Show times in", "local: this computer's time zone, named beside the times; "
                                     "utc: Coordinated Universal Time", choices=("local", "utc")))


@dataclass(frozen=True)
class Alerts:
    sound: bool = field(metadata=meta("Sound on new signal", "A sound when a signal at or above its alert score opens"))
    min_score: float = field(metadata=meta("Alert from score", "New signals below this score make no sound and no "
                                           "pop-up (0: every signal); they are still recorded", 0, 100))
    min_score_by_symbol: dict[str, float] = field(metadata=meta(
        "Alert from score, per pair", "A pair's own alert score instead of the one above (set it from the "
        "watchlist)", 0, 100))
    muted: list[str] = field(metadata=meta("Muted pairs", "No sound and no pop-up for these pairs; their signals "
                                           "are still recorded and shown"))


@dataclass(frozen=True)
class Settings:
    version: int = field(metadata=meta("Config version", "", 1, 1))
    confluence: Confluence
    pattern_scores: PatternScores
    risk: Risk
    fees: Fees
    ml: Ml
    scanner: Scanner
    optimization: Optimization
    notifications: Notifications
    reports: Reports
    backups: Backups
    appearance: Appearance
    alerts: Alerts
    source_path: str = field(default="", compare=False, metadata=meta("Loaded from", ""))

    # Seed-compatible accessors (the prototype's ConfigManager API).
    def get_min_confluence_score(self) -> float:
        return self.confluence.min_score

    def get_pattern_points(self) -> dict[str, float]:
        return {name: ps.points for name, ps in self.pattern_scores.patterns.items()}

    def get_ml_min_probability(self) -> float:
        return self.ml.min_probability

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("source_path", None)
        return data

    def replace(self, changes: dict[str, Any]) -> Settings:
        """A validated copy with dotted keys changed, e.g. {"confluence.min_score": 70}."""
        data = self.to_dict()
        for key, value in changes.items():
            _set_dotted(data, key, value)
        return from_dict(data, source=self.source_path or "<changes>")


# ---------------------------------------------------------------- validation

def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _check_value(value: Any, tp: Any, key: str, source: str, md: dict[str, Any]) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check_value(value, inner[0], key, source, md)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: key '{key}' must be an object, got {json.dumps(value)[:60]}", key=key)
        return _build(tp, value, key, source)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"{source}: key '{key}' must be a list, got {json.dumps(value)[:60]}", key=key)
        return [_check_value(v, item_tp, f"{key}[{i}]", source, md) for i, v in enumerate(value)]
    if origin is dict:
        _, val_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: key '{key}' must be an object, got {json.dumps(value)[:60]}", key=key)
        if val_tp is Any:
            return dict(value)
        return {str(k): _check_value(v, val_tp, f"{key}.{k}", source, md) for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: key '{key}' must be true or false, got {json.dumps(value)[:60]}",
                              key=key)
        return value
    if tp in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{source}: key '{key}' must be a number, got {json.dumps(value)[:60]}", key=key)
        if tp is int and value != int(value):
            raise ConfigError(f"{source}: key '{key}' must be a whole number, got {value}", key=key)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{source}: key '{key}' must be a finite number", key=key)
        lo, hi = md.get("lo"), md.get("hi")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            rng = f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"
            raise ConfigError(f"{source}: key '{key}' = {value} is out of range; expected {rng}", key=key)
        return tp(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: key '{key}' must be text, got {json.dumps(value)[:60]}", key=key)
        pattern = md.get("pattern")
        if pattern and not re.fullmatch(pattern, value):
            raise ConfigError(f"{source}: key '{key}' = {json.dumps(value)[:60]}; expected "
                              f"{md.get('expected') or pattern}", key=key)
        choices = md.get("choices")
        if choices and value not in choices:
            raise ConfigError(f"{source}: key '{key}' = '{value}'; expected one of {', '.join(choices)}", key=key)
        return value
    raise ConfigError(f"{source}: key '{key}' has unsupported type {_type_name(tp)}")  # pragma: no cover


def _build(cls: Any, data: dict[str, Any], prefix: str, source: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source_path"}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise ConfigError(f"{source}: unknown key '{where}'; expected one of {', '.join(fields)}", key=where)
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in data:
            raise ConfigError(f"{source}: missing key '{key}'", key=key)
        kwargs[name] = _check_value(data[name], hints[name], key, source, dict(f.metadata))
    return cls(**kwargs)


def from_dict(data: dict[str, Any], source: str = "<settings>") -> Settings:
    settings: Settings = _build(Settings, data, "", source)
    missing = [p for p in settings.pattern_scores.enabled if p not in settings.pattern_scores.patterns]
    if missing:
        raise ConfigError(f"{source}: key 'pattern_scores.enabled' names {missing[0]}, which has no entry "
                          f"in 'pattern_scores.patterns'", key="pattern_scores.enabled")
    from app.core.pattern_names import CDL_NAMES

    unknown = [p for p in settings.pattern_scores.patterns if p not in CDL_NAMES]
    if unknown:
        raise ConfigError(f"{source}: key 'pattern_scores.patterns.{unknown[0]}' is not a TA-Lib candlestick "
                          f"function (expected a name like CDLENGULFING)", key=f"pattern_scores.patterns.{unknown[0]}")
    return dataclasses.replace(settings, source_path=source)


# ---------------------------------------------------------------- files

def read_json_file(path: Path) -> dict[str, Any]:
    """A JSON object from a UTF-8 file (a byte-order mark is accepted), at most MAX_DEPTH levels deep."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None
    deep = json_depth_error(text, MAX_DEPTH)
    if deep:
        raise ConfigError(f"{path}: {deep}; a settings file is at most {MAX_DEPTH} levels deep")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: {json_error_text(exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level")
    return data


def json_error_text(exc: json.JSONDecodeError) -> str:
    """"line L, column C: invalid JSON (...)", the same on every Python: a trailing comma (which 3.13 names and
    places at the comma, 3.11/3.12 at the bracket) is reported at the comma."""
    doc, pos = exc.doc, exc.pos
    before = doc[:pos].rstrip()
    if pos < len(doc) and doc[pos] in "}]" and before.endswith(","):
        comma = len(before) - 1
        line = doc.count("\n", 0, comma) + 1
        col = comma - (doc.rfind("\n", 0, comma) + 1) + 1
        return f"line {line}, column {col}: invalid JSON (a comma before '{doc[pos]}')"
    if doc[pos:pos + 1] == "," and doc[pos + 1:].lstrip()[:1] in ("}", "]"):  # 3.13 points at the comma itself
        nxt = doc[pos + 1:].lstrip()[:1]
        return f"line {exc.lineno}, column {exc.colno}: invalid JSON (a comma before '{nxt}')"
    return f"line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})"


def json_depth_error(text: str, limit: int) -> str:
    """Where JSON text nests deeper than `limit` ("line L: nested more than N levels"), else "". Counted without
    parsing, so a hostile file cannot exhaust the parser's recursion."""
    depth = 0
    in_string = escaped = False
    line = 1
    for ch in text:
        if ch == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return f"line {line}: nested more than {limit} levels"
        elif ch in "]}":
            depth -= 1
    return ""


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "patterns":
            out[key] = deep_merge(out[key], value)
        elif key == "patterns" and isinstance(value, dict) and isinstance(out.get(key), dict):
            merged = copy.deepcopy(out[key])
            for name, entry in value.items():
                if isinstance(entry, dict) and isinstance(merged.get(name), dict):
                    merged[name] = {**merged[name], **entry}
                else:
                    merged[name] = entry
            out[key] = merged
        else:
            out[key] = copy.deepcopy(value)
    return out


def load(path: str | Path | None = None) -> Settings:
    """Defaults overlaid by the user file (`path`, else the user config dir's config.json if present)."""
    defaults = read_json_file(paths.default_config_path())
    user_path = Path(path) if path is not None else paths.user_config_file()
    if path is not None and not user_path.exists():
        raise ConfigError(f"{user_path}: configuration file not found")
    if user_path.exists():
        merged = deep_merge(defaults, read_json_file(user_path))
        return from_dict(merged, source=str(user_path))
    return from_dict(defaults, source=str(paths.default_config_path()))


def atomic_write_text(path: Path, text: str, keep_backup: bool = True) -> None:
    """Write, fsync, rename; the previous file is kept as `<name>.bak`. Never leaves a truncated file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if keep_backup and path.exists():
            shutil.copy2(path, path.with_name(path.name + ".bak"))
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"{path}: could not be saved ({exc.strerror or exc}); the previous file is unchanged") \
            from None
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set '{key}': '{part}' is not an object")
    node[parts[-1]] = value


def update_user_config(changes: dict[str, Any], path: str | Path | None = None) -> Settings:
    """Apply dotted-key changes to the user's file (validated first; the old file kept as .bak).

    A user file that no longer validates (the app runs on defaults for its bad keys) does not block saving: its
    keys that fail validation are reset to the defaults (the whole file when it is not JSON), the bad file being
    kept aside first (`quarantine`). A bad value among `changes` itself is refused and nothing is written."""
    user_path = Path(path) if path is not None else paths.user_config_file()
    defaults = read_json_file(paths.default_config_path())
    reset: list[str] = []
    try:
        user = read_json_file(user_path) if user_path.exists() else {}
    except ConfigError:
        quarantine(user_path)
        user, reset = {}, ["(the whole file)"]
    for key, value in changes.items():
        _set_dotted(user, key, value)
    for _ in range(1000):
        try:
            settings = from_dict(deep_merge(defaults, user), source=str(user_path))
            break
        except ConfigError as exc:
            if exc.key is None or exc.key in changes or not _drop_dotted(user, exc.key):
                raise
            if not reset:
                quarantine(user_path)
            reset.append(exc.key)
    else:  # pragma: no cover (a file with 1000 bad keys)
        raise ConfigError(f"{user_path}: too many invalid keys")
    atomic_write_text(user_path, json.dumps(user, indent=2, sort_keys=True) + "\n")
    if reset:
        log.warning("%s: reset to the defaults because they failed validation (the old file is kept beside it as "
                    ".broken-*): %s", user_path, ", ".join(reset))
    return settings


def _drop_dotted(data: dict[str, Any], key: str) -> bool:
    """Remove a dotted key (and the objects it leaves empty); False when it is not there."""
    parts = key.split(".")
    trail = [data]
    for part in parts[:-1]:
        node = trail[-1].get(part)
        if not isinstance(node, dict):
            return False
        trail.append(node)
    if parts[-1] not in trail[-1]:
        return False
    del trail[-1][parts[-1]]
    for depth in range(len(parts) - 1, 0, -1):
        if not trail[depth]:
            del trail[depth - 1][parts[depth - 1]]
    return True


@dataclass(frozen=True)
class SaveResult:
    """What a settings save did: the settings now in force, and what could not be stored (e.g. a secret)."""

    settings: Settings
    problems: list[str]


def save(changes: dict[str, Any], secrets: dict[str, str] | None = None,
         path: str | Path | None = None) -> SaveResult:
    """Save changed settings, then secrets to the OS keyring. The settings are saved even when a secret cannot be
    stored: the caller must use `settings` (never keep the old ones) and show `problems`."""
    from app.errors import ScalpDeskError
    from app.security import set_secret

    settings = update_user_config(changes, path)
    problems = []
    for name, value in (secrets or {}).items():
        if value:
            try:
                set_secret(name, value)
            except ScalpDeskError as exc:
                problems.append(str(exc))
    return SaveResult(settings, problems)


def quarantine(path: Path) -> Path:
    """Copy a broken user file aside (the GUI then starts on defaults); the original stays untouched. One copy per
    distinct content: starting again with the same broken file makes no new copy."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for old in sorted(path.parent.glob(f"{path.name}.broken-*")):
        try:
            if hashlib.sha256(old.read_bytes()).hexdigest() == digest:
                return old
        except OSError:
            continue
    aside = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    if aside.exists():
        aside = aside.with_name(f"{aside.name}-{digest[:8]}")
    shutil.copy2(path, aside)
    return aside


def field_specs(cls: Any = Settings, prefix: str = "") -> list[tuple[str, Any, dict[str, Any]]]:
    """(dotted key, type, metadata) of every scalar field, for generated settings forms."""
    out: list[tuple[str, Any, dict[str, Any]]] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in ("source_path", "provenance", "patterns", "version"):
            continue
        key = f"{prefix}.{f.name}" if prefix else f.name
        tp = hints[f.name]
        if typing.get_origin(tp) is dict:
            continue  # no generic editor: edited where they belong (per-pair alert scores: the watchlist)
        if dataclasses.is_dataclass(tp):
            out.extend(field_specs(tp, key))
        else:
            out.append((key, tp, dict(f.metadata)))
    return out


_current: Settings | None = None


def get_config(path: str | Path | None = None) -> Settings:
    """The process-wide settings (loaded on first use; `set_config` replaces them)."""
    global _current
    if _current is None or path is not None:
        _current = load(path)
    return _current


def set_config(settings: Settings | None) -> None:
    global _current
    _current = settings
