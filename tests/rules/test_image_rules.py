"""The image rules MPI013–MPI017, MPI019 (and MPI005 for an image), through the whole pipeline.

Datasets come from two independent sources: ``simulate_dataset`` (its reported metrics are a
separate plain numpy/scipy implementation of the reference method) and the conformance
suite's clean base document (no images) with images written here by hand.
"""
from __future__ import annotations

import builtins
import hashlib
import importlib.util
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mpistd import validate
from mpistd.config import Options
from mpistd.pipeline import validate_file
from mpistd.rules.registry import all_rules, get_rule
from mpistd.tools.simulate import simulate_dataset

ROOT = Path(__file__).resolve().parents[2]
REP0 = "/calibrations/0/points/0/replicates/0"


def _base_document() -> dict:
    spec = importlib.util.spec_from_file_location("_conformance_base", ROOT / "reference_data/conformance/base.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.base()


def _validate(path: Path, options: Options | None = None):
    return validate_file(path, options or Options(), path.name)


def _keys(result) -> list[tuple[str, str, str]]:
    return sorted(f.key for f in result.findings)


def _image_rules(result) -> list[tuple[str, str, str]]:
    return [k for k in _keys(result) if k[0] in ("MPI005", "MPI013", "MPI014", "MPI015", "MPI016")]


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _save(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, indent=2))


def _write_npy(path: Path, array: np.ndarray) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, array)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    return simulate_dataset(tmp_path_factory.mktemp("sim"), fov_mm=(64.0, 32.0), pixel_size_mm=1.0,
                            masses_ug=(3.1, 6.2, 9.3, 12.4, 15.5))


@pytest.fixture()
def sim(simulated, tmp_path) -> Path:
    """A private copy of the simulated dataset, in tmp_path/ds/."""
    shutil.copytree(simulated.parent, tmp_path / "ds")
    return tmp_path / "ds" / simulated.name


@pytest.fixture()
def base_with_quantification_image(tmp_path):
    """The clean base document (no replicate images) whose quantification ships `array`."""

    def make(array: np.ndarray) -> Path:
        doc = _base_document()
        sha = _write_npy(tmp_path / "images" / "A.npy", array)
        doc["quantifications"][0]["image"] = {"path": "images/A.npy", "format": "npy", "sha256": sha,
                                              "pixel_size_mm": {"z": 0.5, "x": 0.5}}
        path = tmp_path / "base.mpical.json"
        _save(path, doc)
        return path

    return make


# ---------------------------------------------------------------------------------------------- catalogue


@pytest.mark.parametrize("rule_id, severity", [("MPI013", "error"), ("MPI014", "error"), ("MPI015", "error"),
                                               ("MPI016", "warning")])
def test_rules_are_registered_with_the_papers_rationale(rule_id, severity):
    r = get_rule(rule_id)
    assert r.family == "images" and r.severity.value == severity and r.check is not None
    assert "section 2" in r.rationale or any("section 2" in s for s in r.sources)
    assert r.remedy and r.title


def test_mpi013_rationale_names_the_recipe():
    text = get_rule("MPI013").rationale
    for word in ("saturation", "5 × the noise SD", "ROI", "mean signal in the ROI × ROI area", "Lorentzian",
                 "along x"):
        assert word in text
    assert {"MPI013", "MPI014", "MPI015", "MPI016", "MPI017", "MPI018", "MPI019"} <= {r.id for r in all_rules()
                                                                                      if r.family == "images"}


# ---------------------------------------------------------------------------------------------- MPI013


def test_clean_simulated_dataset_has_no_image_findings(sim):
    assert _validate(sim).findings == []


@pytest.mark.parametrize("field, factor, fires", [
    ("max_intensity", 1.009, False), ("max_intensity", 1.011, True),
    ("total_intensity", 0.985, True), ("roi_area_mm2", 1.02, True),
    ("fwhm_mm", 1.04, False), ("fwhm_mm", 1.06, True),
])
def test_mpi013_tolerances(sim, field, factor, fires):
    doc = _load(sim)
    doc["calibrations"][0]["points"][1]["replicates"][2][field] *= factor
    _save(sim, doc)
    got = [k for k in _image_rules(_validate(sim)) if k[0] == "MPI013"]
    assert got == ([("MPI013", "error", f"/calibrations/0/points/1/replicates/2/{field}")] if fires else [])


