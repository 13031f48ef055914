"""The clean base dataset that every conformance vector mutates.

A fixed-concentration ProMag-like calibration in water, six levels in triplicate, iron mass
by ICP-OES, a particle model, noise and threshold reported, one reported fit and one
quantification. Every number is chosen so that no rule fires: level means lie exactly on
the line (no lack of fit, no curvature), replicate spreads are similar at both ends
(homoscedastic), and the reported fit and estimate are the ordinary least-squares values
computed here with plain numpy, independently of mpistd.
"""
from __future__ import annotations

import copy

import numpy as np

SLOPE = 212.0  # a.u. per ug Fe (maximum intensity)
INTERCEPT = 14.0
CONCENTRATION = 1.55  # ug Fe per uL, the paper's middle ProMag stock
VOLUMES = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
SPREADS = [20.0, 25.0, 18.0, 22.0, 24.0, 21.0]  # replicate offsets -d, 0, +d


def _points():
    points = []
    for i, (v, d) in enumerate(zip(VOLUMES, SPREADS)):
        m = round(CONCENTRATION * v, 4)
        y = SLOPE * m + INTERCEPT
        reps = []
        for j, off in enumerate((-d, 0.0, d)):
            reps.append({"max_intensity": round(y + off, 3), "total_intensity": round(9.5 * (y + off), 3)})
        points.append({
            "sample_id": f"FC-{i + 1}",
            "iron_mass_ug": m,
            "iron_mass_method": "icp-oes",
            "volume_uL": v,
            "concentration_ug_per_uL": CONCENTRATION,
            "replicates": reps,
        })
    return points


def _ols(points, metric):
    x = np.array([p["iron_mass_ug"] for p in points for _ in p["replicates"]], float)
    y = np.array([r[metric] for p in points for r in p["replicates"]], float)
    b, a = np.polyfit(x, y, 1)
    r2 = 1.0 - np.sum((y - (a + b * x)) ** 2) / np.sum((y - y.mean()) ** 2)
    return float(b), float(a), float(r2)


def build() -> dict:
    points = _points()
    b, a, r2 = _ols(points, "max_intensity")
    # the unknown: three replicate signals of a sample holding ~9 ug Fe
    signals = [1925.0, 1931.0, 1937.0]
    estimate = (float(np.mean(signals)) - a) / b
    return {
        "schema_version": "1.0",
        "dataset": {
            "id": "clean-base",
            "title": "Clean base dataset for conformance vectors (synthetic)",
            "description": "Synthetic. A fixed-concentration solution calibration with everything the standard asks for.",
            "created": "2026-11-25",
            "authors": [{"name": "mpistd developers"}],
            "license": "CC0-1.0",
        },
        "tracers": [{
            "id": "promag",
            "name": "ProMag",
            "vendor": "Bangs Laboratories",
            "product_code": "PMC1N",
            "core_material": "magnetite",
            "stock_iron_concentration_ug_per_uL": 3.1,
            "stock_concentration_method": "icp-oes",
            "particle_model": {"kind": "iron_mass_per_particle", "iron_mass_per_particle_fg": 2500.0},
        }],
        "acquisitions": [{
            "id": "hs-2d",
            "scanner": {"manufacturer": "Magnetic Insight", "model": "Momentum"},
            "mode": "high_sensitivity",
            "dimensionality": "2d",
            "gradient_T_per_m": 3.0,
            "drive_frequency_kHz": 45.0,
            "drive_amplitude_mT": {"x": 20.0, "z": 26.0},
            "fov_mm": {"x": 60.0, "z": 120.0},
            "pixel_size_mm": {"x": 0.5, "z": 0.5},
            "sample_holder": {"kind": "7-well tube holder", "position": "3"},
        }],
        "analysis": {
            "noise": {"method": "empty_holder", "sd": 2.0},
            "threshold": {"rule": "k_sd", "k": 5},
            "roi": {"method": "threshold_all"},
            "fwhm": {"axis": "x", "model": "lorentzian"},
            "interparticle_distance": {"estimator": "wigner_seitz"},
        },
        "calibrations": [{
            "id": "promag-fc",
            "tracer": "promag",
            "acquisition": "hs-2d",
            "environment": {"kind": "solution", "medium": "water"},
            "method": "fixed_concentration",
            "independent_variable": "iron_mass_ug",
            "points": points,
            "fits": [{
                "metric": "max_intensity",
                "model": "linear",
                "slope": round(b, 6),
                "intercept": round(a, 6),
                "r_squared": round(r2, 6),
                "through_origin": False,
                "weighting": "none",
                "fitted_to": "replicates",
            }],
        }],
        "quantifications": [{
            "id": "sample-A",
            "sample_id": "A",
            "tracer": "promag",
            "acquisition": "hs-2d",
            "environment": {"kind": "solution", "medium": "water"},
            "calibration": "promag-fc",
            "metric": "max_intensity",
            "signal": signals,
            "reported": {"iron_mass_ug": round(estimate, 4)},
        }],
    }


def base() -> dict:
    """A fresh deep copy of the clean base document."""
    return copy.deepcopy(_BASE)


_BASE = build()
