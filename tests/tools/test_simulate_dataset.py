"""`simulate_dataset`: a simulated calibration that validates clean, whose reported metrics
(a separately written plain numpy/scipy implementation of the reference method) agree with
mpistd's image pipeline, and whose recomputed metrics recover the simulator's ground truth.

Independent sources: the phantom simulator's truth (``x-truth``: plain numpy and
``scipy.optimize.least_squares`` on the noise-free image, :mod:`mpistd.quantify.simulate`),
the tool's own ``curve_fit`` implementation, and closed-form images (a pure Lorentzian whose
FWHM is 2γ by construction).
"""
from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mpistd.config import Options
from mpistd.pipeline import validate_file
from mpistd.quantify.simulate import lorentzian_line_image
from mpistd.tools.simulate import reference_metrics, simulate_dataset

SMALL = dict(fov_mm=(64.0, 32.0), pixel_size_mm=1.0)  # 64 × 32 pixels: fast, the sample well inside


def _validate(path: Path, options: Options | None = None):
    return validate_file(path, options or Options(), path.name)


def _keys(result) -> list[tuple[str, str, str]]:
    return sorted(f.key for f in result.findings)


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _save(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, indent=2))


def _replicates(doc: dict):
    for pi, pt in enumerate(doc["calibrations"][0]["points"]):
        for ri, rep in enumerate(pt["replicates"]):
            yield f"/calibrations/0/points/{pi}/replicates/{ri}", rep


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    return simulate_dataset(tmp_path_factory.mktemp("sim"), **SMALL)


@pytest.fixture()
def copy(simulated, tmp_path) -> Path:
    target = tmp_path / "ds"
    shutil.copytree(simulated.parent, target)
    return target / simulated.name


# ----------------------------------------------------------------------------------------------


def test_simulated_dataset_validates_with_zero_findings(simulated):
    result = _validate(simulated)
    assert result.findings == [], _keys(result)
    doc = _load(simulated)
    assert simulated.name == "simulated-promag.mpical.json"
    assert doc["analysis"]["noise"] == {"method": "empty_holder", "sd": 2.0}
    assert doc["analysis"]["threshold"] == {"rule": "k_sd", "k": 5}
    cal = doc["calibrations"][0]
    assert cal["method"] == "fixed_concentration" and cal["environment"]["kind"] == "solution"
    assert {p["concentration_ug_per_uL"] for p in cal["points"]} == {1.55}
    assert all(p["iron_mass_method"] == "icp-oes" for p in cal["points"])
    assert "particle_model" in doc["tracers"][0]
    reps = list(_replicates(doc))
    assert len(reps) == 6 * 3
    for _, rep in reps:
        img = rep["image"]
        assert img["path"].startswith("images/") and not Path(img["path"]).is_absolute()
        data = (simulated.parent / img["path"]).read_bytes()
        assert img["sha256"] == hashlib.sha256(data).hexdigest()
        assert img["pixel_size_mm"] == {"z": 1.0, "x": 1.0}
        assert set(rep) >= {"max_intensity", "total_intensity", "roi_area_mm2", "fwhm_mm", "x-truth"}
    # nothing half-written left behind
    assert not list(simulated.parent.rglob("*.part"))


def test_reported_fit_is_the_polyfit_line(simulated):
    doc = _load(simulated)
    cal = doc["calibrations"][0]
    fit = next(f for f in cal["fits"] if f["metric"] == "max_intensity")
    x = [p["iron_mass_ug"] for p in cal["points"] for _ in p["replicates"]]
    y = [r["max_intensity"] for p in cal["points"] for r in p["replicates"]]
    slope, intercept = np.polyfit(x, y, 1)
    assert fit["slope"] == pytest.approx(slope, rel=1e-9)
    assert fit["intercept"] == pytest.approx(intercept, rel=1e-9)


def test_reported_metrics_agree_with_mpistd_recomputation(simulated):
    """The tool's plain implementation and mpistd's batched pipeline agree far inside MPI013's tolerances."""
    result = _validate(simulated)
    doc = _load(simulated)
    images = {r["pointer"]: r for r in result.quantities["images"]}
    for pointer, rep in _replicates(doc):
        m = images[pointer]["metrics"]
        assert rep["max_intensity"] == m["max_intensity"]
        assert rep["roi_area_mm2"] == m["roi_area_mm2"]
        assert rep["total_intensity"] == pytest.approx(m["total_intensity"], rel=1e-12)
        assert rep["fwhm_mm"] == pytest.approx(m["fwhm_mm"], rel=1e-6)