def test_mpi013_message_says_what_was_applied(sim):
    doc = _load(sim)
    rep = doc["calibrations"][0]["points"][0]["replicates"][0]
    reported = rep["max_intensity"] * 1.15
    rep["max_intensity"] = reported
    _save(sim, doc)
    (f,) = [f for f in _validate(sim).findings if f.rule == "MPI013"]
    assert f.pointer == f"{REP0}/max_intensity"
    assert f"{reported:.6g}" in f.message and "15.00 %" in f.message
    assert "tolerance 1 %" in f.message
    assert "no receiver correction applied" in f.message and "threshold T = 10" in f.message


def test_roi_metrics_are_not_compared_without_a_threshold(sim):
    doc = _load(sim)
    del doc["analysis"]["noise"]  # no noise SD: no threshold, so no ROI
    rep = doc["calibrations"][0]["points"][0]["replicates"][0]
    rep["total_intensity"] *= 1.5
    rep["roi_area_mm2"] *= 1.5
    rep["max_intensity"] *= 1.15
    _save(sim, doc)
    result = _validate(sim)
    # the maximum and FWHM need no ROI and are still compared; the empty ROI is not MPI016
    assert _image_rules(result) == [("MPI013", "error", f"{REP0}/max_intensity")]
    assert "no threshold" in next(f.message for f in result.findings if f.rule == "MPI013")


def test_nan_pixels_alone_do_not_fire_but_are_mentioned(sim):
    doc = _load(sim)
    rep = doc["calibrations"][0]["points"][0]["replicates"][0]
    path = sim.parent / rep["image"]["path"]
    img = np.load(path)
    img[0, :5] = np.nan  # far from the sample
    rep["image"]["sha256"] = _write_npy(path, img)
    _save(sim, doc)
    assert _image_rules(_validate(sim)) == []
    rep["max_intensity"] *= 1.15
    _save(sim, doc)
    (f,) = [f for f in _validate(sim).findings if f.rule == "MPI013"]
    assert "NaN" in f.message


# ---------------------------------------------------------------------------------------------- MPI014


class _OpenRecorder:
    """Records every path handed to open() / os.open() / numpy.load() while a validation runs
    (documents and images are opened with os.open, non-blocking, since the untrusted-input work)."""

    def __init__(self, monkeypatch):
        self.paths: list[str] = []
        real_open, real_load, real_os_open = builtins.open, np.load, os.open

        def rec_os_open(file, *a, **kw):
            if isinstance(file, (str, bytes, os.PathLike)):
                self.paths.append(os.path.realpath(os.fsdecode(file)))
            return real_os_open(file, *a, **kw)

        monkeypatch.setattr(os, "open", rec_os_open)

        def rec_open(file, *a, **kw):
            if isinstance(file, (str, bytes, os.PathLike)):
                self.paths.append(os.path.realpath(os.fsdecode(file)))
            return real_open(file, *a, **kw)

        def rec_load(file, *a, **kw):
            if isinstance(file, (str, bytes, os.PathLike)):
                self.paths.append(os.path.realpath(os.fsdecode(file)))
            return real_load(file, *a, **kw)

        monkeypatch.setattr(builtins, "open", rec_open)
        monkeypatch.setattr(np, "load", rec_load)


@pytest.fixture()
def outside(tmp_path) -> Path:
    """A valid image outside the dataset's folder (tmp_path/ds/)."""
    target = tmp_path / "secret" / "outside.npy"
    _write_npy(target, np.ones((8, 8)))
    return target


def test_symlink_out_of_the_folder_is_mpi014_and_never_opened(sim, outside, monkeypatch):
    doc = _load(sim)
    rep = doc["calibrations"][0]["points"][0]["replicates"][0]
    link = sim.parent / "images" / "link.npy"
    link.symlink_to(outside)
    rep["image"] = {"path": "images/link.npy", "format": "npy", "pixel_size_mm": {"z": 1.0, "x": 1.0}}
    _save(sim, doc)
    rec = _OpenRecorder(monkeypatch)
    result = _validate(sim)
    assert _image_rules(result) == [("MPI014", "error", f"{REP0}/image/path")]
    assert "outside the dataset's folder" in result.findings[0].message
    assert str(outside.resolve()) not in rec.paths
    assert rec.paths, "the recorder saw nothing: it is not hooked in"


