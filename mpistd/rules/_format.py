"""The one formatting policy for numbers, units and enum values.

Finding messages (the rules), the HTML/PDF report, its figures and the text output all
format through this module, so a number reads the same wherever it appears:

- **significant figures by kind of quantity** (:data:`SIG`): a signal or a mass carries 4,
  a fit parameter 6 (to compare a reported slope), a p-value 2, a percentage one decimal;
- **no float noise**: a value is rounded to its significant figures *before* it is printed,
  and a percentage smaller than its last shown digit is ``0.0 %`` (never ``-9.04e-07 %``);
- **no bare exponent**: beyond the plain range (10⁻³ ≤ |x| < 10⁷) a number is
  ``1.013 × 10⁷``, never ``1.013e+07``;
- **one unit per quantity**: a distance is in nm, or in µm when the largest distance of the
  table, axis or message is 10 µm or more (:func:`distance_unit`; the paper quotes 116 µm
  in solution and 306 nm in cells) — the rules' messages, the tables and the plots choose it
  the same way, and a value is never shown in two units;
- **a unit on every value** (:func:`qty`), separated by a no-break space;
- **a display name for every enum value** of the schemas (:data:`DISPLAY`, checked by a test
  against every ``enum`` in ``schemas/``).

Pure Python, no imports beyond ``math``: the rules and ``quantify``-free layers can use it.
"""
from __future__ import annotations

import math

__all__ = ["SIG", "DISPLAY", "num", "pct", "qty", "display", "metric_name", "distance_unit", "distance",
           "superscript", "p_value"]

#: significant figures by kind of quantity
SIG = {
    "default": 4,
    "signal": 4,
    "mass": 4,
    "count": 4,
    "concentration": 3,
    "distance": 3,
    "length": 3,   # FWHM, pixel sizes (mm)
    "parameter": 6,  # slope / intercept: enough to compare a reported fit
    "statistic": 3,  # F, t
    "p": 2,
    "se": 3,
    "r2": 5,
}

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
NBSP = "\u00a0"


def superscript(n: int) -> str:
    """An integer in Unicode superscript digits: ``superscript(-4) == '⁻⁴'``."""
    return str(int(n)).translate(_SUPERSCRIPT)


