"""Vectors for the calibration line: MPI020–MPI029, MPI053 and MPI054.

Signal changes go through `line_signals` and `refit` (numpy.polyfit, independent of mpistd),
so that only the rule under test fires. The statistics quoted in the descriptions were worked
out with numpy/scipy by hand (see CONTRIBUTING.md: never from mpistd's own output).
"""
from __future__ import annotations

from families.common import CAL, QUANT, line_signals, refit, set_level_signals, vector

W, E, I = "warning", "error", "info"
FIT = f"{CAL}/fits/0"


def _signals(**kw):
    def change(d: dict) -> None:
        set_level_signals(d, line_signals(**kw))
        refit(d)
    return change


def _keep_points(n: int):
    def change(d: dict) -> None:
        d["calibrations"][0]["points"] = d["calibrations"][0]["points"][:n]
        refit(d)
    return change


def _fit(**fields):
    def change(d: dict) -> None:
        d["calibrations"][0]["fits"][0].update(fields)
    return change


def _through_origin(d: dict) -> None:
    d["calibrations"][0]["fits"][0]["through_origin"] = True


def _level_means(d: dict) -> None:
    # the level means lie exactly on 14 + 212 m, so the level-mean fit has R² = 1
    d["calibrations"][0]["fits"][0].update(fitted_to="level_means", slope=212.0, intercept=14.0, r_squared=1.0)


def _one_level(d: dict) -> None:
    d["calibrations"][0]["points"] = d["calibrations"][0]["points"][:1]


def _flat(d: dict) -> None:
    # 2000 + 3 m: slope 3 with SE ~0.84 (95 % CI ~[1.2, 4.8]) — weak but significant; R² ~0.45
    set_level_signals(d, line_signals(slope=3.0, intercept=2000.0))
    refit(d)
    d["quantifications"] = []


def _single_replicates(d: dict) -> None:
    for p in d["calibrations"][0]["points"]:
        p["replicates"] = p["replicates"][:1]
    refit(d)


def _extra_replicate(d: dict) -> None:
    d["calibrations"][0]["points"][2]["replicates"].append({"max_intensity": 1985.6, "total_intensity": 18863.2})


def _flat_with_unknown(d: dict) -> None:
    # the flat line 2000 + 3 m (slope 3 ± 0.84) and an unknown read three times at mean 2030: x̂ = 10
    set_level_signals(d, line_signals(slope=3.0, intercept=2000.0))
    d["quantifications"][0]["signal"] = [2025.0, 2030.0, 2035.0]
    refit(d)


def _estimate(value: float):
    def change(d: dict) -> None:
        d["quantifications"][0]["reported"]["iron_mass_ug"] = value
    return change