def test_one_raised_maximum_fires_exactly_one_mpi013_at_that_value(copy):
    doc = _load(copy)
    rep = doc["calibrations"][0]["points"][2]["replicates"][1]
    rep["max_intensity"] *= 1.15
    _save(copy, doc)
    result = _validate(copy)
    mpi013 = [f for f in result.findings if f.rule == "MPI013"]
    assert [(f.severity.value, f.pointer) for f in mpi013] == [
        ("error", "/calibrations/0/points/2/replicates/1/max_intensity")]
    msg = mpi013[0].message
    assert "differs from" in msg and "1 %" in msg and "threshold T = 10" in msg
    assert "no receiver correction" in msg


def test_noise_free_recomputed_metrics_equal_the_simulators_truth(tmp_path):
    path = simulate_dataset(tmp_path, noise_sd=0.0, masses_ug=(3.1, 9.3, 18.6), replicates=1, **SMALL)
    result = _validate(path)
    images = {r["pointer"]: r["metrics"] for r in result.quantities["images"]}
    for pointer, rep in _replicates(_load(path)):
        truth, m = rep["x-truth"], images[pointer]
        assert m["max_intensity"] == truth["max_intensity"]
        assert m["roi_area_mm2"] == truth["roi_area_mm2"]
        assert m["total_intensity"] == truth["total_intensity"]
        assert m["roi_pixels"] == truth["roi_pixels"]
        assert m["fwhm_mm"] == pytest.approx(truth["fwhm_mm"], rel=1e-6)