@pytest.mark.parametrize("path", ["../secret/outside.npy", "images/../../secret/outside.npy", "ABSOLUTE"])
def test_path_leaving_the_folder_is_refused_at_the_path_and_never_opened(sim, outside, monkeypatch, path):
    """`..` and absolute paths are MPI014 at the image path (the schema accepts any path
    string; confinement is judged when the image would be opened), and the file is never
    opened."""
    doc = _load(sim)
    doc["calibrations"][0]["points"][0]["replicates"][0]["image"]["path"] = (
        str(outside) if path == "ABSOLUTE" else path)
    _save(sim, doc)
    rec = _OpenRecorder(monkeypatch)
    result = _validate(sim)
    at_path = [f for f in result.findings if f.pointer == f"{REP0}/image/path"]
    assert [(f.rule, f.severity.value) for f in at_path] == [("MPI014", "error")]
    assert "outside the dataset's folder" in at_path[0].message or "absolute" in at_path[0].message
    assert str(outside.resolve()) not in rec.paths
    assert validate(sim).exit_code == 1


def test_escape_kind_maps_to_mpi014_on_a_quantification(tmp_path, outside):
    doc = _base_document()
    (tmp_path / "ds" / "images").mkdir(parents=True)
    (tmp_path / "ds" / "images" / "q.npy").symlink_to(outside)
    doc["quantifications"][0]["image"] = {"path": "images/q.npy", "format": "npy"}
    path = tmp_path / "ds" / "q.mpical.json"
    _save(path, doc)
    assert _image_rules(_validate(path)) == [("MPI014", "error", "/quantifications/0/image/path")]


def test_sha256_mismatch_and_missing_file_are_mpi014(sim):
    doc = _load(sim)
    reps = doc["calibrations"][0]["points"][0]["replicates"]
    reps[0]["image"]["sha256"] = hashlib.sha256(b"something else").hexdigest()
    reps[1]["image"]["path"] = "images/not-there.npy"
    _save(sim, doc)
    result = _validate(sim)
    assert _image_rules(result) == [("MPI014", "error", f"{REP0}/image/path"),
                                    ("MPI014", "error", "/calibrations/0/points/0/replicates/1/image/path")]
    messages = {f.pointer: f.message for f in result.findings}
    assert "sha256" in messages[f"{REP0}/image/path"]
    assert "not found" in messages["/calibrations/0/points/0/replicates/1/image/path"]


def test_image_over_the_size_limit_is_mpi005_at_the_image_not_mpi014(sim):
    result = _validate(sim, Options(max_image_bytes=1000))
    got = Counter(k[0] for k in _image_rules(result))
    assert got == {"MPI005": 15}
    assert all(f.pointer.endswith("/image") for f in result.findings)


def test_no_image_findings_when_images_are_not_checked(sim):
    doc = _load(sim)
    doc["calibrations"][0]["points"][0]["replicates"][0]["image"]["sha256"] = "0" * 64
    _save(sim, doc)
    assert _image_rules(_validate(sim)) == [("MPI014", "error", f"{REP0}/image/path")]
    assert _validate(sim, Options(check_images=False)).findings == []


# ---------------------------------------------------------------------------------------------- MPI015


def test_pixels_outside_the_correction_table_are_mpi015(sim):
    doc = _load(sim)
    acq = doc["acquisitions"][0]
    # the simulated images are linear: an identity table, but only up to 100
    acq["receiver_correction"] = {"images_corrected": False, "method": "lookup_table",
                                  "table": [[-1000.0, -1000.0], [100.0, 100.0]]}
    _save(sim, doc)
    result = _validate(sim)
    mpi015 = [f for f in result.findings if f.rule == "MPI015"]
    assert len(mpi015) == 15 and all(f.pointer.endswith("/image") for f in mpi015)
    assert "outside the correction table's measured range [-1000, 100]" in mpi015[0].message


def test_corrected_images_are_never_checked_for_saturation(sim):
    doc = _load(sim)
    doc["acquisitions"][0]["saturation_level"] = 50.0  # far below the maxima
    _save(sim, doc)  # receiver_correction says images_corrected: true
    assert _image_rules(_validate(sim)) == []


