"""Student t and Fisher F quantiles and tail probabilities.

Thin wrappers over ``scipy.special`` (``stdtr``, ``stdtrit``, ``fdtrc``, ``fdtri``).
``scipy.stats`` is never imported (it costs more than a second at import time), and
``scipy.special`` is imported lazily inside each function so that importing
``mpistd.quantify`` stays cheap.

All functions take plain floats / ints and return plain Python floats.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

__all__ = ["t_quantile", "t_cdf", "t_two_sided_p", "f_quantile", "f_sf"]


def _fdtrc() -> Callable[..., Any]:
    """The F survival function, imported on first use and then held: f_sf is called for every
    diagnostic of every fit, and an import statement costs more than the call itself.

    scipy.special.cython_special.fdtrc is the scalar entry point of the very C function that the
    ``scipy.special.fdtrc`` ufunc's float64 loop calls (both are generated from one table: here
    ``_ufuncs_cxx._export_f_sf_double``), so its values are the ufunc's, bit for bit
    (tests/quantify/test_limits.py compares them), without the ufunc's conversion of three
    scalars to arrays and back (about 0.8 µs of every call)."""
    global _FDTRC
    if _FDTRC is None:
        from scipy.special.cython_special import fdtrc

        _FDTRC = fdtrc
    return _FDTRC


_FDTRC: Callable[..., Any] | None = None


@lru_cache(maxsize=4096)  # a pure function, asked for the same few df by every fit
def t_quantile(p: float, df: float) -> float:
    """Quantile t(df, p) of Student's t distribution: P(T <= t) = p."""
    from scipy.special import stdtrit

    return float(stdtrit(df, p))


def t_cdf(t: float, df: float) -> float:
    """Cumulative distribution P(T <= t) of Student's t with df degrees of freedom."""
    from scipy.special import stdtr

    return float(stdtr(df, t))


def t_two_sided_p(t: float, df: float) -> float:
    """Two-sided p-value 2·P(T >= |t|)."""
    from scipy.special import stdtr

    return float(min(1.0, 2.0 * stdtr(df, -abs(t))))


@lru_cache(maxsize=4096)
def f_quantile(p: float, dfn: float, dfd: float) -> float:
    """Quantile F(dfn, dfd; p) of Fisher's F distribution: P(F <= f) = p."""
    from scipy.special import fdtri

    return float(fdtri(dfn, dfd, p))


def f_sf(f: float, dfn: float, dfd: float) -> float:
    """Upper tail P(F > f) of Fisher's F distribution (the one-sided p-value)."""
    # float arguments: the double version of the fused function, as the ufunc's float64 loop
    return float((_FDTRC or _fdtrc())(float(dfn), float(dfd), float(f)))
