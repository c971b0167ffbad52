"""TA-Lib's compiled functions without the pandas/polars dispatch wrapper (which costs more than the
computation on short arrays). Same functions, same results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import talib


def raw(name: str) -> Callable[..., Any]:
    fn = getattr(talib, name)
    return cast(Callable[..., Any], getattr(fn, "__wrapped__", fn))


class _Raw:
    def __getattr__(self, name: str) -> Callable[..., Any]:
        fn = raw(name)
        setattr(self, name, fn)
        return fn


ta = _Raw()
