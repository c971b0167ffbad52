"""Which pairs to watch: a fixed list, or the top N by 24 h quote volume for a quote currency (no stablecoin
pairs, no leveraged tokens). Pure functions over ccxt-shaped markets and tickers; the exchange adapter fetches
them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MAX_SYMBOLS = 200

# Coins pegged to a fiat currency (and the fiat "coins" Binance lists): a pair of two of them, or one against the
# quote, barely moves and only crowds the list.
STABLECOINS = frozenset({
    "USDT", "USDC", "BUSD", "TUSD", "FDUSD", "USDP", "PAX", "DAI", "USDD", "PYUSD", "USDE", "USD1", "USDS", "GUSD",
    "SUSD", "LUSD", "FRAX", "UST", "USTC", "USDJ", "USDK", "USDN", "USD", "EUR", "EURI", "AEUR", "EURT", "EURC",
    "GBP", "AUD", "BRL", "TRY", "BIDR", "BVND", "IDRT", "NGN", "RUB", "UAH", "ZAR", "PLN", "RON", "ARS", "JPY",
    "MXN", "COP", "CZK", "XUSD", "BFUSD", "RLUSD",
})

_LEVERAGED = re.compile(r"^(?P<stem>[A-Z0-9]{2,}?)(UP|DOWN|BULL|BEAR|[1-9][LS])$")


def is_stablecoin(asset: str) -> bool:
    return asset.upper() in STABLECOINS


def is_leveraged(base: str, listed_bases: frozenset[str] | set[str]) -> bool:
    """BTCUP, ETHDOWN, BNBBULL, ETH3L, BTC5S: a leveraged token is named after a listed coin plus a suffix (so JUP
    or SUPER, whose stems are not coins, stay)."""
    m = _LEVERAGED.match(base.upper())
    return m is not None and m.group("stem") in listed_bases


def quote_volume(ticker: Mapping[str, Any]) -> float:
    """24 h volume in the quote currency: the exchange's figure, else base volume x last price, else 0."""
    qv = ticker.get("quoteVolume")
    if isinstance(qv, int | float) and qv == qv:
        return float(qv)
    bv, last = ticker.get("baseVolume"), ticker.get("last") or ticker.get("close")
    if isinstance(bv, int | float) and isinstance(last, int | float) and bv == bv and last == last:
        return float(bv) * float(last)
    return 0.0


def eligible(markets: Mapping[str, Mapping[str, Any]], quote: str) -> list[str]:
    """Active spot pairs against `quote`, without stablecoin bases or leveraged tokens."""
    quote = quote.upper()
    bases = {str(m.get("base", "")).upper() for m in markets.values()}
    out = []
    for symbol, m in markets.items():
        base = str(m.get("base", "")).upper()
        if str(m.get("quote", "")).upper() != quote or m.get("spot") is False or m.get("active") is False:
            continue
        if m.get("type") not in (None, "spot"):
            continue
        if is_stablecoin(base) or is_leveraged(base, bases):
            continue
        out.append(symbol)
    return out


def top_by_volume(markets: Mapping[str, Mapping[str, Any]], tickers: Mapping[str, Mapping[str, Any]], quote: str,
                  n: int) -> list[str]:
    """The `n` eligible pairs (at most 200) with the largest 24 h quote volume, largest first (ties by name).
    Pairs without a ticker or with no volume are left out."""
    n = max(0, min(int(n), MAX_SYMBOLS))
    ranked = [(quote_volume(tickers[s]), s) for s in eligible(markets, quote) if s in tickers]
    ranked = [(v, s) for v, s in ranked if v > 0]
    ranked.sort(key=lambda vs: (-vs[0], vs[1]))
    return [s for _, s in ranked[:n]]
