"""Eq. 1's deviation split into background-offset and spacing parts (closed forms).

At a fixed volume d⁻³ ∝ c, so eq. 1 (the paper's S = S_ref·(d_ref/d)³) is proportionality to
concentration; a pure offset S = S₀ + κ·c deviates from it by 100·(S₀ + κc)·c_ref/((S₀ + κc_ref)·c) − 100
and, once S₀ is removed, not at all. These tests build such series by hand.
"""
from __future__ import annotations

import pytest

from mpistd.quantify.calibration import Skipped
from mpistd.quantify.spacing import eq1_deviation, eq1_split


def _distances(concs: list[float]) -> list[float]:
    return [c ** (-1.0 / 3.0) for c in concs]  # any constant factor: eq. 1 uses ratios


def test_pure_offset_is_all_offset() -> None:
    concs = [0.04, 0.08, 0.16, 0.4]
    s0, kappa = 50.0, 1000.0
    signals = [s0 + kappa * c for c in concs]
    split = eq1_split(_distances(concs), signals, s0, "blank")
    total = eq1_deviation(_distances(concs), signals)
    ref = 0  # the least concentrated has the largest distance
    assert split.reference_index == ref == total.reference_index
    for i, c in enumerate(concs):
        by_hand = 100 * ((s0 + kappa * c) * concs[ref] / ((s0 + kappa * concs[ref]) * c) - 1)
        assert split.total_percent[i] == pytest.approx(by_hand, rel=1e-12, abs=1e-12)
        assert split.spacing_percent[i] == pytest.approx(0.0, abs=1e-9)
        assert split.offset_percent[i] == pytest.approx(by_hand, rel=1e-9, abs=1e-9)
    assert split.offset_source == "blank" and split.to_dict()["offset"] == s0


def test_pure_spacing_effect_with_zero_offset_is_all_spacing() -> None:
    """No offset, a 10 % signal loss at the most concentrated point: all of it is spacing."""
    concs = [0.05, 0.1, 0.5]
    signals = [1000 * c for c in concs]
    signals[-1] *= 0.9
    split = eq1_split(_distances(concs), signals, 0.0, "paired_intercept")
    assert split.spacing_percent[-1] == pytest.approx(-10.0, rel=1e-12)
    assert split.offset_percent[-1] == pytest.approx(0.0, abs=1e-12)


def test_offset_too_large_is_skipped() -> None:
    assert isinstance(eq1_split([3.0, 2.0], [10.0, 30.0], 10.0, "blank"), Skipped)
    assert isinstance(eq1_split([3.0, 2.0], [10.0, 30.0], float("nan"), "blank"), Skipped)
