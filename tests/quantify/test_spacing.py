"""Tests of mpistd.quantify.spacing: unit conversions and estimators by hand, the
paper's eq. 1 (MPI_theory = MPI_ref·(d_ref/d)³) in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mpistd.quantify.calibration import Skipped
from mpistd.quantify.spacing import (
    ESTIMATORS,
    MAGNETITE_DENSITY_G_PER_CM3,
    MAGNETITE_IRON_MASS_FRACTION,
    Eq1Result,
    eq1_deviation,
    interparticle_distance_nm,
    number_density_per_nm3,
    particle_iron_mass_fg_spherical,
)


def test_magnetite_defaults():
    assert MAGNETITE_DENSITY_G_PER_CM3 == 5.17
    assert MAGNETITE_IRON_MASS_FRACTION == 0.724
    # Fe3O4: 3·55.845/(3·55.845 + 4·15.999) = 0.7236
    assert round(3 * 55.845 / (3 * 55.845 + 4 * 15.999), 3) == MAGNETITE_IRON_MASS_FRACTION


def test_particle_iron_mass_by_hand():
    """d = 10 nm = 1e-6 cm: V = (π/6)·1e-18 cm³, m = 5.17 g/cm³·V·0.724 in g,
    ×1e15 fg/g."""
    d_cm = 10 * 1e-7
    grams = 5.17 * (math.pi / 6) * d_cm**3 * 0.724
    assert particle_iron_mass_fg_spherical(10.0) == pytest.approx(grams * 1e15, rel=1e-12)
    assert particle_iron_mass_fg_spherical(10.0) == pytest.approx(1.95988e-3, rel=1e-5)
    assert particle_iron_mass_fg_spherical(20.0, 5.0, 1.0) == pytest.approx(
        5.0 * math.pi / 6 * (20e-7) ** 3 * 1e15, rel=1e-12)
    for bad in ((0.0,), (-1.0,), (float("nan"),), (10.0, 0.0), (10.0, 5.17, 1.5)):
        assert isinstance(particle_iron_mass_fg_spherical(*bad), Skipped)


def test_number_density_by_hand():
    """c = 1 µg/µL with 1 fg particles: 1e9 particles per µL = per 1e18 nm³ → 1e-9 /nm³."""
    assert number_density_per_nm3(1.0, 1.0) == pytest.approx(1e-9, rel=1e-15)
    assert number_density_per_nm3(3.1, 2.0) == pytest.approx(3.1e9 / 2.0 / 1e18, rel=1e-15)
    vec = number_density_per_nm3([1.0, 0.0, 2.0], 1.0)
    assert vec == (pytest.approx(1e-9), None, pytest.approx(2e-9))
    assert isinstance(number_density_per_nm3(0.0, 1.0), Skipped)
    assert isinstance(number_density_per_nm3(1.0, 0.0), Skipped)


def test_cubic_distance_by_hand():
    """n = 1e-9 /nm³ → one particle per (1000 nm)³ → cubic cell edge 1000 nm."""
    assert interparticle_distance_nm(1e-9, "cubic") == pytest.approx(1000.0, rel=1e-12)
    assert interparticle_distance_nm(8e-9, "cubic") == pytest.approx(500.0, rel=1e-12)


def test_estimator_ratios():
    """Wigner–Seitz / cubic = (3/(4π))^(1/3); nearest neighbour / Wigner–Seitz = Γ(4/3);
    nearest neighbour / cubic ≈ 0.554 (STANDARD.md)."""
    n = np.array([1e-12, 3.7e-9, 2e-3])
    cubic = np.array(interparticle_distance_nm(n, "cubic"))
    ws = np.array(interparticle_distance_nm(n, "wigner_seitz"))
    nn = np.array(interparticle_distance_nm(n, "nearest_neighbour"))
    assert np.allclose(ws / cubic, (3 / (4 * math.pi)) ** (1 / 3), rtol=1e-14)
    assert np.allclose(nn / ws, math.gamma(4 / 3), rtol=1e-14)
    assert np.allclose(nn / cubic, 0.554, atol=5e-4)
    assert ESTIMATORS == ("wigner_seitz", "cubic", "nearest_neighbour")


def test_distance_vectorised_and_degenerate():
    res = interparticle_distance_nm([1e-9, -1.0, float("inf"), 8e-9], "cubic")
    assert isinstance(res, tuple)
    assert res[0] == pytest.approx(1000.0) and res[1] is None and res[2] is None
    assert res[3] == pytest.approx(500.0)
    assert type(interparticle_distance_nm(1e-9, "cubic")) is float
    assert isinstance(interparticle_distance_nm(0.0, "cubic"), Skipped)
    with pytest.raises(ValueError):
        interparticle_distance_nm(1e-9, "mean_free_path")


def test_eq1_signals_exactly_inverse_cube_give_zero_deviation():
    d = np.array([300.0, 150.0, 600.0, 450.0])
    s = 7.0 / d**3
    res = eq1_deviation(d, s)
    assert isinstance(res, Eq1Result)
    assert res.reference_index == 2  # largest distance
    assert np.allclose(res.theory, s, rtol=1e-13)
    assert np.allclose(res.deviation_percent, 0.0, atol=1e-10)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_eq1_doubled_concentration_series_by_hand(estimator):
    """Fixed volume, concentrations 1, 2, 4 µg/µL: n doubles, d³ halves, so
    S_theory = S_ref·c/c_ref = 10, 20, 40 from S_ref = 10 at c = 1 (largest d).
    Measured 10, 21, 40 → deviations 0, +5 %, 0 for every estimator."""
    m_p = particle_iron_mass_fg_spherical(12.0)
    n = number_density_per_nm3([1.0, 2.0, 4.0], m_p)
    d = interparticle_distance_nm(n, estimator)
    res = eq1_deviation(d, [10.0, 21.0, 40.0])
    assert res.reference_index == 0
    assert res.theory == pytest.approx((10.0, 20.0, 40.0), rel=1e-12)
    assert res.deviation_percent == pytest.approx((0.0, 5.0, 0.0), abs=1e-9)


def test_eq1_with_tied_distances():
    """Ties at the largest distance: the first is the reference; the other tied point is
    compared with S_ref (theory 10): 12 → +20 %. d = 2 → 10·(5/2)³ = 156.25."""
    res = eq1_deviation([5.0, 5.0, 2.0], [10.0, 12.0, 160.0])
    assert res.reference_index == 0
    assert res.theory == pytest.approx((10.0, 10.0, 156.25))
    assert res.deviation_percent == pytest.approx((0.0, 20.0, 100 * (160 - 156.25) / 156.25))
    tied_all = eq1_deviation([3.0, 3.0], [4.0, 5.0])
    assert tied_all.deviation_percent == pytest.approx((0.0, 25.0))


def test_eq1_degenerate():
    assert isinstance(eq1_deviation([], []), Skipped)
    assert isinstance(eq1_deviation([1.0, 0.0], [1.0, 2.0]), Skipped)
    assert isinstance(eq1_deviation([2.0, 1.0], [0.0, 2.0]), Skipped)  # S_ref = 0
    assert isinstance(eq1_deviation([2.0, 1.0], [1.0, float("nan")]), Skipped)
    with pytest.raises(ValueError):
        eq1_deviation([1.0, 2.0], [1.0])


def test_every_estimator_at_once_is_each_estimator_alone_bit_for_bit():
    """interparticle_distances_nm raises n^(-1/3) once per entry for all estimators (the pipeline's
    call): each of its tuples must be interparticle_distance_nm's for that estimator, compared with
    == (every float bit for bit, None where a distance cannot be computed)."""
    from mpistd.quantify.spacing import ESTIMATORS, interparticle_distances_nm

    rng = np.random.default_rng(23)
    for _ in range(2000):
        n = 10 ** rng.uniform(-320, 300, int(rng.integers(0, 12)))
        values = n.tolist()
        if values and rng.random() < 0.3:
            values[int(rng.integers(len(values)))] = [0.0, -1e-12, float("nan"), float("inf"), 5e-324][
                int(rng.integers(5))]
        together = interparticle_distances_nm(values)
        assert list(together) == list(ESTIMATORS)
        for e in ESTIMATORS:
            assert together[e] == interparticle_distance_nm(values, e)
