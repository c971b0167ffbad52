"""Research on history: backtests, the random-entry baseline, optimisers, the strategy search and training."""
