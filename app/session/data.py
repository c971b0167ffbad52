"""Market data jobs: downloading and updating exchange history on disk, listing what is there, and checking
symbols against the exchange's market list (or the files). The data manager and the settings dialog call these
in the job pool; nothing here runs in the GUI thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import CancelledError, ExchangeError, ScalpDeskError
from app.session.jobs import Control
from app.settings import Settings

PAIR = re.compile(r"^[A-Z0-9]{2,20}/[A-Z0-9]{2,10}$")


def history_folder(folder: Path | None = None) -> Path:
    from app import paths

    return Path(folder) if folder is not None else paths.history_dir()


def _client(settings: Settings, exchange: str | None, exchange_url: str | None, ctl: Control) -> Any:
    """An exchange client whose waits between retries end at once on Cancel."""
    from app.market.exchange import ExchangeClient

    def sleep(seconds: float) -> None:
        if ctl.cancel.wait(seconds):
            raise CancelledError("cancelled")

    return ExchangeClient(exchange or settings.scanner.exchange, base_url=exchange_url, sleep=sleep)


# ------------------------------------------------------------------------------------------------ inventory
def inventory(folder: Path | None = None, control: Control | None = None) -> list[dict[str, Any]]:
    """What is on disk: pair, timeframe, first and last candle, count, gaps (one row per file)."""
    from app.market.history import inventory as scan

    ctl = control or Control()
    return [h.to_dict() for h in ctl.call(lambda: scan(history_folder(folder), ctl.check))]


def spans(files: list[str], control: Control | None = None) -> dict[str, tuple[int | None, int | None]]:
    """First and last candle of each feather file (read from its date column; other formats are not read)."""
    from app.market.history import describe_file

    ctl = control or Control()
    out: dict[str, tuple[int | None, int | None]] = {}
    for f in files:
        ctl.check()
        if f.lower().endswith(".feather"):
            h = describe_file(Path(f))
            out[f] = (h.first_ms, h.last_ms)
    return out


# ------------------------------------------------------------------------------------------------ download
@dataclass(frozen=True)
class DownloadRequest:
    symbols: tuple[str, ...]
    timeframes: tuple[str, ...]
    since_ms: int  # where a new file starts; an existing file is extended from its last candle
    folder: Path | None = None  # default: the user data folder's history/
    exchange: str | None = None  # default: the settings' exchange
    exchange_url: str | None = None  # a local fake exchange in tests


@dataclass
class DownloadResult:
    downloads: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # pairs the exchange refused (not listed...)
    files: list[dict[str, Any]] = field(default_factory=list)  # the inventory afterwards

    def to_dict(self) -> dict[str, Any]:
        return {"downloads": self.downloads, "failed": self.failed, "files": self.files,
                "added": sum(d["added"] for d in self.downloads)}


def download(settings: Settings, req: DownloadRequest, control: Control | None = None) -> DownloadResult:
    """Download or update each pair and timeframe in turn. A cancel stops within a second; the files finished
    before it are kept, the one in progress is left as it was. A pair the exchange does not list is reported and
    the others go on; an unreachable exchange stops the job with its message."""
    ctl = control or Control()
    return ctl.call(lambda: _download(settings, req, ctl))


def _download(settings: Settings, req: DownloadRequest, ctl: Control) -> DownloadResult:
    from app.market.history import download as fetch
    from app.market.history import inventory as scan

    folder = history_folder(req.folder)
    pairs = [(s, tf) for s in req.symbols for tf in req.timeframes]
    if not pairs:
        raise ScalpDeskError("choose at least one pair and one timeframe")
    bad = [s for s in req.symbols if not PAIR.match(s)]
    if bad:
        raise ScalpDeskError(f"'{bad[0]}' is not a pair like BTC/USDT")
    ctl.progress(0.0, f"connecting to {req.exchange or settings.scanner.exchange}")
    client = _client(settings, req.exchange, req.exchange_url, ctl)
    out = DownloadResult()
    for k, (symbol, tf) in enumerate(pairs):
        part = ctl.part(k / len(pairs), (k + 1) / len(pairs))
        try:
            report = fetch(client, folder, symbol, tf, req.since_ms, part.progress, ctl.check)
        except ExchangeError as exc:
            if exc.retryable:
                raise
            out.failed.append({"symbol": symbol, "timeframe": tf, "error": str(exc)})
            continue
        out.downloads.append(report.to_dict())
    ctl.check()
    out.files = [h.to_dict() for h in scan(folder, ctl.check)]
    ctl.progress(1.0, "done")
    return out


# ------------------------------------------------------------------------------------------------ symbols
@dataclass(frozen=True)
class SymbolCheck:
    """Symbols checked against a list: the exchange's markets, else the files on disk."""

    checked_against: str  # "binance markets", "files in …", or "" when nothing could be checked
    unknown: tuple[str, ...] = ()
    malformed: tuple[str, ...] = ()
    note: str = ""  # why the exchange could not be asked (offline…)

    @property
    def ok(self) -> bool:
        return not self.unknown and not self.malformed


def check_symbols(settings: Settings, symbols: list[str], exchange: str | None = None,
                  exchange_url: str | None = None, folder: Path | None = None,
                  control: Control | None = None) -> SymbolCheck:
    ctl = control or Control()
    return ctl.call(lambda: _check_symbols(settings, symbols, exchange, exchange_url, folder, ctl))


def _check_symbols(settings: Settings, symbols: list[str], exchange: str | None, exchange_url: str | None,
                   folder: Path | None, ctl: Control) -> SymbolCheck:
    malformed = tuple(s for s in symbols if not PAIR.match(s))
    name = exchange or settings.scanner.exchange
    ctl.progress(0.1, f"loading the market list of {name}")
    note = ""
    try:
        client = _client(settings, name, exchange_url, ctl)
        client.retries = 1
        markets = set(client.load_markets())
    except ExchangeError as exc:
        note = f"could not load the market list of {name}: {exc}"
    else:
        unknown = tuple(s for s in symbols if s not in markets and s not in malformed)
        return SymbolCheck(f"{name} markets", unknown, malformed)
    from app.market.history import inventory as scan

    files = scan(history_folder(folder), ctl.check)
    if files:
        known = {h.symbol for h in files}
        unknown = tuple(s for s in symbols if s not in known and s not in malformed)
        return SymbolCheck(f"the history files in {history_folder(folder)}", unknown, malformed, note)
    return SymbolCheck("", (), malformed, note)
