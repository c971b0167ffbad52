"""What leaves the app: PDF reports, Telegram and e-mail notifications, CSV exports, scheduled reports."""
