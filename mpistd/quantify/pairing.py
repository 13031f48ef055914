"""Fixed-volume vs fixed-concentration pairing and solution-to-cell reduction.

What each function returns
--------------------------
* ``pair_by_iron_mass`` → ``Pairing`` (never raises for data; non-finite masses simply
  stay unmatched).
* ``paired_differences`` → tuple of ``PairedDifference``, one per pair; a field that
  cannot be computed for a pair (a zero FC signal, fewer than 2 replicates for a standard
  error, a missing FWHM, a zero FV concentration) is ``None``.
* ``solution_to_cell_reduction`` → tuple of floats, one per cellular point, ``None`` where
  the solution line predicts 0 (or non-finite data); an unusable fit gives ``Skipped``.
* ``fwhm_change_percent`` → float, or ``Skipped`` when the solution FWHM is not > 0.

Index lists or masses of the wrong length raise ``ValueError``.

Sources: STANDARD.md "Derived quantities" (pairing within 2 %, dilution ratio c_FC/c_FV,
100·(S_FC − S_FV)/S_FC, ΔFWHM = FWHM_FV − FWHM_FC, solution-to-cell reduction
100·(Ŝ_sol(m) − S_cell)/Ŝ_sol(m), FWHM change 100·(FWHM_cell − FWHM_sol)/FWHM_sol); the
paper's Fig. 4 and section on cellular calibration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from mpistd.quantify.calibration import LineFit, Skipped, Unusable

__all__ = [
    "Pairing",
    "PairedDifference",
    "pair_by_iron_mass",
    "paired_differences",
    "solution_to_cell_reduction",
    "fwhm_change_percent",
]


@dataclass(frozen=True, slots=True)
class Pairing:
    """One-to-one matches (i_fc, i_fv), sorted by i_fc, and the indices left unmatched.

    ``relative_differences[j]`` = |m_fc − m_fv|/max(|m_fc|, |m_fv|) of ``pairs[j]``.
    """

    pairs: tuple[tuple[int, int], ...]
    unmatched_fc: tuple[int, ...]
    unmatched_fv: tuple[int, ...]
    relative_differences: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "pairs": [list(p) for p in self.pairs],
            "unmatched_fc": list(self.unmatched_fc),
            "unmatched_fv": list(self.unmatched_fv),
            "relative_differences": list(self.relative_differences),
        }


@dataclass(frozen=True, slots=True)
class PairedDifference:
    """Fixed-concentration (FC) vs fixed-volume (FV) at equal iron mass, one metric.

    * ``dilution_ratio`` = c_FC/c_FV
    * ``percent_difference`` = 100·(S̄_FC − S̄_FV)/S̄_FC from the replicate means
      (positive: the diluted FV sample gave less signal)
    * ``uncertainty`` = √(SE_FC² + SE_FV²), SE = s/√n of each replicate mean (signal
      units); ``uncertainty_percent`` = 100·uncertainty/|S̄_FC|
    * ``delta_fwhm`` = FWHM_FV − FWHM_FC
    * ``iron_mass`` = mean of the two points' iron masses when given (else the one given,
      else ``None``)
    """

    i_fc: int
    i_fv: int
    iron_mass: float | None
    dilution_ratio: float | None
    signal_fc_mean: float | None
    signal_fv_mean: float | None
    difference: float | None
    percent_difference: float | None
    uncertainty: float | None
    uncertainty_percent: float | None
    delta_fwhm: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "i_fc": self.i_fc,
            "i_fv": self.i_fv,
            "iron_mass": self.iron_mass,
            "dilution_ratio": self.dilution_ratio,
            "signal_fc_mean": self.signal_fc_mean,
            "signal_fv_mean": self.signal_fv_mean,
            "difference": self.difference,
            "percent_difference": self.percent_difference,
            "uncertainty": self.uncertainty,
            "uncertainty_percent": self.uncertainty_percent,
            "delta_fwhm": self.delta_fwhm,
        }


def _relative_difference(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0.0 else abs(a - b) / scale


def pair_by_iron_mass(
    masses_fc: Sequence[float] | np.ndarray,
    masses_fv: Sequence[float] | np.ndarray,
    *,
    tolerance: float = 0.02,
) -> Pairing:
    """Match FC and FV points of equal iron mass, one-to-one, closest first.

    A candidate pair has |m_fc − m_fv|/max(|m_fc|, |m_fv|) <= tolerance (2 % by default).
    Candidates are accepted in order of increasing relative difference (ties: lower FC
    index, then lower FV index) when neither point is matched yet. Points with no
    candidate are listed as unmatched, never guessed; non-finite masses are never matched.
    """
    if not tolerance >= 0.0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    fc = [float(v) for v in np.asarray(masses_fc, dtype=float).ravel()]
    fv = [float(v) for v in np.asarray(masses_fv, dtype=float).ravel()]
    candidates: list[tuple[float, int, int]] = []
    for i, a in enumerate(fc):
        if not math.isfinite(a):
            continue
        for j, b in enumerate(fv):
            if not math.isfinite(b):
                continue
            rel = _relative_difference(a, b)
            if rel <= tolerance:
                candidates.append((rel, i, j))
    candidates.sort()
    used_fc: dict[int, tuple[int, float]] = {}
    used_fv: set[int] = set()
    for rel, i, j in candidates:
        if i in used_fc or j in used_fv:
            continue
        used_fc[i] = (j, rel)
        used_fv.add(j)
    order = sorted(used_fc)
    return Pairing(
        pairs=tuple((i, used_fc[i][0]) for i in order),
        unmatched_fc=tuple(i for i in range(len(fc)) if i not in used_fc),
        unmatched_fv=tuple(j for j in range(len(fv)) if j not in used_fv),
        relative_differences=tuple(float(used_fc[i][1]) for i in order),
    )


def _mean_se(values: Any) -> tuple[float | None, float | None]:
    arr = np.asarray(values, dtype=float).ravel()
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None, None
    mean = float(arr.mean())
    se = float(arr.std(ddof=1) / math.sqrt(arr.size)) if arr.size >= 2 else None
    return mean, se


def _mean_or_none(values: Any) -> float | None:
    if values is None:
        return None
    mean, _ = _mean_se(values)
    return mean


def _finite_or_none(v: float | None) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def paired_differences(
    pairs: Pairing | Sequence[tuple[int, int]],
    conc_fc: Sequence[float] | np.ndarray,
    conc_fv: Sequence[float] | np.ndarray,
    signals_fc: Sequence[Any],
    signals_fv: Sequence[Any],
    fwhm_fc: Sequence[Any] | None = None,
    fwhm_fv: Sequence[Any] | None = None,
    *,
    masses_fc: Sequence[float] | np.ndarray | None = None,
    masses_fv: Sequence[float] | np.ndarray | None = None,
) -> tuple[PairedDifference, ...]:
    """Per pair: dilution ratio, percentage difference, its uncertainty and ΔFWHM.

    ``signals_fc[i]`` / ``signals_fv[j]`` are the replicate values (array-likes) of FC
    point i / FV point j; ``fwhm_fc[i]`` / ``fwhm_fv[j]`` are each point's FWHM (a number or
    its replicates, averaged; ``None`` allowed). ``pairs`` is a :class:`Pairing` or a
    sequence of (i_fc, i_fv). See :class:`PairedDifference` for the formulas.
    """
    pair_list = pairs.pairs if isinstance(pairs, Pairing) else tuple(pairs)
    cfc = np.asarray(conc_fc, dtype=float).ravel()
    cfv = np.asarray(conc_fv, dtype=float).ravel()
    mfc = None if masses_fc is None else np.asarray(masses_fc, dtype=float).ravel()
    mfv = None if masses_fv is None else np.asarray(masses_fv, dtype=float).ravel()
    out: list[PairedDifference] = []
    for i, j in pair_list:
        i, j = int(i), int(j)
        if not (0 <= i < len(signals_fc) and 0 <= j < len(signals_fv)
                and i < cfc.size and j < cfv.size):
            raise ValueError(f"pair ({i}, {j}) is out of range")
        c_fc, c_fv = float(cfc[i]), float(cfv[j])
        ratio = c_fc / c_fv if (math.isfinite(c_fc) and math.isfinite(c_fv) and c_fv != 0) else None
        s_fc, se_fc = _mean_se(signals_fc[i])
        s_fv, se_fv = _mean_se(signals_fv[j])
        diff = pct = unc = unc_pct = None
        if s_fc is not None and s_fv is not None:
            diff = s_fc - s_fv
            if s_fc != 0.0:
                pct = 100.0 * (diff / s_fc)
        if se_fc is not None and se_fv is not None:
            unc = math.sqrt(se_fc * se_fc + se_fv * se_fv)
            if s_fc is not None and s_fc != 0.0:
                unc_pct = 100.0 * (unc / abs(s_fc))
        delta_fwhm = None
        if fwhm_fc is not None and fwhm_fv is not None:
            w_fc, w_fv = _mean_or_none(fwhm_fc[i]), _mean_or_none(fwhm_fv[j])
            if w_fc is not None and w_fv is not None:
                delta_fwhm = w_fv - w_fc
        masses = [float(m[k]) for m, k in ((mfc, i), (mfv, j))
                  if m is not None and k < m.size and math.isfinite(float(m[k]))]
        iron_mass = sum(masses) / len(masses) if masses else None
        out.append(PairedDifference(
            i_fc=i,
            i_fv=j,
            iron_mass=_finite_or_none(iron_mass),
            dilution_ratio=_finite_or_none(ratio),
            signal_fc_mean=_finite_or_none(s_fc),
            signal_fv_mean=_finite_or_none(s_fv),
            difference=_finite_or_none(diff),
            percent_difference=_finite_or_none(pct),
            uncertainty=_finite_or_none(unc),
            uncertainty_percent=_finite_or_none(unc_pct),
            delta_fwhm=_finite_or_none(delta_fwhm),
        ))
    return tuple(out)


def solution_to_cell_reduction(
    solution_fit: LineFit | Unusable,
    cell_iron_mass: Sequence[float] | np.ndarray,
    cell_signal_means: Sequence[float] | np.ndarray,
) -> tuple[float | None, ...] | Skipped:
    """Per cellular point: 100·(Ŝ_sol(m) − S_cell)/Ŝ_sol(m), Ŝ_sol = a + b·m of the
    solution line at the cellular point's iron mass (positive = less signal in cells).

    ``None`` where Ŝ_sol(m) is 0 or the inputs are not finite; ``Skipped`` when the
    solution fit is unusable.
    """
    if not isinstance(solution_fit, LineFit):
        return Skipped("solution_to_cell_reduction", "no usable solution line")
    m = np.asarray(cell_iron_mass, dtype=float).ravel()
    s = np.asarray(cell_signal_means, dtype=float).ravel()
    if m.shape != s.shape:
        raise ValueError(f"iron masses and signals differ in length ({m.size} vs {s.size})")
    out: list[float | None] = []
    for mi, si in zip(m.tolist(), s.tolist()):
        pred = solution_fit.intercept + solution_fit.slope * mi
        if not (math.isfinite(pred) and math.isfinite(si)) or pred == 0.0:
            out.append(None)
            continue
        out.append(_finite_or_none(100.0 * (1.0 - si / pred)))
    return tuple(out)


def fwhm_change_percent(fwhm_cell_mean: float, fwhm_solution_mean: float) -> float | Skipped:
    """FWHM change of the cellular series: 100·(FWHM_cell − FWHM_sol)/FWHM_sol."""
    cell, sol = float(fwhm_cell_mean), float(fwhm_solution_mean)
    if not (math.isfinite(cell) and math.isfinite(sol)) or not sol > 0.0:
        return Skipped("fwhm_change", "the solution FWHM must be > 0 and both finite")
    change = 100.0 * (cell / sol - 1.0)
    if not math.isfinite(change):
        return Skipped("fwhm_change", "numerical overflow")
    return float(change)