VECTORS = [
    vector("MPI020-fires", "MPI020", True, "Four levels (the two largest masses dropped).",
           _keep_points(4), [("MPI020", W, CAL)]),
    vector("MPI020-quiet", "MPI020", False, "Five levels: the minimum.", _keep_points(5), []),
    vector("MPI021-fires", "MPI021", True,
           "The reported fit claims to be through the origin. Refitted that way the slope is 213.04 "
           "(0.5 % off, inside tolerance) and the uncentred R² 0.99997; DIN 32645 limits do not apply "
           "to a line without intercept, so that statistic is skipped (MPI028 info).",
           _through_origin, [("MPI021", W, f"{FIT}/through_origin"), ("MPI028", I, FIT)]),
    vector("MPI021-quiet", "MPI021", False,
           "A free-intercept fit to the level means (R² = 1): not through the origin. Without replicates "
           "and with zero residual variance on that basis, lack of fit, homoscedasticity and limits are "
           "skipped (one MPI028 info on that fit).",
           _level_means, [("MPI028", I, FIT)]),
    vector("MPI022-fires", "MPI022", True, "Reported slope 224.72 is 6 % above the data's 212.",
           _fit(slope=224.72), [("MPI022", E, f"{FIT}/slope")]),
    vector("MPI022-quiet", "MPI022", False,
           "Slope 0.9 % high, intercept 35 off (1 % of the largest signal is 39.8), R² 0.0009 low: all inside.",
           _fit(slope=213.908, intercept=49.0, r_squared=0.998849), []),
    vector("MPI023-fires", "MPI023", True,
           "Curvature -1·m²: Mandel F = 27.2 (p = 1e-4), lack of fit F = 5.44 (p = 0.0098), for both metrics.",
           _signals(curvature=-1.0), [("MPI023", W, FIT), ("MPI023", W, CAL)]),
    vector("MPI023-quiet", "MPI023", False,
           "Curvature -0.3·m²: Mandel p = 0.14, lack of fit p = 0.74: no evidence of non-linearity.",
           _signals(curvature=-0.3), []),
    vector("MPI024-fires", "MPI024", True,
           "Replicate spread ±220 at every level: R² = 0.975 < 0.98, for both metrics.",
           _signals(spreads=(220,) * 6), [("MPI024", W, FIT), ("MPI024", W, CAL)]),
    vector("MPI024-quiet", "MPI024", False, "Spread ±150: R² = 0.988.", _signals(spreads=(150,) * 6), []),
    vector("MPI025-fires", "MPI025", True,
           "Spread ±5 at the lowest level and ±80 at the highest: F = 256 on (2, 2) df, p = 0.0078.",
           _signals(spreads=(5, 25, 18, 22, 24, 80)), [("MPI025", I, FIT), ("MPI025", I, CAL)]),
    vector("MPI025-quiet", "MPI025", False,
           "Spread ±15 lowest and ±80 highest: F = 28.4, p = 0.068 > 0.01.",
           _signals(spreads=(15, 25, 18, 22, 24, 80)), []),
    vector("MPI026-fires", "MPI026", True,
           "Lowest level shifted +150 with spread ±80 everywhere: back-calculates 11.2 % high "
           "(lack of fit p = 0.34, Mandel p = 0.085: not significant).",
           _signals(spreads=(80,) * 6, shift_first=150.0), [("MPI026", W, f"{CAL}/points/0")]),
    vector("MPI026-quiet", "MPI026", False, "Shift +120 with spread ±60: back-calculates 8.9 % high.",
           _signals(spreads=(60,) * 6, shift_first=120.0), []),
    vector("MPI027-fires", "MPI027", True, "A single calibration level: no line can be fitted.",
           _one_level, [("MPI027", E, CAL), ("MPI020", W, CAL)]),
    vector("MPI027-quiet", "MPI027", False,
           "A weak but significant slope (3 ± 0.84 a.u./ug, CI excludes 0). R² ~0.45 fires MPI024 for both "
           "metrics, and no finite DIN 32645 quantification limit exists (k·s_x0·t/√Q_x = 3·6.3·2.92/22.5 "
           "= 2.5 ≥ 1), an MPI028 info for both.",
           _flat, [("MPI024", W, FIT), ("MPI024", W, CAL), ("MPI028", I, FIT), ("MPI028", I, CAL)]),
    vector("MPI028-fires", "MPI028", True,
           "One replicate per level: lack of fit and homoscedasticity cannot be computed (both metrics), "
           "and every level warns MPI012.",
           _single_replicates,
           [("MPI028", I, FIT), ("MPI028", I, CAL)] + [("MPI012", W, f"{CAL}/points/{i}") for i in range(6)]),
    vector("MPI028-quiet", "MPI028", False, "A fourth replicate at one level: every statistic computable.",
           _extra_replicate, []),
    vector("MPI029-fires", "MPI029", True,
           "The flat line 2000 + 3 m (slope 3, SE 0.840, 16 df: its 95 % interval [1.22, 4.78] excludes 0, so "
           "MPI027 is quiet) and an unknown read three times (mean 2030, x̂ = 10). With prediction_alpha = "
           "0.001, t(16, 0.9995) = 4.015 and g = (4.015·0.840/3)² = 1.26 ≥ 1: the Fieller set is the whole "
           "real line (the quadratic's leading coefficient b²(1 − g) < 0 and its discriminant < 0). R² ~0.45 "
           "fires MPI024 and the missing DIN x_BG MPI028, for both metrics, as in MPI027-quiet.",
           _flat_with_unknown,
           [("MPI024", W, FIT), ("MPI024", W, CAL), ("MPI028", I, FIT), ("MPI028", I, CAL),
            ("MPI029", W, f"{QUANT}/signal")],
           options_toml="[tolerances]\nprediction_alpha = 0.001\n"),
    vector("MPI029-quiet", "MPI029", False,
           "The same line and unknown at the default prediction_alpha = 0.05: g = (2.120·0.840/3)² = 0.35 < 1, "
           "a bounded Fieller interval.",
           _flat_with_unknown,
           [("MPI024", W, FIT), ("MPI024", W, CAL), ("MPI028", I, FIT), ("MPI028", I, CAL)]),
    vector("MPI054-fires", "MPI054", True,
           "limit_k = 80 (a relative uncertainty of 1/80 at x_BG): g = 80·s_x0·t(16, 0.995)/√Q_x = 0.926 < 1 and "
           "the single root x_BG = 25.14 ug lies above the largest level 18.6 ug, for both metrics (numpy "
           "polyfit and the quadratic's formula). The unknown's 9.04 ug is then below x_BG (MPI045).",
           None, [("MPI054", W, FIT), ("MPI054", W, CAL), ("MPI045", W, f"{QUANT}/signal")],
           options_toml="[tolerances]\nlimit_k = 80\n"),
    vector("MPI054-quiet", "MPI054", False,
           "limit_k = 60: g = 0.695 and x_BG = 16.50 ug, inside the calibrated 3.1–18.6 ug; the unknown's "
           "9.04 ug is still below it (MPI045).",
           None, [("MPI045", W, f"{QUANT}/signal")],
           options_toml="[tolerances]\nlimit_k = 60\n"),
    vector("MPI053-fires", "MPI053", True,
           "Reported 9.5 ug; the line gives 9.042 ug (95 % CI 8.92–9.16): 5 % off, allowed 0.09 ug.",
           _estimate(9.5), [("MPI053", E, f"{QUANT}/reported/iron_mass_ug")]),
    vector("MPI053-quiet", "MPI053", False, "Reported 9.10 ug: 0.058 ug from 9.042, inside the allowed 0.09 ug.",
           _estimate(9.10), []),
]
