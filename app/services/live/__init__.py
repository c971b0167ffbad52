"""The live path: scan cycles, the pipeline that turns closed candles into tracked signals, the tracker that
follows them to their outcome, and the dashboard snapshot the window shows."""
