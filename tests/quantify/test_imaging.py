"""The reference image-metric method (STANDARD.md, "Image metrics, the reference method").

Independent sources: closed forms (a pure Lorentzian has FWHM 2γ; a uniform disc has
area count × pixel area and total value × area), hand computation (receiver tables,
polynomials, SD), scipy.optimize.least_squares / curve_fit for the fits, and a naive
per-image implementation written here from the standard's text.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.optimize import curve_fit, least_squares

from mpistd.quantify.imaging import (
    ImageMetrics,
    ReceiverCorrection,
    apply_receiver_correction,
    count_saturated,
    fit_lorentzian,
    noise_sd_from_background,
    quantify_image,
    quantify_images,
)
from mpistd.quantify.simulate import lorentzian_line_image, simulate_tube_image, uniform_disc_image

SP = {"z": 0.5, "x": 0.5}


def _lor(x, a, c, g):
    return a / (1.0 + ((x - c) / g) ** 2)


def _scipy_gamma(x, y, p0):
    res = least_squares(
        lambda p: _lor(x, *p) - y, p0, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=100000
    )
    assert res.success
    return abs(res.x[2])


def _no_nan(m: ImageMetrics) -> None:
    # allow_nan=False raises on NaN/inf: results must always be valid JSON.
    json.dumps(m.to_dict(), allow_nan=False)


# --------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("x0", [30.0, 30.17, 41.93])
@pytest.mark.parametrize("gamma", [0.8, 2.0, 6.5])
def test_pure_lorentzian_line_fwhm_is_two_gamma(x0, gamma):
    img = lorentzian_line_image(gamma_mm=gamma, center_mm={"x": x0}, amplitude=750.0)
    m = quantify_image(img.image, img.spacing_mm, threshold=1.0)
    assert m.problems == ()
    assert m.max_index[0] == img.truth["max_row"]
    assert m.fwhm_mm == pytest.approx(2 * gamma, rel=1e-3)  # the standard's 0.1 %
    assert m.fwhm_mm == pytest.approx(2 * gamma, rel=1e-8)  # zero residual: exact fit


def test_fit_lorentzian_matches_scipy_on_pure_profile():
    x = np.arange(120) * 0.5
    y = _lor(x, 812.0, 28.3, 1.7)
    fit = fit_lorentzian(x, y)
    assert fit.converged
    g_ref = _scipy_gamma(x, y, [700.0, 29.0, 2.5])
    assert abs(fit.gamma) == pytest.approx(g_ref, rel=1e-6)
    assert fit.fwhm == pytest.approx(3.4, rel=1e-9)
    assert fit.amplitude == pytest.approx(812.0, rel=1e-9)
    assert fit.center == pytest.approx(28.3, rel=1e-9)


def test_fit_lorentzian_matches_scipy_on_noisy_profiles():
    rng = np.random.default_rng(7)
    x = np.arange(120) * 0.5
    for _ in range(40):
        a, c, g = rng.uniform(50, 5000), rng.uniform(20, 40), rng.uniform(0.6, 8.0)
        y = _lor(x, a, c, g) + rng.normal(0, a * rng.uniform(0.001, 0.1), x.size)
        fit = fit_lorentzian(x, y)
        assert fit.converged
        g_ref = _scipy_gamma(x, y, [y.max(), x[np.argmax(y)], 2.0])
        assert abs(fit.gamma) == pytest.approx(g_ref, rel=1e-6)


def test_fit_lorentzian_unsorted_positions_and_nan_points():
    rng = np.random.default_rng(3)
    x = np.arange(60) * 0.7
    y = _lor(x, 100.0, 20.0, 3.0) + rng.normal(0, 1.0, x.size)
    y[[5, 30, 31]] = np.nan
    perm = rng.permutation(x.size)
    fit = fit_lorentzian(x[perm], y[perm])
    ok = np.isfinite(y)
    assert fit.converged
    assert abs(fit.gamma) == pytest.approx(_scipy_gamma(x[ok], y[ok], [100.0, 20.0, 2.0]), rel=1e-6)


def test_fit_lorentzian_too_few_points():
    fit = fit_lorentzian([0.0, 1.0], [1.0, 2.0])
    assert not fit.converged and fit.fwhm is None


def test_uniform_disc_area_and_total_exact():
    d = uniform_disc_image(shape=(80, 60), spacing_mm={"z": 0.5, "x": 0.25}, value=3.0, radius_mm=4.0)
    n = int((d.image > 0).sum())
    for method in ("threshold_all", "threshold_connected"):
        m = quantify_image(d.image, d.spacing_mm, threshold=1.0, roi_method=method)
        assert m.roi_pixels == n == d.truth["roi_pixels"]
        assert m.roi_area_mm2 == n * (0.5 * 0.25)  # count × pixel area, exactly
        assert m.mean_intensity == 3.0
        assert m.total_intensity == 3.0 * m.roi_area_mm2  # value × area, exactly
        assert m.max_intensity == 3.0
        assert m.roi_volume_mm3 is None


def test_3d_ball_volume_and_total():
    d = uniform_disc_image(shape=(20, 24, 28), spacing_mm={"z": 1.0, "y": 0.5, "x": 0.25}, value=3.0, radius_mm=3.0)
    n = int((d.image > 0).sum())
    for method in ("threshold_all", "threshold_connected"):
        m = quantify_image(d.image, d.spacing_mm, threshold=0.0, roi_method=method)
        assert m.roi_pixels == n
        assert m.roi_volume_mm3 == n * (1.0 * 0.5 * 0.25)
        assert m.total_intensity == (3.0 * n) * (1.0 * 0.5 * 0.25)  # ROI sum × voxel volume
        assert m.roi_area_mm2 is None
        assert len(m.max_index) == 3
        assert m.fwhm_mm is not None and m.fwhm_mm > 0


def test_ties_in_max_go_to_first_in_row_major_order():
    img = np.zeros((10, 12))
    img[7, 2] = 5.0
    img[3, 9] = 5.0  # earlier row: first in row-major order
    img[3, 11] = 5.0
    m = quantify_image(img, SP, threshold=1.0)
    assert m.max_index == (3, 9)
    assert m.max_intensity == 5.0
    img3 = np.zeros((4, 5, 6))
    img3[2, 0, 0] = img3[1, 4, 5] = 2.0
    assert quantify_image(img3, {"z": 1, "y": 1, "x": 1}, threshold=0.5).max_index == (1, 4, 5)


def test_connected_vs_all_two_blobs():
    img = np.zeros((30, 40))
    img[5:9, 5:10] = 4.0  # 20 pixels
    img[7, 7] = 10.0  # the maximum is in blob 1
    img[20:23, 25:35] = 6.0  # 30 pixels, separate
    all_ = quantify_image(img, SP, threshold=1.0, roi_method="threshold_all")
    con = quantify_image(img, SP, threshold=1.0, roi_method="threshold_connected")
    assert all_.roi_pixels == 50
    assert con.roi_pixels == 20
    assert con.mean_intensity == pytest.approx((19 * 4.0 + 10.0) / 20, rel=1e-15)
    assert all_.mean_intensity == pytest.approx((19 * 4.0 + 10.0 + 30 * 6.0) / 50, rel=1e-15)
    assert con.roi_area_mm2 == 20 * 0.25
    assert con.total_intensity == pytest.approx(con.mean_intensity * 5.0, rel=1e-15)


def test_connected_uses_8_connectivity_in_2d_and_26_in_3d():
    img = np.zeros((10, 10))
    img[2, 2] = 9.0
    img[3, 3] = 5.0  # diagonal neighbour: same component with 8-connectivity
    img[5, 3] = 5.0  # two rows away: another component
    m = quantify_image(img, SP, threshold=1.0, roi_method="threshold_connected")
    assert m.roi_pixels == 2
    v = np.zeros((6, 6, 6))
    v[1, 1, 1] = 9.0
    v[2, 2, 2] = 5.0  # corner neighbour: 26-connectivity
    v[4, 4, 4] = 5.0
    m3 = quantify_image(v, {"z": 1, "y": 1, "x": 1}, threshold=1.0, roi_method="threshold_connected")
    assert m3.roi_pixels == 2


def test_roi_is_strictly_above_threshold():
    img = np.zeros((8, 8))
    img[2:4, 2:4] = 2.0
    img[4, 4] = 3.0
    m = quantify_image(img, SP, threshold=2.0)
    assert m.roi_pixels == 1 and m.mean_intensity == 3.0


# --------------------------------------------------------------------------------------
# Problems, never NaN
# --------------------------------------------------------------------------------------


def test_all_zero_image_reports_empty_roi_without_nan():
    m = quantify_image(np.zeros((24, 20)), SP, threshold=0.5)
    assert "empty_roi" in m.problems
    assert m.mean_intensity is None and m.total_intensity is None and m.roi_area_mm2 is None
    assert m.fwhm_mm is None and "fwhm_no_peak" in m.problems
    assert m.max_intensity == 0.0 and m.max_index == (0, 0)
    assert m.roi_pixels == 0
    _no_nan(m)
    con = quantify_image(np.zeros((24, 20)), SP, threshold=0.5, roi_method="threshold_connected")
    assert "empty_roi" in con.problems
    _no_nan(con)


def test_all_nan_image():
    m = quantify_image(np.full((10, 10), np.nan), SP, threshold=1.0)
    assert m.problems == ("all_nan",)
    assert m.max_intensity is None and m.fwhm_mm is None and m.max_index == ()
    _no_nan(m)


def test_nan_pixels_are_outside_roi_and_out_of_the_fit():
    img = lorentzian_line_image(gamma_mm=2.0, center_mm={"x": 30.3}, amplitude=500.0)
    a = img.image.copy()
    row = img.truth["max_row"]
    a[row, [10, 70, 71]] = np.nan
    a[0, 0] = np.inf  # ±inf counts as missing too
    a[1, 1] = -np.inf
    m = quantify_image(a, img.spacing_mm, threshold=10.0)
    assert "nan_pixels" in m.problems
    fin = np.isfinite(a)
    roi = fin & (np.where(fin, a, 0) > 10.0)
    assert m.roi_pixels == int(roi.sum())
    assert m.max_index[0] == row
    assert m.fwhm_mm == pytest.approx(4.0, rel=1e-8)  # the remaining points are still exact
    _no_nan(m)


def test_constant_image_fit_does_not_converge():
    # A flat profile has no finite-width Lorentzian optimum (γ → ∞).
    m = quantify_image(np.ones((16, 30)), SP, threshold=0.5)
    assert m.fwhm_mm is None and "fwhm_not_converged" in m.problems
    assert m.roi_pixels == 16 * 30
    _no_nan(m)


def test_argument_errors():
    with pytest.raises(ValueError):
        quantify_image(np.ones((4, 4)), {"z": 1.0}, threshold=0.0)
    with pytest.raises(ValueError):
        quantify_image(np.ones((4, 4)), SP, threshold=0.0, fwhm_axis="y")
    with pytest.raises(ValueError):
        quantify_image(np.ones((4, 4)), SP, threshold=0.0, roi_method="manual")
    with pytest.raises(ValueError):
        quantify_image(np.ones(4), SP, threshold=0.0)
    with pytest.raises(ValueError):
        quantify_image(np.ones((4, 4)), SP, threshold=float("nan"))


def test_fwhm_along_z():
    img = lorentzian_line_image(gamma_mm=2.0, z_gamma_mm=3.0)
    m = quantify_image(img.image, img.spacing_mm, threshold=1.0, fwhm_axis="z")
    assert m.fwhm_mm == pytest.approx(6.0, rel=1e-8)


def test_to_dict_round_trips():
    d = uniform_disc_image(shape=(20, 20), value=3.0, radius_mm=2.0)
    m = quantify_image(d.image, d.spacing_mm, threshold=1.0)
    out = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    assert out["roi_pixels"] == m.roi_pixels and out["max_index"] == list(m.max_index)
    assert set(out) == {
        "max_intensity", "mean_intensity", "total_intensity", "roi_area_mm2", "roi_volume_mm3",
        "fwhm_mm", "roi_pixels", "max_index", "threshold", "problems",
    }


# --------------------------------------------------------------------------------------
# Receiver correction, saturation, noise
# --------------------------------------------------------------------------------------


def test_lookup_table_by_hand():
    corr = ReceiverCorrection("lookup_table", table=((0.0, 0.0), (10.0, 10.0), (20.0, 40.0)))
    img = np.array([[5.0, 10.0, 15.0], [20.0, 0.0, 12.5]])
    res = apply_receiver_correction(img, corr)
    # 15 is halfway from (10, 10) to (20, 40): 25; 12.5 a quarter: 17.5.
    assert res.image.tolist() == [[5.0, 10.0, 25.0], [40.0, 0.0, 17.5]]
    assert res.out_of_range == 0


def test_lookup_table_out_of_range_is_counted_and_clipped():
    corr = ReceiverCorrection("lookup_table", table=((1.0, 2.0), (3.0, 8.0)))
    img = np.array([[0.0, 1.0, 2.0, 3.0, 4.0, np.nan]])
    res = apply_receiver_correction(img, corr)
    assert res.out_of_range == 2  # 0.0 below, 4.0 above; NaN is not counted
    assert res.image[0, :5].tolist() == [2.0, 2.0, 5.0, 8.0, 8.0]


def test_polynomial_by_hand():
    corr = ReceiverCorrection("polynomial", coefficients=(1.0, 2.0, 0.5))  # 1 + 2m + 0.5m²
    img = np.array([[0.0, 1.0], [2.0, -4.0]])
    res = apply_receiver_correction(img, corr)
    assert res.image.tolist() == [[1.0, 3.5], [7.0, 1.0]]
    assert res.out_of_range == 0


def test_invalid_corrections():
    with pytest.raises(ValueError):
        ReceiverCorrection("lookup_table", table=((0.0, 0.0), (0.0, 1.0)))  # not strictly increasing
    with pytest.raises(ValueError):
        ReceiverCorrection("lookup_table", table=((0.0, 0.0),))
    with pytest.raises(ValueError):
        ReceiverCorrection("polynomial", coefficients=())
    with pytest.raises(ValueError):
        ReceiverCorrection("spline", table=((0.0, 0.0), (1.0, 1.0)))


def test_count_saturated_strictly_above():
    img = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, np.nan]])
    assert count_saturated(img, 3.0) == 1
    assert count_saturated(img, 0.0) == 5


def test_noise_sd_from_background_by_hand():
    rng = np.random.default_rng(0)
    img = rng.normal(10.0, 2.0, (40, 30))
    vals = img[0:10, 20:30].ravel()
    mean = sum(vals) / len(vals)
    sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
    assert noise_sd_from_background(img, z=(0, 10), x=(20, 30)) == pytest.approx(sd, rel=1e-12)
    assert noise_sd_from_background(img, z=(0, 1), x=(0, 1)) is None  # one pixel
    vol = rng.normal(0.0, 1.0, (5, 6, 7))
    box = vol[1:4, 2:5, 0:3]
    assert noise_sd_from_background(vol, z=(1, 4), x=(0, 3), y=(2, 5)) == pytest.approx(np.std(box, ddof=1), rel=1e-12)
    with pytest.raises(ValueError):
        noise_sd_from_background(img, z=(5, 2), x=(0, 3))


# --------------------------------------------------------------------------------------
# Batched path agrees with a naive per-image implementation
# --------------------------------------------------------------------------------------


def naive_metrics(img: np.ndarray, sp: dict, threshold: float) -> dict:
    """The standard's text, line by line, with curve_fit per image."""
    iz, ix = np.unravel_index(np.argmax(img), img.shape)
    roi = img > threshold
    n = int(roi.sum())
    mean = float(img[roi].mean())
    area = n * sp["z"] * sp["x"]
    x = np.arange(img.shape[1]) * sp["x"]
    prof = img[iz, :]
    popt, _ = curve_fit(
        _lor, x, prof, p0=[prof.max(), x[np.argmax(prof)], 2.0], xtol=1e-15, ftol=1e-15, gtol=1e-15, maxfev=100000
    )
    return {
        "max_intensity": float(img[iz, ix]),
        "mean_intensity": mean,
        "roi_area_mm2": area,
        "total_intensity": mean * area,
        "fwhm_mm": 2 * abs(popt[2]),
        "roi_pixels": n,
    }


