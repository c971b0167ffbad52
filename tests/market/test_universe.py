"""Top N by 24 h quote volume: the largest pairs of the quote currency, without stablecoin pairs or leveraged
tokens, at most 200."""

from __future__ import annotations

from app.market.universe import MAX_SYMBOLS, is_leveraged, top_by_volume


def _market(base: str, quote: str = "USDT", **kw) -> dict:
    return {"base": base, "quote": quote, "spot": True, "type": "spot", "active": True, **kw}


def _book(volumes: dict[str, float], **extra_markets) -> tuple[dict, dict]:
    markets = {s: _market(*s.split("/")) for s in volumes}
    markets.update(extra_markets)
    tickers = {s: {"symbol": s, "quoteVolume": v} for s, v in volumes.items()}
    return markets, tickers


def test_largest_first_without_stablecoins_and_leveraged_tokens():
    markets, tickers = _book({
        "BTC/USDT": 9e9, "ETH/USDT": 5e9, "USDC/USDT": 8e9, "FDUSD/USDT": 7e9, "BTCUP/USDT": 6e9,
        "ETH3L/USDT": 4e9, "BNBBULL/USDT": 3e9, "SOL/USDT": 2e9, "JUP/USDT": 1.5e9, "EUR/USDT": 1e9,
        "XRP/BTC": 9.9e9, "BNB/USDT": 1e8})
    markets["BNB/USDT"] = _market("BNB")
    assert top_by_volume(markets, tickers, "USDT", 10) == ["BTC/USDT", "ETH/USDT", "SOL/USDT", "JUP/USDT",
                                                           "BNB/USDT"]
    assert top_by_volume(markets, tickers, "usdt", 2) == ["BTC/USDT", "ETH/USDT"]


def test_leveraged_names_need_a_listed_coin_as_stem():
    listed = {"BTC", "ETH", "BNB", "J"}
    assert is_leveraged("BTCUP", listed) and is_leveraged("ETHDOWN", listed) and is_leveraged("ETH3S", listed)
    assert not is_leveraged("JUP", listed)  # no coin "J" stem of two letters or more
    assert not is_leveraged("SUPER", listed) and not is_leveraged("ETH", listed)


def test_inactive_pairs_and_pairs_without_volume_are_left_out():
    markets, tickers = _book({"BTC/USDT": 9e9, "LUNA/USDT": 8e9, "NEW/USDT": 0.0})
    markets["LUNA/USDT"]["active"] = False
    tickers["ETH/USDT"] = {"symbol": "ETH/USDT", "baseVolume": 1000.0, "last": 3000.0}  # no quoteVolume given
    markets["ETH/USDT"] = _market("ETH")
    assert top_by_volume(markets, tickers, "USDT", 50) == ["BTC/USDT", "ETH/USDT"]


def test_at_most_two_hundred_and_ties_by_name():
    vols = {f"C{i:03d}/USDT": float(1000 - i // 2) for i in range(300)}
    markets, tickers = _book(vols)
    top = top_by_volume(markets, tickers, "USDT", 500)
    assert len(top) == MAX_SYMBOLS
    assert top[:4] == ["C000/USDT", "C001/USDT", "C002/USDT", "C003/USDT"]
