"""Turning command-line data arguments into candle series (files, or the simulated market)."""

from __future__ import annotations

from collections.abc import Callable

from app.core.candles import Candles, timeframe_ms
from app.errors import DataError
from app.market.files import load_file
from app.settings import Settings


def load_datasets(files: list[str] | None, sim: int | None, timeframe: str | None, symbol: str | None,
                  settings: Settings, check: Callable[[], None] = lambda: None
                  ) -> tuple[list[Candles], dict[str, Candles]]:
    """(series to backtest, finer series by symbol for resolving ambiguous candles). `check` runs between files
    (a cancel raises there)."""
    if sim:
        from app.market.simulated import generate

        tf = timeframe or settings.scanner.timeframe
        data = generate(list(settings.scanner.symbols), tf, int(sim), settings.scanner.sim_seed)
        return list(data.values()), {}
    loaded = []
    for f in files or []:
        check()
        loaded.append(load_file(f, symbol=symbol, check=check)[0])
    if not loaded:
        raise DataError("no data files given")
    tfs = sorted({c.timeframe for c in loaded}, key=timeframe_ms)
    main_tf = timeframe or (tfs[-1] if len(tfs) > 1 else tfs[0])
    if main_tf not in tfs:
        raise DataError(f"no file of timeframe {main_tf} among {', '.join(tfs)}")
    main = [c for c in loaded if c.timeframe == main_tf]
    fine: dict[str, Candles] = {}
    for c in loaded:
        if timeframe_ms(c.timeframe) < timeframe_ms(main_tf):
            best = fine.get(c.symbol)
            if best is None or c.tf_ms < best.tf_ms:
                fine[c.symbol] = c
    seen: set[tuple[str, str]] = set()
    for c in main:
        if (c.symbol, c.timeframe) in seen:
            raise DataError(f"two files hold {c.symbol} {c.timeframe}; give one")
        seen.add((c.symbol, c.timeframe))
    return main, fine