def test_batched_quantify_agrees_with_naive_on_20_noisy_images():
    rng = np.random.default_rng(2025)
    sims = [
        simulate_tube_image(
            iron_mass_ug=float(rng.uniform(2, 30)),
            volume_uL=float(rng.choice([10.0, 50.0, 200.0])),
            psf_fwhm_mm={"z": float(rng.uniform(3, 6)), "x": float(rng.uniform(2, 4))},
            noise_sd=5.0,
            rng=rng,
            with_truth=False,
        )
        for _ in range(20)
    ]
    images = [s.image for s in sims]
    got = quantify_images(images, SP, threshold=25.0)
    for s, m in zip(sims, got):
        ref = naive_metrics(s.image, SP, 25.0)
        assert m.problems == ()
        assert m.roi_pixels == ref["roi_pixels"]
        for key in ("max_intensity", "mean_intensity", "roi_area_mm2", "total_intensity", "fwhm_mm"):
            assert getattr(m, key) == pytest.approx(ref[key], rel=1e-6), key
    # The one-image path is the batched path.
    one = quantify_image(images[3], SP, threshold=25.0)
    assert one == got[3]


def test_quantify_images_per_image_thresholds_spacings_and_shapes():
    a = lorentzian_line_image(shape=(40, 60), gamma_mm=2.0)
    b = lorentzian_line_image(shape=(30, 50), gamma_mm=1.0, spacing_mm={"z": 1.0, "x": 0.25})
    out = quantify_images([a.image, b.image], [a.spacing_mm, b.spacing_mm], threshold=[1.0, 2.0])
    assert out[0].fwhm_mm == pytest.approx(4.0, rel=1e-8)
    assert out[1].fwhm_mm == pytest.approx(2.0, rel=1e-8)
    assert out[1].threshold == 2.0
    with pytest.raises(ValueError):
        quantify_images([a.image, b.image], SP, threshold=[1.0])


