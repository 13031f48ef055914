"""Particle mass, number density, mean interparticle distance and the paper's eq. 1.

Units: core diameter in nm, density in g/cm³, iron concentration in µg Fe/µL, particle
iron mass in fg, number density in particles/nm³, distances in nm.

What each function returns
--------------------------
* ``particle_iron_mass_fg_spherical`` → float, or ``Skipped`` for a non-positive or
  non-finite diameter, density or iron fraction (fraction must be in (0, 1]).
* ``number_density_per_nm3`` and ``interparticle_distance_nm`` are vectorised: a scalar
  input gives a float (or ``Skipped`` when it cannot be computed); a sequence/array gives
  a tuple of floats with ``None`` at the entries that cannot be computed (non-positive or
  non-finite). An unknown estimator name raises ``ValueError``.
* ``eq1_deviation`` → ``Eq1Result``, or ``Skipped`` (no points, non-positive or
  non-finite distances, non-finite signals, a reference signal <= 0). Inputs of different
  lengths raise ``ValueError``.
* ``eq1_split`` → ``Eq1Split`` (eq. 1's deviation split into a background-offset part and a
  spacing part, given an independently known offset), or ``Skipped`` (as ``eq1_deviation``,
  a non-finite offset, or an offset-corrected reference signal <= 0).

Sources: the paper's eq. 1 (MPI_theory = MPI_ref·(d_ref/d)³, Fig. 5), STANDARD.md
"Derived quantities"; Wigner–Seitz radius and the Poisson (Hertz 1909 / Chandrasekhar
1943) mean nearest-neighbour distance Γ(4/3)·(3/(4πn))^(1/3) ≈ 0.554·n^(-1/3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from mpistd.quantify.calibration import Skipped

__all__ = [
    "MAGNETITE_DENSITY_G_PER_CM3",
    "MAGNETITE_IRON_MASS_FRACTION",
    "ESTIMATORS",
    "Eq1Result",
    "particle_iron_mass_fg_spherical",
    "number_density_per_nm3",
    "interparticle_distance_nm",
    "interparticle_distances_nm",
    "eq1_deviation",
    "Eq1Split",
    "eq1_split",
]

#: Density of magnetite Fe3O4, g/cm³.
MAGNETITE_DENSITY_G_PER_CM3 = 5.17
#: Iron mass fraction of magnetite Fe3O4 (3·55.845/231.53).
MAGNETITE_IRON_MASS_FRACTION = 0.724

#: Interparticle-distance estimators accepted by :func:`interparticle_distance_nm`.
ESTIMATORS: tuple[str, ...] = ("wigner_seitz", "cubic", "nearest_neighbour")

# 1 nm³ = 1e-21 cm³ and 1 g = 1e15 fg, so g/cm³ · nm³ = 1e-6 fg.
_FG_PER_G_CM3_NM3 = 1e-6
# 1 µg = 1e9 fg; 1 µL = 1 mm³ = 1e18 nm³.
_FG_PER_UG = 1e9
_NM3_PER_UL = 1e18

_WS_FACTOR = (3.0 / (4.0 * math.pi)) ** (1.0 / 3.0)
_NN_FACTOR = math.gamma(4.0 / 3.0) * _WS_FACTOR
#: The factor of n^(-1/3) of every estimator (see interparticle_distance_nm).
_FACTORS = {"wigner_seitz": _WS_FACTOR, "cubic": 1.0, "nearest_neighbour": _NN_FACTOR}


@dataclass(frozen=True, slots=True)
class Eq1Result:
    """Paper eq. 1 for a series: theoretical signals and percentage deviations.

    ``reference_index`` is the point used as reference (largest distance; on ties the
    first such point), ``theory[i]`` = S_ref·(d_ref/d_i)³ and ``deviation_percent[i]`` =
    100·(S_i − theory_i)/theory_i.
    """

    reference_index: int
    theory: tuple[float, ...]
    deviation_percent: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference_index": self.reference_index,
            "theory": list(self.theory),
            "deviation_percent": list(self.deviation_percent),
        }


def _positive_finite(v: float) -> bool:
    return math.isfinite(v) and v > 0.0


def particle_iron_mass_fg_spherical(
    core_diameter_nm: float,
    density_g_per_cm3: float = MAGNETITE_DENSITY_G_PER_CM3,
    iron_mass_fraction: float = MAGNETITE_IRON_MASS_FRACTION,
) -> float | Skipped:
    """Iron mass of one spherical core, in fg: m = ρ·(π/6)·d³·f_Fe.

    (ρ in g/cm³, d in nm; 1 g/cm³·nm³ = 1e-6 fg.) Defaults: magnetite, ρ = 5.17 g/cm³,
    f_Fe = 0.724.
    """
    d, rho, f = float(core_diameter_nm), float(density_g_per_cm3), float(iron_mass_fraction)
    if not (_positive_finite(d) and _positive_finite(rho) and _positive_finite(f) and f <= 1.0):
        return Skipped(
            "particle_iron_mass",
            "core diameter and density must be > 0 and the iron fraction in (0, 1]",
        )
    mass = rho * (math.pi / 6.0) * (d * d * d) * f * _FG_PER_G_CM3_NM3
    if not _positive_finite(mass):
        return Skipped("particle_iron_mass", "numerical overflow")
    return float(mass)


def _vectorised(values: Any, func: Callable[[float], float], statistic: str, reason: str) -> Any:
    """Apply ``func`` to positive finite entries: float|Skipped for scalars, tuple else."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        v = float(arr)
        if not _positive_finite(v):
            return Skipped(statistic, reason)
        out = func(v)
        return float(out) if _positive_finite(out) else Skipped(statistic, "numerical overflow")
    result: list[float | None] = []
    isfinite = math.isfinite  # _positive_finite, inlined: every point of every series passes here
    for v in arr.ravel().tolist():
        entry = func(v) if isfinite(v) and v > 0.0 else None
        result.append(float(entry) if entry is not None and isfinite(entry) and entry > 0.0 else None)
    return tuple(result)


