"""The small closed vocabularies every layer shares: the side of a signal and the outcome of a trade.

Both are `StrEnum`s, so they compare equal to the words stored in the database and printed in JSON
("LONG", "WIN"), while code that holds one knows it cannot be anything else. The compiled kernels work
on numbers: a side is +1/-1, an outcome 0 WIN, 1 LOSS, 2 EXPIRED (-1 undecided).
"""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    LONG = "LONG"
    SHORT = "SHORT"

    @property
    def sign(self) -> int:
        return 1 if self is Side.LONG else -1

    @staticmethod
    def of(value: object) -> Side:
        """From a sign (+1/-1), a Side or its word."""
        if isinstance(value, Side):
            return value
        if isinstance(value, str):
            return Side(value)
        return Side.LONG if float(value) > 0 else Side.SHORT  # type: ignore[arg-type]


class Outcome(StrEnum):
    WIN = "WIN"
    LOSS = "LOSS"
    EXPIRED = "EXPIRED"