# ---------------------------------------------------------------------------------------------- MPI016


def test_all_zero_image_is_a_warning_and_exit_code_0(base_with_quantification_image):
    path = base_with_quantification_image(np.zeros((40, 24)))
    result = _validate(path)
    assert _keys(result) == [("MPI016", "warning", "/quantifications/0/image")]
    msg = result.findings[0].message
    assert "empty ROI" in msg and "no positive peak" in msg
    assert validate(path).exit_code == 0


def test_flat_profile_fit_does_not_converge(base_with_quantification_image):
    path = base_with_quantification_image(np.full((40, 24), 100.0))
    result = _validate(path)
    assert _keys(result) == [("MPI016", "warning", "/quantifications/0/image")]
    assert "did not converge" in result.findings[0].message


def test_all_nan_image_is_mpi016_and_not_mpi013(sim):
    doc = _load(sim)
    rep = doc["calibrations"][0]["points"][0]["replicates"][0]
    rep["image"]["sha256"] = _write_npy(sim.parent / rep["image"]["path"], np.full((64, 32), np.nan))
    _save(sim, doc)
    result = _validate(sim)
    assert _image_rules(result) == [("MPI016", "warning", f"{REP0}/image")]
    assert "no finite pixel" in next(f.message for f in result.findings if f.rule == "MPI016")


def test_readable_quantification_image_is_quiet(base_with_quantification_image):
    z = np.arange(40)[:, None] * 0.5
    x = np.arange(24)[None, :] * 0.5
    blob = 800.0 / (1.0 + ((x - 6.0) / 1.5) ** 2) / (1.0 + ((z - 10.0) / 2.0) ** 2)
    assert _validate(base_with_quantification_image(blob)).findings == []


# ---------------------------------------------------------------------------------------------- declarations


def _no_z_spacing(doc):
    doc["acquisitions"][0]["pixel_size_mm"] = {"x": 1.0}
    for pt in doc["calibrations"][0]["points"]:
        for rep in pt["replicates"]:
            rep["image"]["pixel_size_mm"] = {"x": 1.0}


def _table_not_increasing(doc):
    doc["acquisitions"][0]["receiver_correction"] = {"images_corrected": False, "method": "lookup_table",
                                                     "table": [[0.0, 0.0], [500.0, 500.0], [400.0, 2000.0]]}


def _fwhm_along_y(doc):
    doc["analysis"]["fwhm"]["axis"] = "y"


@pytest.mark.parametrize("change, words", [(_no_z_spacing, "no pixel size for axis z"),
                                           (_table_not_increasing, "strictly increasing"),
                                           (_fwhm_along_y, "FWHM axis 'y'")])
def test_declarations_an_image_cannot_satisfy_are_mpi014_not_a_crash(sim, change, words):
    doc = _load(sim)
    change(doc)
    _save(sim, doc)
    result = _validate(sim)
    got = _image_rules(result)
    assert len(got) == 15 and {k[:2] for k in got} == {("MPI014", "error")}
    assert all(k[2].endswith("/image/path") for k in got)
    assert words in result.findings[0].message


# ---------------------------------------------------------------------------------------------- MPI017

