"""Benchmark of the full calibration statistics against numpy.polyfit.

    python benchmarks/bench_calibration.py [--n 10000] [--levels 10] [--repeat 7]

Builds an N-point calibration (``--levels`` distinct iron masses, replicates at each,
slightly curved and heteroscedastic signal) and times, in the same process:

- polyfit: ``numpy.polyfit(x, y, 1)``, slope and intercept only (the floor);
- mpistd:  fit_line + lack_of_fit + mandel + homoscedasticity + back_calculated +
           limits_din32645 + limits_massart + limits_ich_q2 + inverse_predict (Wald and
           Fieller) + simultaneous_interval, i.e. every statistic the reference
           quantification reports for one series and one of several unknowns.

The target (issue 14) is a ratio of at most 2.

Each timing is the best of ``--repeat`` runs (time.perf_counter); the first, untimed run
pays the lazy ``scipy.special`` import. Never asserted in tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mpistd.quantify.calibration import (  # noqa: E402
    back_calculated,
    fit_line,
    homoscedasticity,
    lack_of_fit,
    mandel,
)
from mpistd.quantify.limits import (  # noqa: E402
    InversePrediction,
    inverse_predict,
    limits_din32645,
    limits_ich_q2,
    limits_massart,
    simultaneous_interval,
)


def make_data(n: int, levels: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    masses = np.linspace(0.5, 50.0, levels)
    x = np.repeat(masses, int(np.ceil(n / levels)))[:n]
    y = 120.0 + 950.0 * x - 0.8 * x**2
    y = y * (1.0 + rng.normal(0.0, 0.02, n)) + rng.normal(0.0, 30.0, n)
    return x, y


def full_statistics(x: np.ndarray, y: np.ndarray) -> tuple[object, ...]:
    fit = fit_line(x, y)
    prediction = inverse_predict(fit, y[:3])
    assert isinstance(prediction, InversePrediction)
    return (
        fit,
        lack_of_fit(x, y, fit),
        mandel(x, y),
        homoscedasticity(x, y),
        back_calculated(x, y, fit),
        limits_din32645(fit),
        limits_massart(fit),
        limits_ich_q2(fit),
        prediction,
        simultaneous_interval(fit, prediction, k=3),  # type: ignore[arg-type]
    )


def best_of(func, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--levels", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    x, y = make_data(args.n, args.levels)
    full_statistics(x, y)  # warm-up: lazy scipy.special import
    np.polyfit(x, y, 1)

    t_poly = best_of(lambda: np.polyfit(x, y, 1), args.repeat)
    t_full = best_of(lambda: full_statistics(x, y), args.repeat)

    fit = full_statistics(x, y)[0]
    coef = np.polyfit(x, y, 1)
    assert abs(fit.slope - coef[0]) <= 1e-9 * abs(coef[0])

    print(f"calibration of n = {args.n} points, {args.levels} levels, best of {args.repeat}")
    print(f"{'numpy.polyfit(x, y, 1):':40s}{t_poly * 1e3:9.3f} ms")
    print(f"{'mpistd full statistics (10 functions):':40s}{t_full * 1e3:9.3f} ms")
    print(f"{'ratio mpistd / polyfit:':40s}{t_full / t_poly:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
