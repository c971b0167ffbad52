"""Services, grouped by what they serve: `live` (scanner, pipeline, tracker, dashboard), `research`
(backtests, optimisers, training, strategy search) and `reporting` (PDF, notifications, exports). No Qt here;
the session layer (app.session) assembles them for the command line and the window."""