def test_connected_matches_whole_image_labelling_on_noisy_images():
    # Low threshold: many noise islands, some touching the sample's component.
    from scipy import ndimage

    rng = np.random.default_rng(11)
    for _ in range(5):
        s = simulate_tube_image(iron_mass_ug=10.0, volume_uL=50.0, noise_sd=5.0, rng=rng, with_truth=False)
        img, T = s.image, 8.0
        labels, _ = ndimage.label(img > T, structure=np.ones((3, 3), dtype=bool))
        k = np.unravel_index(np.argmax(img), img.shape)
        roi = labels == labels[k]
        m = quantify_image(img, SP, threshold=T, roi_method="threshold_connected")
        assert m.roi_pixels == int(roi.sum())
        assert m.mean_intensity == pytest.approx(float(img[roi].mean()), rel=1e-12)
        assert m.roi_pixels < int((img > T).sum())  # the islands were left out


def test_quantify_images_accepts_a_generator():
    imgs = [lorentzian_line_image(gamma_mm=g).image for g in (1.0, 2.0, 3.0)]
    out = quantify_images((im for im in imgs), SP, threshold=1.0)
    assert [round(m.fwhm_mm, 9) for m in out] == [2.0, 4.0, 6.0]
    with pytest.raises(ValueError):
        quantify_images((im for im in imgs), [SP, SP], threshold=1.0)


def test_batched_fit_equals_one_by_one_fits():
    rng = np.random.default_rng(5)
    x = np.arange(100) * 0.5
    profiles = [
        _lor(x, rng.uniform(10, 100), rng.uniform(15, 35), rng.uniform(0.7, 5)) + rng.normal(0, 3, x.size)
        for _ in range(15)
    ]
    imgs = [np.vstack([0.5 * p, p]) for p in profiles]  # the maximum is in row 1
    batched = quantify_images(imgs, SP, threshold=1e9)
    for p, m in zip(profiles, batched):
        assert m.max_index[0] == 1
        assert m.fwhm_mm == pytest.approx(fit_lorentzian(x, p).fwhm, rel=1e-7)
        assert "empty_roi" in m.problems  # threshold above everything
