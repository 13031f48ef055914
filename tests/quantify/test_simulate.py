"""The phantom simulator: its geometry and signal bookkeeping, and that the reference
pipeline recovers the simulator's independently computed ground truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mpistd.quantify.imaging import (
    ReceiverCorrection,
    apply_receiver_correction,
    noise_sd_from_background,
    quantify_image,
)
from mpistd.quantify.simulate import (
    compress,
    compressive_receiver_table,
    decompress,
    lorentzian_line_image,
    reference_truth,
    simulate_tube_image,
    uniform_disc_image,
)


@pytest.mark.parametrize("psf", ["lorentzian", "gaussian"])
@pytest.mark.parametrize("volume", [10.0, 200.0])
def test_noise_free_metrics_match_ground_truth(psf, volume):
    sim = simulate_tube_image(iron_mass_ug=15.5, volume_uL=volume, psf=psf, psf_fwhm_mm={"z": 5.0, "x": 3.0}, noise_sd=4.0, rng=1)
    t = sim.truth
    m = quantify_image(sim.noise_free, sim.spacing_mm, threshold=t["threshold"])
    assert m.problems == ()
    assert m.max_intensity == t["max_intensity"]  # the same pixel
    assert m.max_index == t["max_index"]
    assert m.roi_pixels == t["roi_pixels"]
    assert m.roi_area_mm2 == t["roi_area_mm2"]  # count × pixel area, exactly
    assert m.total_intensity == pytest.approx(t["total_intensity"], rel=1e-12)  # summation order only
    assert m.mean_intensity == pytest.approx(t["mean_intensity"], rel=1e-12)
    assert m.fwhm_mm == pytest.approx(t["fwhm_mm"], rel=1e-6)  # scipy vs the batched LM


def test_pure_lorentzian_line_fwhm_within_0_1_percent():
    img = lorentzian_line_image(gamma_mm=1.6, center_mm={"x": 27.31})
    m = quantify_image(img.image, img.spacing_mm, threshold=0.0)
    assert m.fwhm_mm == pytest.approx(img.truth["fwhm_mm"], rel=1e-3)
    # the simulator's own (scipy) truth agrees too
    rt = reference_truth(img.image, img.spacing_mm, 0.0)
    assert rt["fwhm_mm"] == pytest.approx(3.2, rel=1e-3)


def test_iron_bookkeeping_and_geometry():
    mass, vol, d, sens = 12.0, 50.0, 6.0, 800.0
    sim = simulate_tube_image(
        iron_mass_ug=mass, volume_uL=vol, tube_diameter_mm=d, sensitivity=sens,
        psf="gaussian", psf_fwhm_mm=2.0, noise_sd=0.0,
    )
    t = sim.truth
    # Every µg of iron is in the object: sum × pixel area = sensitivity × mass.
    assert t["object_signal"] == pytest.approx(sens * mass, rel=1e-12)
    # A Gaussian blur well inside the field of view loses nothing.
    assert t["integrated_signal"] == pytest.approx(sens * mass, rel=1e-9)
    assert t["fill_height_mm"] == pytest.approx(vol / (math.pi * (d / 2) ** 2), rel=1e-15)
    assert t["concentration_ug_per_uL"] == mass / vol
    assert sim.image.shape == (240, 120)
    np.testing.assert_array_equal(sim.image, sim.noise_free)  # no noise, no receiver
    # Symmetric about the tube axis (centre of the field of view in x).
    np.testing.assert_allclose(sim.noise_free, sim.noise_free[:, ::-1], rtol=0, atol=1e-9 * sim.noise_free.max())


def test_fixed_mass_more_dilute_gives_lower_peak():
    # The same iron in more volume spreads along z: lower maximum, similar total.
    a = simulate_tube_image(iron_mass_ug=10.0, volume_uL=10.0, psf="gaussian", with_truth=False)
    b = simulate_tube_image(iron_mass_ug=10.0, volume_uL=200.0, psf="gaussian", with_truth=False)
    assert b.truth["max_intensity"] < a.truth["max_intensity"]
    assert b.truth["integrated_signal"] == pytest.approx(a.truth["integrated_signal"], rel=1e-6)


def test_noise_is_reproducible_and_has_the_declared_sd():
    kw = dict(iron_mass_ug=5.0, volume_uL=10.0, noise_sd=7.0, with_truth=False)
    a = simulate_tube_image(rng=42, **kw)
    b = simulate_tube_image(rng=np.random.default_rng(42), **kw)
    np.testing.assert_array_equal(a.image, b.image)
    # A background box far from the tube: the noise SD comes back (2400 pixels).
    sd = noise_sd_from_background(a.image - a.noise_free, z=(0, 40), x=(0, 60))
    assert sd == pytest.approx(7.0, rel=0.05)


def test_compressive_receiver_and_its_table():
    s = 300.0
    sim = simulate_tube_image(iron_mass_ug=20.0, volume_uL=10.0, noise_sd=2.0, compressive_receiver=s, rng=3)
    table = sim.receiver_table
    meas = np.array([r[0] for r in table])
    assert (np.diff(meas) > 0).all()
    # measured = s·tanh((noise-free + noise)/s): undoing tanh leaves the declared noise.
    assert np.std(decompress(sim.image, s) - sim.noise_free) == pytest.approx(2.0, rel=0.05)
    assert sim.image.max() < s and sim.noise_free.max() > sim.image.max()  # compressed
    res = apply_receiver_correction(sim.image, ReceiverCorrection("lookup_table", table=table))
    assert res.out_of_range == 0
    exact = decompress(sim.image, s)  # the noisy true image
    np.testing.assert_allclose(res.image, exact, rtol=1e-3, atol=1e-3)
    # by hand: tanh and its inverse
    assert compress(np.array([0.0, s]), s)[1] == pytest.approx(s * math.tanh(1.0))
    assert decompress(compress(np.array([123.0]), s), s)[0] == pytest.approx(123.0, rel=1e-12)
    with pytest.raises(ValueError):
        compressive_receiver_table(1.0, 100.0)


def test_uniform_disc_truth_by_counting():
    d = uniform_disc_image(shape=(21, 21), spacing_mm={"z": 1.0, "x": 1.0}, value=3.0, radius_mm=2.0)
    # Lattice points with i² + j² ≤ 4 around the centre: 13 (Gauss circle problem, r = 2).
    assert d.truth["roi_pixels"] == 13
    assert d.truth["roi_area_mm2"] == 13.0
    assert d.truth["total_intensity"] == 39.0
    assert d.image[10, 10] == 3.0 and d.image[10, 13] == 0.0