def _plain(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant figures in positional notation, trailing zeros kept
    only where they are significant (``12.30`` stays, ``12.300000001`` cannot occur)."""
    exponent = math.floor(math.log10(abs(x)))
    places = digits - 1 - exponent  # negative: round to tens, hundreds, … (6795123 -> 6795000)
    rounded = round(x, places)
    if rounded != 0 and math.floor(math.log10(abs(rounded))) > exponent:  # 9.9996 -> 10.00
        places -= 1
        rounded = round(x, places)
    decimals = max(places, 0)
    text = f"{rounded:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def num(x: float | None, digits: int = 4) -> str:
    """A number with ``digits`` significant figures: positional between 10⁻³ and 10⁷ (a column of signals up to
    millions reads in one format), else
    ``m × 10ⁿ`` (never ``e+05``); ints print whole; ``n/a`` for None, ``—`` for NaN/∞."""
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    x = float(x)
    if not math.isfinite(x):
        return "—"
    if x == 0:
        return "0"
    ax = abs(x)
    if 1e-3 <= ax < 1e7:
        text = _plain(x, digits)
        if text != "0" and abs(float(text)) < 1e7:
            return text
    # the mantissa and exponent from Python's own rounding (exact for denormals, where 10**e underflows)
    mantissa_text, _, exponent_text = f"{x:.{max(digits - 1, 0)}e}".partition("e")
    exponent = int(exponent_text)
    m = _plain(float(mantissa_text), digits)
    return f"{m} × 10{superscript(exponent)}"


def pct(x: float | None, digits: int = 1, signed: bool = True) -> str:
    """A percentage with ``digits`` decimals (``+2.3 %``); below its last digit it is ``0.0 %``."""
    if x is None:
        return "n/a"
    x = float(x)
    if not math.isfinite(x):
        return "—"
    if abs(x) < 0.5 * 10.0 ** -digits:
        return f"{0:.{digits}f} %"
    return f"{x:+.{digits}f} %" if signed else f"{x:.{digits}f} %"


def p_value(p: float | None) -> str:
    """A p-value to 2 significant figures, ``< 0.0001`` below that (never an exponent)."""
    if p is None:
        return "n/a"
    if p < 1e-4:
        return "< 0.0001"
    return num(p, SIG["p"])


def qty(x: float | None, unit: str, digits: int | None = None, kind: str = "default") -> str:
    """A value with its unit: ``qty(5.2, 'µg') == '5.2 µg'`` (no-break space); ``n/a`` alone."""
    text = num(x, digits if digits is not None else SIG.get(kind, SIG["default"]))
    if x is None or text == "—" or not unit:
        return text
    return f"{text}{NBSP}{unit}"


def distance_unit(largest_nm: float | None) -> tuple[str, float]:
    """(unit, factor from nm) for distances whose largest is ``largest_nm``: µm from 10 µm."""
    if largest_nm is not None and math.isfinite(largest_nm) and abs(largest_nm) >= 1e4:
        return "µm", 1e-3
    return "nm", 1.0


def distance(nm: float | None, unit_of: float | None = None) -> str:
    """A distance in nm, or µm when it (or ``unit_of``, the larger end of a span) is 10 µm or more."""
    if nm is None:
        return "n/a"
    unit, factor = distance_unit(unit_of if unit_of is not None else nm)
    return qty(nm * factor, unit, kind="distance")


#: the display name of every enum value in the schemas (and of mpistd's own vocabulary)
DISPLAY = {
    # metrics
    "max_intensity": "maximum intensity",
    "mean_intensity": "mean intensity",
    "total_intensity": "total intensity",
    "roi_area_mm2": "ROI area",
    "roi_volume_mm3": "ROI volume",
    "fwhm_mm": "FWHM",
    # estimators of the interparticle distance
    "cubic": "cubic lattice",
    "nearest_neighbour": "nearest neighbour",
    "wigner_seitz": "Wigner–Seitz radius",
    # fits
    "level_means": "level means",
    "replicates": "every replicate",
    "1/x": "1/x",
    "1/x2": "1/x²",
    "none": "none",
    "linear": "linear",
    "lorentzian": "Lorentzian",
    # image formats
    "dicom": "DICOM",
    "mdf": "MDF",
    "npy": "NumPy .npy",
    "tiff": "TIFF",
    # independent variables
    "cell_count": "cell count",
    "iron_mass_ug": "iron mass",
    # iron determination
    "ferrozine": "ferrozine assay",
    "icp-ms": "ICP-MS",
    "icp-oes": "ICP-OES",
    "manufacturer": "manufacturer's value",
    "nominal": "nominal",
    "other": "other",
    # tracer cores
    "maghemite": "maghemite",
    "magnetite": "magnetite",
    "mixed": "mixed",
    # environments and particle models
    "cells": "cells",
    "gel": "gel",
    "in_vivo": "in vivo",
    "solution": "solution",
    "tissue": "tissue",
    "iron_mass_per_particle": "iron mass per particle",
    "spherical_core": "spherical core",
    # methods (calibration, noise, ROI, receiver correction)
    "fixed_concentration": "fixed concentration",
    "fixed_volume": "fixed volume",
    "cell_number": "cell number",
    "background_roi": "background ROI",
    "empty_holder": "empty holder",
    "manual": "manual",
    "threshold_all": "all pixels above the threshold",
    "threshold_connected": "connected pixels above the threshold",
    "lookup_table": "lookup table",
    "polynomial": "polynomial",
    # acquisition
    "2d": "2D",
    "3d": "3D",
    "custom": "custom",
    "high_resolution": "high resolution",
    "high_sensitivity": "high sensitivity",
    "x": "x",
    "y": "y",
    "z": "z",
    "k_sd": "k × noise SD",
    # findings and verdicts
    "error": "error",
    "warning": "warning",
    "info": "information",
    "conformant": "conformant",
    "conformant with warnings": "conformant with warnings",
    "not conformant": "not conformant",
    "baseline": "baseline",
    "command-line": "command line",
    "config": "configuration",
    "inline": "inline x-mpistd-ignore",
    # limits
    "din32645": "DIN 32645",
    "ich_q2": "ICH Q2(R2)",
    "DIN 32645": "DIN 32645",
    "ICH Q2(R2)": "ICH Q2(R2)",
    "Massart 1997": "Massart 1997",
    # inverse prediction (issue 14): variance of the unknown, Fieller interval kinds, adjustments
    "fixed": "fixed variance",
    "pooled": "pooled variance",
    "reported": "reported variance",
    "mean_response": "mean response",
    "interval": "bounded interval",
    "two_half_lines": "two half-lines",
    "real_line": "the whole real line",
    "bonferroni": "Bonferroni",
    "scheffe": "Scheffé",
    # eq.-1 offset (issue 14)
    "blank": "measured blank",
    "paired_intercept": "intercept of the paired fixed-concentration line",
    # dataset status in a run (issue 13)
    "ok": "judged",
    "internal_error": "internal error",
    "internal error": "internal error",
}


def display(value: object) -> str:
    """The display name of an enum value (``'wigner_seitz'`` → ``'Wigner–Seitz radius'``);
    an unknown one (a newer schema) reads with spaces for underscores, never raw."""
    if value is None:
        return "—"
    text = str(value)
    return DISPLAY.get(text, text.replace("_", " "))


def metric_name(metric: str) -> str:
    return display(metric)
