"""Tests of mpistd.quantify.pairing: matching by iron mass (STANDARD.md: within 2 %,
unmatched listed, never guessed), paired differences and solution-to-cell reduction by
hand calculation."""

from __future__ import annotations

import json
import math

import pytest

from mpistd.quantify.calibration import Skipped, Unusable, fit_line
from mpistd.quantify.pairing import (
    PairedDifference,
    Pairing,
    fwhm_change_percent,
    pair_by_iron_mass,
    paired_differences,
    solution_to_cell_reduction,
)


def test_pairing_exact_and_within_two_percent():
    res = pair_by_iron_mass([1.0, 2.0, 4.0, 8.0], [8.1, 4.0, 1.99, 2.5])
    assert isinstance(res, Pairing)
    # 8 vs 8.1: 1.2 %; 4 vs 4: 0; 2 vs 1.99: 0.5 %; 1 has no partner; 2.5 is 25 % off 2
    assert res.pairs == ((1, 2), (2, 1), (3, 0))
    assert res.unmatched_fc == (0,)
    assert res.unmatched_fv == (3,)
    assert res.relative_differences == pytest.approx((0.005, 0.0, 0.1 / 8.1))
    json.dumps(res.to_dict())


def test_pairing_never_guesses_beyond_tolerance():
    res = pair_by_iron_mass([100.0], [102.5])  # 2.4 %
    assert res.pairs == () and res.unmatched_fc == (0,) and res.unmatched_fv == (0,)
    assert pair_by_iron_mass([100.0], [102.0]).pairs == ((0, 0),)  # 2.0 % exactly
    assert pair_by_iron_mass([100.0], [102.5], tolerance=0.03).pairs == ((0, 0),)


def test_pairing_one_to_one_closest_first():
    """FV 100.9 is within 2 % of both FC 100 (0.89 %) and FC 101 (0.099 %): it goes to
    the closer one, and FC 100 stays unmatched rather than being paired twice."""
    res = pair_by_iron_mass([100.0, 101.0], [100.9])
    assert res.pairs == ((1, 0),)
    assert res.unmatched_fc == (0,)
    dup = pair_by_iron_mass([5.0, 5.0], [5.0])
    assert dup.pairs == ((0, 0),) and dup.unmatched_fc == (1,)


def test_pairing_non_finite_masses_stay_unmatched():
    res = pair_by_iron_mass([float("nan"), 1.0], [1.0, float("inf")])
    assert res.pairs == ((1, 0),)
    assert res.unmatched_fc == (0,) and res.unmatched_fv == (1,)


def test_paired_differences_by_hand():
    """FC replicates 10, 12, 14 (mean 12, SD 2, SE 2/√3); FV 9, 9, 12 (mean 10, SD √3,
    SE 1): 100·(12 − 10)/12 = 16.67 %, uncertainty √(4/3 + 1) = √(7/3);
    dilution 3.1/0.155 = 20 (the paper's ProMag 20×); ΔFWHM = 2.6 − 2.4 = 0.2."""
    pairing = pair_by_iron_mass([31.0], [31.0])
    res = paired_differences(
        pairing, [3.1], [0.155], [[10.0, 12.0, 14.0]], [[9.0, 9.0, 12.0]],
        fwhm_fc=[2.4], fwhm_fv=[[2.5, 2.7]], masses_fc=[31.0], masses_fv=[31.0],
    )
    assert len(res) == 1
    p = res[0]
    assert isinstance(p, PairedDifference)
    assert (p.i_fc, p.i_fv) == (0, 0)
    assert p.iron_mass == pytest.approx(31.0)
    assert p.dilution_ratio == pytest.approx(20.0)
    assert p.signal_fc_mean == pytest.approx(12.0)
    assert p.signal_fv_mean == pytest.approx(10.0)
    assert p.percent_difference == pytest.approx(100 * 2 / 12)
    assert p.uncertainty == pytest.approx(math.sqrt(7 / 3))
    assert p.uncertainty_percent == pytest.approx(100 * math.sqrt(7 / 3) / 12)
    assert p.delta_fwhm == pytest.approx(0.2)
    json.dumps(p.to_dict())


def test_paired_differences_degenerate_fields_are_none():
    res = paired_differences([(0, 0)], [1.0], [0.0], [[0.0]], [[1.0]])
    p = res[0]
    assert p.dilution_ratio is None  # c_FV = 0
    assert p.percent_difference is None  # S_FC = 0
    assert p.uncertainty is None  # one replicate: no SE
    assert p.delta_fwhm is None and p.iron_mass is None
    with pytest.raises(ValueError):
        paired_differences([(0, 3)], [1.0], [1.0], [[1.0]], [[1.0]])


def test_solution_to_cell_reduction_by_hand():
    """Solution line S = 2 + 3·m (exact); cells at m = 1, 2 with S = 2.5, 4:
    Ŝ = 5, 8 → 100·(5 − 2.5)/5 = 50 %, 100·(8 − 4)/8 = 50 %."""
    fit = fit_line([0, 1, 2, 3], [2, 5, 8, 11])
    assert solution_to_cell_reduction(fit, [1.0, 2.0], [2.5, 4.0]) == pytest.approx((50.0, 50.0))
    # Ŝ_sol(m) = 0 at m = -2/3: not computable → None
    res = solution_to_cell_reduction(fit, [-2 / 3, 1.0], [1.0, 5.0])
    assert res[0] is None
    assert res[1] == pytest.approx(0.0)
    assert isinstance(solution_to_cell_reduction(Unusable("x"), [1.0], [1.0]), Skipped)


def test_fwhm_change_percent_by_hand():
    assert fwhm_change_percent(11.1, 10.0) == pytest.approx(11.0)
    assert fwhm_change_percent(15.9, 10.0) == pytest.approx(59.0)
    assert isinstance(fwhm_change_percent(1.0, 0.0), Skipped)