def test_fwhm_of_a_pure_lorentzian_through_the_pipeline(copy):
    """Replace one image by a closed-form Lorentzian line: FWHM = 2γ = 2.5 mm."""
    doc = _load(copy)
    rep = doc["calibrations"][0]["points"][0]["replicates"][0]
    line = lorentzian_line_image(shape=(64, 32), spacing_mm={"z": 1.0, "x": 1.0}, amplitude=500.0, gamma_mm=1.25,
                                 center_mm={"x": 15.3})
    path = copy.parent / rep["image"]["path"]
    np.save(path, line.image)
    rep["image"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    _save(copy, doc)
    result = _validate(copy)
    m = next(r for r in result.quantities["images"]
             if r["pointer"] == "/calibrations/0/points/0/replicates/0")["metrics"]
    assert m["fwhm_mm"] == pytest.approx(2.5, rel=1e-3)
    # the tool's independent curve_fit agrees
    assert reference_metrics(line.image, {"z": 1.0, "x": 1.0}, 10.0)["fwhm_mm"] == pytest.approx(2.5, rel=1e-3)
    # and the reported (tube) metrics of that replicate no longer match its image
    assert ("MPI013", "error", "/calibrations/0/points/0/replicates/0/fwhm_mm") in _keys(result)


def test_compressive_receiver_with_its_correction(tmp_path):
    path = simulate_dataset(tmp_path, compressive_receiver=600.0, **SMALL)
    doc = _load(path)
    acq = doc["acquisitions"][0]
    rc = acq["receiver_correction"]
    assert rc["images_corrected"] is False and rc["method"] == "lookup_table"
    # the saturation level: where the receiver's response s·tanh(t/s) is 1 % below linear
    u = np.arctanh(acq["saturation_level"] / 600.0)
    assert np.tanh(u) / u == pytest.approx(0.99, abs=1e-6)
    # the shipped images are raw: compressed below s, and above the saturation level
    raw_max = max(float(np.load(path.parent / r["image"]["path"]).max()) for _, r in _replicates(doc))
    assert acq["saturation_level"] < raw_max < 600.0
    result = _validate(path)
    assert result.findings == [], _keys(result)  # no MPI015, and the corrected metrics match (no MPI013)
    # the corrected maxima are above what the receiver measured
    assert max(r["max_intensity"] for _, r in _replicates(doc)) > raw_max * 1.2


def test_compressive_receiver_noise_free_metrics_agree_with_truth(tmp_path):
    path = simulate_dataset(tmp_path, compressive_receiver=600.0, noise_sd=0.0, masses_ug=(3.1, 18.6),
                            replicates=1, **SMALL)
    result = _validate(path)
    assert not [f for f in result.findings if f.rule in ("MPI013", "MPI014", "MPI015", "MPI016")]
    images = {r["pointer"]: r for r in result.quantities["images"]}
    for pointer, rep in _replicates(_load(path)):
        truth, r = rep["x-truth"], images[pointer]
        assert r["out_of_range"] == 0 and r["saturated"] == 0
        m = r["metrics"]
        # the table inverts the receiver to interpolation accuracy
        assert m["max_intensity"] == pytest.approx(truth["max_intensity"], rel=1e-4)
        assert m["total_intensity"] == pytest.approx(truth["total_intensity"], rel=1e-4)
        assert m["roi_area_mm2"] == truth["roi_area_mm2"]
        assert m["fwhm_mm"] == pytest.approx(truth["fwhm_mm"], rel=1e-3)


def test_raw_saturated_images_without_correction_fire_mpi015(tmp_path):
    path = simulate_dataset(tmp_path, compressive_receiver=600.0, **SMALL)
    doc = _load(path)
    rc = doc["acquisitions"][0]["receiver_correction"]
    del rc["method"], rc["table"]  # raw images, no correction declared
    _save(path, doc)
    result = _validate(path)
    fired = Counter(f.rule for f in result.findings)
    assert fired["MPI015"] == 18  # every image has pixels above the saturation level
    f = next(f for f in result.findings if f.rule == "MPI015")
    assert f.pointer.endswith("/image") and "above the saturation level" in f.message
    # uncorrected, the maxima are no longer those reported
    assert fired["MPI013"] > 0


@pytest.mark.parametrize("fmt", ["tiff", "mdf"])
def test_other_image_formats_validate_clean(tmp_path, fmt):
    path = simulate_dataset(tmp_path, image_format=fmt, masses_ug=(3.1, 6.2, 9.3, 12.4, 15.5), **SMALL)
    result = _validate(path)
    assert result.findings == [], _keys(result)
    assert all(r["image"]["format"] == fmt for _, r in _replicates(_load(path)))


def test_reported_metrics_none_keeps_only_the_required_maximum(tmp_path):
    path = simulate_dataset(tmp_path, reported_metrics="none", **SMALL)
    for _, rep in _replicates(_load(path)):
        assert {k for k in rep if not k.startswith("x-")} == {"max_intensity", "image"}
    assert _validate(path).findings == []


def test_same_seed_same_bytes_other_seed_other_noise(tmp_path):
    a = simulate_dataset(tmp_path / "a", masses_ug=(3.1, 18.6), replicates=1, **SMALL)
    b = simulate_dataset(tmp_path / "b", masses_ug=(3.1, 18.6), replicates=1, **SMALL)
    c = simulate_dataset(tmp_path / "c", masses_ug=(3.1, 18.6), replicates=1, seed=1, **SMALL)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


@pytest.mark.parametrize("bad", [dict(image_format="png"), dict(reported_metrics="some"), dict(masses_ug=()),
                                 dict(masses_ug=(1.0, -2.0)), dict(compressive_receiver=0.0), dict(name="../x"),
                                 dict(metrics=("fwhm_mm",))])
def test_bad_arguments_are_refused(tmp_path, bad):
    with pytest.raises(ValueError):
        simulate_dataset(tmp_path, **{**SMALL, **bad})
    assert not list(tmp_path.glob("*.mpical.json"))


# ------------------------------------------------------------------------------------ MDF output
# The mandatory ("Optional: no") parameters of the non-optional groups and of /reconstruction,
# written out from the tables of MDF.tex (MagneticParticleImaging/MDF, specification/MDF.tex):
# (path, type as the table names it, dimension as the table gives it). Types: String = H5T_STRING,
# Int64, Float64, Int8 (Boolean), Integer = any integer, Number = any integer or float
# (section "Datatypes"). Tables: "Data (group: /)", "Study Description (group: /study/)",
# "Experiment Description (group: /experiment/)", "Tracer Parameters (group: /tracer/)",
# "Scanner Parameters (group: /scanner/)", "Acquisition Parameters (group: /acquisition/)",
# "Drive Field (group: /acquisition/drivefield/)", "Receiver (group: /acquisition/receiver/)",
# "Reconstruction Results (group: /reconstruction/)". The v2.1.0 tables add /scanner/name,
# /acquisition/numFrames, numAverages and numPeriodsPerFrame, /acquisition/drivefield/cycle and
# /acquisition/receiver/unit (as MPIFiles.jl's MDFv2InMemory, which writes 2.1.0, lists them
# as non-optional); both sets are required here.
MDF_MANDATORY = [
    ("/version", "String", "1"), ("/uuid", "String", "1"), ("/time", "String", "1"),
    ("/study/name", "String", "1"), ("/study/number", "Int64", "1"), ("/study/uuid", "String", "1"),
    ("/study/description", "String", "1"),
    ("/experiment/name", "String", "1"), ("/experiment/number", "Int64", "1"), ("/experiment/uuid", "String", "1"),
    ("/experiment/description", "String", "1"), ("/experiment/subject", "String", "1"),
    ("/experiment/isSimulation", "Int8", "1"),
    ("/tracer/name", "String", "A"), ("/tracer/batch", "String", "A"), ("/tracer/vendor", "String", "A"),
    ("/tracer/volume", "Float64", "A"), ("/tracer/concentration", "Float64", "A"), ("/tracer/solute", "String", "A"),
    ("/scanner/facility", "String", "1"), ("/scanner/operator", "String", "1"),
    ("/scanner/manufacturer", "String", "1"), ("/scanner/topology", "String", "1"), ("/scanner/name", "String", "1"),
    ("/acquisition/startTime", "String", "1"), ("/acquisition/framePeriod", "Float64", "1"),
    ("/acquisition/numPatches", "Int64", "1"), ("/acquisition/numFrames", "Int64", "1"),
    ("/acquisition/numAverages", "Int64", "1"), ("/acquisition/numPeriodsPerFrame", "Int64", "1"),
    ("/acquisition/drivefield/numChannels", "Int64", "1"), ("/acquisition/drivefield/strength", "Float64", "JxDxF"),
    ("/acquisition/drivefield/phase", "Float64", "JxDxF"), ("/acquisition/drivefield/baseFrequency", "Float64", "1"),
    ("/acquisition/drivefield/divider", "Integer", "DxF"), ("/acquisition/drivefield/waveform", "String", "DxF"),
    ("/acquisition/drivefield/period", "Float64", "1"), ("/acquisition/drivefield/cycle", "Float64", "1"),
    ("/acquisition/receiver/numChannels", "Int64", "1"), ("/acquisition/receiver/numAverages", "Int64", "1"),
    ("/acquisition/receiver/bandwidth", "Float64", "1"), ("/acquisition/receiver/numSamplingPoints", "Int64", "1"),
    ("/acquisition/receiver/unit", "String", "1"),
    ("/reconstruction/data", "Number", "QxPxS"),
]


def _h5_type_ok(h5py, dtype, kind: str) -> bool:
    if kind == "String":
        return h5py.check_string_dtype(dtype) is not None
    return {"Int64": dtype == np.int64, "Float64": dtype == np.float64, "Int8": dtype == np.int8,
            "Integer": dtype.kind == "i", "Number": dtype.kind in "if"}[kind]


def test_mdf_output_has_every_mandatory_field_of_the_specification(tmp_path):
    """Issue 12: the simulator wrote /version as an attribute and lacked /uuid, /time, /study,
    /experiment, /scanner and /acquisition. Checked against MDF.tex's tables, not mpistd's reader."""
    import h5py

    path = simulate_dataset(tmp_path, image_format="mdf", masses_ug=(3.1, 6.2), replicates=1, **SMALL)
    files = sorted((path.parent / "images").glob("*.mdf"))
    assert len(files) == 2
    for mdf in files:
        with h5py.File(mdf, "r") as f:
            attrs = []
            f.visititems(lambda name, obj: attrs.extend(f"{name}@{a}" for a in obj.attrs))
            assert list(f.attrs) == [] and attrs == [], "MDF stores parameters as datasets, not attributes"
            dims = {}
            for name, kind, dim in MDF_MANDATORY:
                assert name in f and isinstance(f.get(name, getlink=True), h5py.HardLink), name
                ds = f[name]
                assert isinstance(ds, h5py.Dataset), name
                assert _h5_type_ok(h5py, ds.dtype, kind), (name, ds.dtype)
                if dim == "1":
                    assert ds.shape in ((), (1,)), (name, ds.shape)
                else:
                    letters = dim.split("x")
                    assert len(ds.shape) == len(letters), (name, ds.shape)
                    for letter, n in zip(letters, ds.shape):
                        assert dims.setdefault(letter, n) == n, (name, letter, n)  # one size per symbol
            assert f["/acquisition/drivefield/numChannels"][()] == dims["D"]
            assert f["/version"][()].decode() == "2.1.0"
            assert f["/experiment/isSimulation"][()] == 1
            # the optional grid parameters as the Reconstruction Results table types them
            nx, ny, nz = (int(v) for v in f["/reconstruction/size"][()])
            assert dims["P"] == nx * ny * nz and (dims["Q"], dims["S"]) == (1, 1)
            assert f["/reconstruction/fieldOfView"].shape == (3,) and f["/reconstruction/fieldOfView"].dtype == np.float64
            assert f["/reconstruction/size"].dtype.kind == "i"
            import uuid

            for u in ("/uuid", "/study/uuid", "/experiment/uuid"):  # RFC 4122 canonical text
                text = f[u][()].decode()
                assert str(uuid.UUID(text)) == text
            # tracer concentration in mol(Fe)/L: the dataset's 1 µg/µL = 1 g/L = 1/55.845 mol/L
            doc = _load(path)
            c = doc["calibrations"][0]["points"][0]["concentration_ug_per_uL"]
            assert f["/tracer/concentration"][0] == pytest.approx(c / 55.845, rel=1e-6)
