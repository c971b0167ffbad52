"""Services: scanner, tracker, backtester, optimiser, reporting, notifier. No Qt here."""
