"""How times, prices and volumes read on screen. Times are local with the zone named, or UTC when the settings say
so; prices use the pair's tick size (app.core.prices)."""

from __future__ import annotations

import datetime as dt

from app.core.prices import format_price, format_volume

__all__ = ["Clock", "ago_text", "elapsed_text", "format_price", "format_volume", "pct_text"]


class Clock:
    """Formats epoch milliseconds in the zone the user chose."""

    def __init__(self, utc: bool = False) -> None:
        self.utc = utc

    def _dt(self, ms: float) -> dt.datetime:
        d = dt.datetime.fromtimestamp(ms / 1000.0, dt.UTC)
        return d if self.utc else d.astimezone()

    @property
    def zone(self) -> str:
        """"UTC", or the local zone as an offset from UTC ("UTC+02:00"; "UTC" itself when local time is UTC)."""
        if self.utc:
            return "UTC"
        off = dt.datetime.now().astimezone().utcoffset() or dt.timedelta(0)
        if not off:
            return "UTC"
        minutes = int(off.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    @property
    def offset_s(self) -> float:
        """Seconds to add to UTC for the shown zone (chart axes)."""
        if self.utc:
            return 0.0
        off = dt.datetime.now().astimezone().utcoffset()
        return off.total_seconds() if off else 0.0

    def time(self, ms: float) -> str:
        return self._dt(ms).strftime("%H:%M:%S")

    def stamp(self, ms: float) -> str:
        """Month-day hour:minute, for table cells (the zone is in the header)."""
        return self._dt(ms).strftime("%m-%d %H:%M")

    def full(self, ms: float) -> str:
        return self._dt(ms).strftime("%Y-%m-%d %H:%M")

    def full_zoned(self, ms: float) -> str:
        return f"{self.full(ms)} {self.zone}"


def elapsed_text(seconds: float) -> str:
    s = max(0, int(seconds))
    d, s = divmod(s, 86400)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    if d:
        return f"{d}d {h:02d}h"
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s"


def ago_text(seconds: float) -> str:
    """A coarse age for a list: 45s, 12m, 2h 15m, 3d 4h."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def pct_text(x: float | None, digits: int = 2) -> str:
    return "" if x is None else f"{x:+.{digits}f}%"


def price_text(x: float | None, tick: float) -> str:
    return format_price(x, tick)


def volume_text(x: float | None) -> str:
    return format_volume(x)