def number_density_per_nm3(
    concentration_ug_per_uL: float | Sequence[float] | np.ndarray,
    particle_iron_mass_fg: float,
) -> Any:
    """Number density n = c/m_particle in particles per nm³.

    n = c[µg/µL]·1e9 [fg/µg] / (1e18 [nm³/µL]·m[fg]). Scalar → float | Skipped;
    sequence → tuple with ``None`` where c <= 0 or not finite. A non-positive particle
    mass gives ``Skipped``.
    """
    if isinstance(particle_iron_mass_fg, Skipped):
        return Skipped("number_density", particle_iron_mass_fg.reason)
    m = float(particle_iron_mass_fg)
    if not _positive_finite(m):
        return Skipped("number_density", "particle iron mass must be > 0")
    factor = _FG_PER_UG / (_NM3_PER_UL * m)
    return _vectorised(
        concentration_ug_per_uL,
        lambda c: c * factor,
        "number_density",
        "concentration must be > 0 and finite",
    )


def interparticle_distance_nm(
    number_density_per_nm3: float | Sequence[float] | np.ndarray,
    estimator: str,
) -> Any:
    """Mean interparticle distance (nm) from the number density n (1/nm³).

    * ``"wigner_seitz"``: radius of the sphere holding one particle, (3/(4πn))^(1/3)
    * ``"cubic"``: edge of the cube holding one particle, n^(-1/3)
    * ``"nearest_neighbour"``: mean nearest-neighbour distance of a Poisson (ideal gas)
      arrangement, Γ(4/3)·(3/(4πn))^(1/3) ≈ 0.554·n^(-1/3)

    Scalar → float | Skipped; sequence/array → tuple with ``None`` where n <= 0 or not
    finite. Unknown estimator → ``ValueError``.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; expected one of {ESTIMATORS}")
    factor = _FACTORS[estimator]
    return _vectorised(
        number_density_per_nm3,
        lambda n: factor * n ** (-1.0 / 3.0),
        "interparticle_distance",
        "number density must be > 0 and finite",
    )


def interparticle_distances_nm(
    number_density_per_nm3: Sequence[float] | np.ndarray,
) -> dict[str, tuple[float | None, ...]]:
    """:func:`interparticle_distance_nm` of a sequence for every estimator of ``ESTIMATORS``, in that
    order: the same values (each is factor·n^(-1/3) with the same factor and power; the cubic
    factor is 1.0 and 1.0·r is r), with n^(-1/3) raised once per entry instead of once per estimator."""
    factors = [_FACTORS[e] for e in ESTIMATORS]
    columns: tuple[list[float | None], ...] = ([], [], [])
    isfinite = math.isfinite
    for v in np.asarray(number_density_per_nm3, dtype=float).ravel().tolist():
        if isfinite(v) and v > 0.0:
            root = v ** (-1.0 / 3.0)
            for factor, column in zip(factors, columns):
                entry = factor * root
                column.append(entry if isfinite(entry) and entry > 0.0 else None)
        else:
            for column in columns:
                column.append(None)
    return {e: tuple(column) for e, column in zip(ESTIMATORS, columns)}


def eq1_deviation(
    distances_nm: Sequence[float] | np.ndarray,
    signals: Sequence[float] | np.ndarray,
) -> Eq1Result | Skipped:
    """Paper eq. 1: S_theory = S_ref·(d_ref/d)³, deviation 100·(S − S_theory)/S_theory.

    The reference is the point with the largest distance (the least concentrated; on a
    tie the first of them). At fixed volume (d ∝ c^(-1/3)) S_theory = S_ref·c/c_ref, so
    the deviation is the deviation from proportionality to concentration whatever the
    estimator.
    """
    d = np.asarray(distances_nm, dtype=float).ravel()
    s = np.asarray(signals, dtype=float).ravel()
    if d.shape != s.shape:
        raise ValueError(f"distances and signals differ in length ({d.size} vs {s.size})")
    name = "eq1_deviation"
    if d.size == 0:
        return Skipped(name, "no points")
    if not np.all(np.isfinite(d)) or not np.all(d > 0):
        return Skipped(name, "distances must be > 0 and finite")
    if not np.all(np.isfinite(s)):
        return Skipped(name, "non-finite signals")
    ref = int(np.argmax(d))
    s_ref = float(s[ref])
    if not s_ref > 0.0:
        return Skipped(name, "the reference signal must be > 0")
    with np.errstate(all="ignore"):
        theory = s_ref * (d[ref] / d) ** 3
    if not np.all(np.isfinite(theory)) or not np.all(theory > 0):
        return Skipped(name, "numerical overflow")
    with np.errstate(all="ignore"):
        dev = 100.0 * (s / theory - 1.0)  # = 100·(S − S_theory)/S_theory
    if not np.all(np.isfinite(dev)):
        return Skipped(name, "numerical overflow")
    return Eq1Result(
        reference_index=ref,
        theory=tuple(theory.tolist()),
        deviation_percent=tuple(dev.tolist()),
    )


@dataclass(frozen=True, slots=True)
class Eq1Split:
    """Eq. 1's deviation split into a background-offset part and a spacing part.

    At a fixed volume d⁻³ ∝ c ∝ m, so eq. 1 predicts proportionality to iron mass, and a
    series alone cannot tell a constant background offset S₀ from a spacing (dilution)
    effect. Given S₀ from elsewhere (a measured blank, or the intercept of the paired
    fixed-concentration series, whose concentration does not change):

    * ``total_percent[i]`` = 100·(S_i/T_i − 1) with T_i = S_ref·(d_ref/d_i)³ (= eq. 1);
    * ``spacing_percent[i]`` = 100·(S'_i/T'_i − 1) with S' = S − S₀ and T'_i =
      S'_ref·(d_ref/d_i)³: the deviation left once the offset is removed;
    * ``offset_percent[i]`` = total − spacing (percentage points): the part a constant
      offset explains.
    """

    offset: float
    offset_source: str  # "blank" | "paired_intercept"
    reference_index: int
    total_percent: tuple[float, ...]
    spacing_percent: tuple[float, ...]
    offset_percent: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "offset_source": self.offset_source,
            "reference_index": self.reference_index,
            "total_percent": list(self.total_percent),
            "spacing_percent": list(self.spacing_percent),
            "offset_percent": list(self.offset_percent),
        }


def eq1_split(
    distances_nm: Sequence[float] | np.ndarray,
    signals: Sequence[float] | np.ndarray,
    offset: float,
    offset_source: str,
) -> Eq1Split | Skipped:
    """Split eq. 1's deviation into offset and spacing parts (see :class:`Eq1Split`)."""
    total = eq1_deviation(distances_nm, signals)
    if isinstance(total, Skipped):
        return total
    name = "eq1_split"
    if not math.isfinite(offset):
        return Skipped(name, "non-finite offset")
    d = np.asarray(distances_nm, dtype=float).ravel()
    corrected = np.asarray(signals, dtype=float).ravel() - float(offset)
    ref = total.reference_index
    s_ref = float(corrected[ref])
    if not s_ref > 0.0:
        return Skipped(name, "the offset-corrected reference signal must be > 0")
    with np.errstate(all="ignore"):
        theory = s_ref * (d[ref] / d) ** 3
        spacing = 100.0 * (corrected / theory - 1.0)
    if not np.all(np.isfinite(spacing)):
        return Skipped(name, "numerical overflow")
    tot = np.asarray(total.deviation_percent)
    return Eq1Split(
        offset=float(offset),
        offset_source=offset_source,
        reference_index=ref,
        total_percent=tuple(tot.tolist()),
        spacing_percent=tuple(spacing.tolist()),
        offset_percent=tuple((tot - spacing).tolist()),
    )