def _dicom_phantom(path: Path, pixel_spacing) -> str:
    """The conformance phantom (40 × 24, max 651.2) as Double Float Pixel Data with a
    PixelSpacing (PS3.3 C.7.6.2), written attribute by attribute (tests/load/dicom_fixtures)."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "load"))
    from dicom_fixtures import lorentz_phantom, write

    write(path, lorentz_phantom(), pixel="double", PixelSpacing=list(pixel_spacing))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _doc_with_image(tmp_path: Path, ref: dict) -> Path:
    doc = _base_document()
    doc["calibrations"][0]["points"][0]["replicates"][0]["image"] = ref
    path = tmp_path / "d.mpical.json"
    _save(path, doc)
    return path


def test_mpi017_pixel_spacing_contradicting_the_declared_size_uses_the_declared(tmp_path):
    """File 0.5 × 0.25 mm, dataset 0.5 × 0.5 mm: x is 50 % apart. The declared size is used:
    ROI area = 24 row pixels × 0.5 × 0.5 = 6 mm² (by hand; the file's would give 3 mm²)."""
    sha = _dicom_phantom(tmp_path / "a.dcm", [0.5, 0.25])
    path = _doc_with_image(tmp_path, {"path": "a.dcm", "format": "dicom", "sha256": sha,
                                      "pixel_size_mm": {"z": 0.5, "x": 0.5}})
    result = _validate(path)
    hits = [f for f in result.findings if f.rule == "MPI017"]
    assert [f.pointer for f in hits] == [f"{REP0}/image"]
    msg = hits[0].message
    assert "0.25 mm" in msg and "0.5 mm" in msg and "along x" in msg and "image.pixel_size_mm" in msg
    metrics = next(r["metrics"] for r in result.quantities["images"] if r["pointer"] == REP0)
    assert metrics["roi_area_mm2"] == pytest.approx(24 * 0.5 * 0.5)


def test_mpi017_quiet_within_one_percent_and_tolerance_is_configurable(tmp_path):
    sha = _dicom_phantom(tmp_path / "a.dcm", [0.5, 0.504])  # 0.8 % from 0.5
    path = _doc_with_image(tmp_path, {"path": "a.dcm", "format": "dicom", "sha256": sha,
                                      "pixel_size_mm": {"z": 0.5, "x": 0.5}})
    assert "MPI017" not in {f.rule for f in _validate(path).findings}
    from mpistd.config import Tolerances

    strict = Options(tolerances=Tolerances(pixel_size_relative=0.005))
    assert "MPI017" in {f.rule for f in _validate(path, strict).findings}


def test_mpi017_acquisition_pixel_size_is_the_declared_one(tmp_path):
    sha = _dicom_phantom(tmp_path / "a.dcm", [0.6, 0.5])  # z 20 % off the acquisition's 0.5
    path = _doc_with_image(tmp_path, {"path": "a.dcm", "format": "dicom", "sha256": sha})
    hits = [f for f in _validate(path).findings if f.rule == "MPI017"]
    assert len(hits) == 1 and "acquisition.pixel_size_mm" in hits[0].message and "along z" in hits[0].message


def _with_tracers(monkeypatch, tracers):
    """The image loads as the npy it is, carrying the given TracerInfo (as the MDF reader
    fills it from /tracer, MDF.tex "Tracer")."""
    import dataclasses

    from mpistd import image_metrics

    real = image_metrics._load

    def load(ref, base_dir, options):
        return dataclasses.replace(real(ref, base_dir, options), tracers=tuple(tracers))

    monkeypatch.setattr(image_metrics, "_load", load)


def _tracer_doc(tmp_path: Path) -> tuple[Path, str, float]:
    doc = _base_document()
    cal = doc["calibrations"][0]
    point = cal["points"][0]
    tracer = next(t for t in doc["tracers"] if t["id"] == cal["tracer"])
    sha = _write_npy(tmp_path / "img.npy", _conformance_phantom())
    point["replicates"][0]["image"] = {"path": "img.npy", "format": "npy", "sha256": sha}
    point["concentration_ug_per_uL"] = 0.5
    point.pop("volume_uL", None)
    path = tmp_path / "t.mpical.json"
    _save(path, doc)
    return path, tracer["name"], 0.5


def _conformance_phantom() -> np.ndarray:
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "load"))
    from dicom_fixtures import lorentz_phantom

    return lorentz_phantom()


def test_mpi017_tracer_concentration_in_fe_compared_after_conversion(tmp_path, monkeypatch):
    """0.5 µg/µL = 0.5 mg Fe/mL = 0.5 × 17.91 mmol/L = 8.955 mmol/L (1 mg Fe/mL = 1/55.845 mol/L)."""
    from mpistd.load.images import TracerInfo

    path, name, _c = _tracer_doc(tmp_path)
    _with_tracers(monkeypatch, [TracerInfo(name="other", solute="Fe", concentration_mol_per_L=1.0),
                                TracerInfo(name=name.upper(), solute="Fe", concentration_mol_per_L=0.5 / 55.845)])
    assert "MPI017" not in {f.rule for f in _validate(path).findings}
    _with_tracers(monkeypatch, [TracerInfo(name=name, solute="Fe", concentration_mol_per_L=0.0120)])
    hits = [f for f in _validate(path).findings if f.rule == "MPI017"]
    assert len(hits) == 1
    msg = hits[0].message
    assert "0.012 mol/L of Fe" in msg and "0.5 µg/µL" in msg and "0.008953" in msg and "17.91 mmol/L" in msg


