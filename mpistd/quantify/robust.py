"""Robust location and scale, and the leave-one-out outlier cut of the repository view.

Pure numerics (CONTRIBUTING.md): floats in, frozen dataclasses out.

- ``median``: the middle value (the mean of the two middle values for an even count).
- ``mad``: the median absolute deviation from the median, *unscaled*; ``MAD_SCALE · mad``
  estimates the standard deviation of normal data (1.4826 = 1/Φ⁻¹(3/4), Rousseeuw & Croux
  1993; Iglewicz & Hoaglin 1993 recommend flagging modified z-scores above 3.5).
- ``leave_one_out``: for every value, the median and MAD of *all the others*, and whether
  ``|v − median| > k · 1.4826 · MAD`` (k = 3.5). A value compared with a reference that
  includes it would pull the reference towards itself; leaving it out makes the cut fair to
  a single outlier in a small group. All n leave-one-out pairs are computed in O(n log n):
  the values are sorted once, the median of the others is read off the sorted array, and
  the others' deviations from it are sorted once per distinct leave-one-out median (at most
  three distinct values).
"""
from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass
from typing import Iterator, Sequence

MAD_SCALE = 1.4826
CUT_K = 3.5
MIN_GROUP = 5


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence (mean of the two middle values for an even count)."""
    if not values:
        raise ValueError("median of no values")
    s = sorted(values)
    return _median_sorted_without(s, None)


def mad(values: Sequence[float]) -> float:
    """Unscaled median absolute deviation from the median."""
    m = median(values)
    return median([abs(v - m) for v in values])


def _median_sorted_without(s: Sequence[float], skip: int | None) -> float:
    """Median of the sorted sequence ``s`` with the element at index ``skip`` removed (None: none)."""
    n = len(s) - (0 if skip is None else 1)
    if n <= 0:
        raise ValueError("median of no values")

    def at(j: int) -> float:
        return s[j] if skip is None or j < skip else s[j + 1]

    if n % 2:
        return float(at(n // 2))
    return (at(n // 2 - 1) + at(n // 2)) / 2.0


@dataclass(frozen=True, slots=True)
class LeaveOneOut:
    """One value against the others of its group."""

    value: float
    median: float  # of the others
    mad: float  # unscaled, of the others
    deviation: float  # value − median
    limit: float  # k · 1.4826 · mad: the largest |deviation| that is not an outlier
    outlier: bool  # |deviation| > limit (always False when mad is 0: not judged)
    judged: bool  # False when the others' MAD is 0 and the value differs from their median

    @property
    def scaled(self) -> float | None:
        """|deviation| in units of 1.4826·MAD (the modified z-score); None when MAD is 0."""
        return abs(self.deviation) / (MAD_SCALE * self.mad) if self.mad > 0 else None


def leave_one_out(values: Sequence[float], k: float = CUT_K, *, equal_within: float = 0.0) -> tuple[LeaveOneOut, ...]:
    """For each value, the median and MAD of the others and the cut |v − med| > k·1.4826·MAD.

    Needs at least 2 values (the others of a value must not be empty). A value whose others
    have MAD 0 is not judged unless it equals their median to within ``equal_within`` (then it
    is simply not an outlier: rounding noise of a recomputed slope is no difference).
    """
    return tuple(iter_leave_one_out(values, k, equal_within=equal_within))


def iter_leave_one_out(values: Sequence[float], k: float = CUT_K, *,
                       equal_within: float = 0.0) -> Iterator[LeaveOneOut]:
    """:func:`leave_one_out`, one value at a time (a caller that keeps only a few of them, such as
    the repository view's flagged units, holds no result per value of a large group)."""
    n = len(values)
    if n < 2:
        raise ValueError("leave-one-out needs at least two values")
    return _leave_one_out(values, n, k, equal_within)


def _leave_one_out(values: Sequence[float], n: int, k: float, equal_within: float) -> Iterator[LeaveOneOut]:
    # compact arrays, not lists of float and int objects: a repository group can hold tens of
    # thousands of units (the values read back from an array('d') are the same doubles)
    order = array("l", sorted(range(n), key=lambda i: values[i]))
    s = array("d", [values[i] for i in order])
    rank = array("l", [0]) * n
    for r, i in enumerate(order):
        rank[i] = r
    del order
    # the others' deviations from their median: sorted once per distinct leave-one-out median
    # (rank is a permutation of range(n): the medians without each rank are the medians without each value)
    deviations: dict[float, array[float]] = {}
    for m in {_median_sorted_without(s, r) for r in range(n)}:
        deviations[m] = array("d", sorted([abs(v - m) for v in s]))
    for i in range(n):
        m = _median_sorted_without(s, rank[i])
        devs = deviations[m]
        own = abs(s[rank[i]] - m)
        # any index holding the same deviation will do: equal values are interchangeable
        j = bisect.bisect_left(devs, own)
        if j >= len(devs) or devs[j] != own:  # pragma: no cover - own is one of devs by construction
            raise AssertionError("deviation not found")
        spread = _median_sorted_without(devs, j)
        v = float(values[i])
        deviation = v - m
        limit = k * MAD_SCALE * spread
        judged = spread > 0 or abs(deviation) <= equal_within
        yield LeaveOneOut(value=v, median=m, mad=spread, deviation=deviation, limit=limit,
                          outlier=bool(spread > 0 and abs(deviation) > limit), judged=judged)


__all__ = ["MAD_SCALE", "CUT_K", "MIN_GROUP", "median", "mad", "leave_one_out", "iter_leave_one_out", "LeaveOneOut"]
