"""ScalpDesk: confluence signals for crypto scalpers, with numbers that come from data."""

__version__ = "0.1.0"