def test_mpi017_tracer_with_another_solute_is_not_comparable(tmp_path, monkeypatch):
    from mpistd.load.images import TracerInfo

    path, name, _c = _tracer_doc(tmp_path)
    _with_tracers(monkeypatch, [TracerInfo(name=name, solute="Fe3O4", concentration_mol_per_L=0.003)])
    hits = [f for f in _validate(path).findings if f.rule == "MPI017"]
    assert len(hits) == 1 and "not comparable" in hits[0].message and "Fe3O4" in hits[0].message
    # no entry with the dataset's tracer name: nothing to compare
    _with_tracers(monkeypatch, [TracerInfo(name="someone else's", solute="Fe", concentration_mol_per_L=9.0)])
    assert "MPI017" not in {f.rule for f in _validate(path).findings}


# ---------------------------------------------------------------------------------------------- MPI019

_HIDE_READER = """
import sys
sys.modules[sys.argv.pop(1)] = None  # as if mpistd[images] were not installed: the import fails
from mpistd.cli import main
sys.argv[0] = "mpistd"
main()
"""


@pytest.mark.parametrize("module, fmt, name", [("pydicom", "dicom", "a.dcm"), ("tifffile", "tiff", "a.tif"),
                                               ("h5py", "mdf", "a.mdf")])
def test_mpi019_reader_missing_is_its_own_finding_and_exit_2_after_all_outputs(tmp_path, module, fmt, name):
    import subprocess
    import sys

    if fmt == "dicom":
        sha = _dicom_phantom(tmp_path / name, [0.5, 0.5])
    else:  # the reader is never reached: any bytes do
        (tmp_path / name).write_bytes(b"not read")
        sha = hashlib.sha256(b"not read").hexdigest()
    path = _doc_with_image(tmp_path, {"path": name, "format": fmt, "sha256": sha})
    out = tmp_path / "out.json"
    sarif = tmp_path / "out.sarif"
    proc = subprocess.run([sys.executable, "-c", _HIDE_READER, module, "validate", str(path), "-o", f"json:{out}",
                           "-o", f"sarif:{sarif}"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    findings = [f for d in report["datasets"] for f in d["findings"]]
    hit = [f for f in findings if f["rule"] == "MPI019"]
    assert hit and hit[0]["pointer"] == f"{REP0}/image/path"
    assert "pip install 'mpistd[images]'" in hit[0]["message"] and module in hit[0]["message"]
    assert not [f for f in findings if f["rule"] == "MPI014"]
    assert "Traceback" not in proc.stderr
    assert "MPI019" in sarif.read_text() and "MPI019" in proc.stdout  # every output written first


@pytest.mark.parametrize("unit, hits_expected", [("CENTIMETER", 0), ("INCH", 2), ("NONE", 0)])
def test_mpi017_tiff_resolution_counts_only_with_an_absolute_unit(tmp_path, unit, hits_expected):
    """XResolution = YResolution = 20 pixels per unit: 0.5 mm per pixel in cm (10/20), 1.27 mm in
    inches (25.4/20), nothing with ResolutionUnit NONE (TIFF 6.0 section 8). Declared: 0.5 mm."""
    import tifffile

    res = 20.0
    tifffile.imwrite(tmp_path / "a.tif", _conformance_phantom().astype(np.float32), resolution=(res, res),
                     resolutionunit=unit, metadata=None)
    sha = hashlib.sha256((tmp_path / "a.tif").read_bytes()).hexdigest()
    path = _doc_with_image(tmp_path, {"path": "a.tif", "format": "tiff", "sha256": sha,
                                      "pixel_size_mm": {"z": 0.5, "x": 0.5}})
    hits = [f for f in _validate(path).findings if f.rule == "MPI017"]
    # inch: 1.27 mm ≠ 0.5 mm along x and z; cm: 0.5 mm agrees; NONE: the file states no size
    assert len(hits) == hits_expected and all("1.27 mm" in f.message for f in hits)
