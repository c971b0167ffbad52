"""Where candles come from: files, the simulated market, the exchange (ccxt), a replay clock."""
