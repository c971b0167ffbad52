"""The session layer: the one place that assembles the live session (`live`) and runs each research job
(`jobs`) from the settings, with progress and cancel. The command line and the window are thin callers of it."""
