"""npy, TIFF and DICOM images that try to leave the dataset's folder, hang the run or lie in
their headers (issue 11). MDF/HDF5 cases are in their own file.

The outside target of every reference is a FIFO with no writer (any open blocks, and the
subprocess timeout catches it) beside a sentinel file whose bytes must appear in no
output (text, JSON, SARIF, JUnit). Fixtures are written from the formats' own
specifications: OME-XML (OME 2016-06 schema: Pixels, TiffData, UUID FileName) inside a
baseline TIFF ImageDescription, npy headers by hand (NEP 1 format 1.0).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corpus import base_document, npy_bytes, phantom

SENTINEL = b"SENTINEL-7f3a-do-not-echo"
REP0 = "/calibrations/0/points/0/replicates/0"


def _ome_xml(own: str, other: str, *, sizes: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
        'UUID="urn:uuid:11111111-1111-1111-1111-111111111111">'
        '<Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="float64" '
        f'SizeX="24" SizeY="40" SizeZ="2" SizeC="1" SizeT="1"{sizes}>'
        '<Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        f'<TiffData FirstZ="0" IFD="0" PlaneCount="1"><UUID FileName="{own}">'
        'urn:uuid:11111111-1111-1111-1111-111111111111</UUID></TiffData>'
        f'<TiffData FirstZ="1" IFD="0" PlaneCount="1"><UUID FileName="{other}">'
        'urn:uuid:22222222-2222-2222-2222-222222222222</UUID></TiffData>'
        '</Pixels></Image></OME>'
    )


def _write_tiff(path: Path, array: np.ndarray, description: str | None = None, **kw) -> None:
    import tifffile

    tifffile.imwrite(path, array, description=description, metadata=None, **kw)


@pytest.fixture()
def outside(tmp_path):
    """tmp/outside/ with a FIFO (no writer) and a sentinel file; tmp/ds/ the dataset folder."""
    out = tmp_path / "outside"
    out.mkdir()
    os.mkfifo(out / "fifo.ome.tif")
    (out / "secret.ome.tif").write_bytes(SENTINEL * 64)
    ds = tmp_path / "ds"
    ds.mkdir()
    return ds, out


def _dataset(ds: Path, ref: dict) -> Path:
    doc = base_document()
    doc["calibrations"][0]["points"][0]["replicates"][0]["image"] = ref
    path = ds / "d.mpical.json"
    path.write_text(json.dumps(doc))
    return path


def _run_all_outputs(path: Path, tmp: Path) -> tuple[subprocess.CompletedProcess, str]:
    outs = {fmt: tmp / f"out.{fmt}" for fmt in ("json", "sarif", "junit", "text")}
    cmd = [sys.executable, "-m", "mpistd", "validate", str(path)] + [a for f, p in outs.items()
                                                                      for a in ("-o", f"{f}:{p}")]
    proc = subprocess.run(cmd, capture_output=True, timeout=90, cwd=tmp)  # a blocked open ends here
    text = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    for p in outs.values():
        text += p.read_text(encoding="utf-8", errors="replace") if p.exists() else ""
    return proc, text


@pytest.mark.parametrize("target", ["../outside/fifo.ome.tif", "../outside/secret.ome.tif", "/etc/passwd"])
@pytest.mark.parametrize("with_sha", [False, True])
def test_ome_tiff_file_references_are_never_followed(outside, target, with_sha):
    ds, out = outside
    _write_tiff(ds / "img.ome.tif", phantom(), _ome_xml("img.ome.tif", target))
    ref = {"path": "img.ome.tif", "format": "tiff", "pixel_size_mm": {"z": 0.5, "x": 0.5}}
    if with_sha:
        import hashlib

        ref["sha256"] = hashlib.sha256((ds / "img.ome.tif").read_bytes()).hexdigest()
    before = os.stat(out / "secret.ome.tif").st_atime_ns
    proc, text = _run_all_outputs(_dataset(ds, ref), ds.parent)
    assert proc.returncode == 1, text[-2000:]
    assert SENTINEL.decode() not in text
    assert "multi-file OME-TIFF" in text and "MPI014" in text
    assert "Traceback" not in text
    assert os.stat(out / "secret.ome.tif").st_atime_ns == before  # never read (where atime is kept)


def test_ome_tiff_naming_only_itself_is_read_with_its_physical_size(tmp_path):
    from mpistd.load.images import load_image

    xml = _ome_xml("one.ome.tif", "one.ome.tif", sizes=' PhysicalSizeX="250" PhysicalSizeY="0.5" '
                                                        'PhysicalSizeYUnit="mm"')  # X in µm (the default)
    _write_tiff(tmp_path / "one.ome.tif", np.zeros((40, 24)), xml)
    got = load_image(tmp_path, "one.ome.tif", "tiff")
    assert got.spacing_mm == {"z": 0.5, "x": 0.25} and got.spacing_source == "OME-XML PhysicalSize"


@pytest.mark.parametrize("unit, per", [("CENTIMETER", 10.0), ("INCH", 25.4), ("NONE", None)])
def test_tiff_resolution_only_with_an_absolute_unit(tmp_path, unit, per):
    from mpistd.load.images import load_image

    _write_tiff(tmp_path / "r.tif", np.zeros((40, 24), np.uint16), resolution=(4.0, 2.0), resolutionunit=unit)
    got = load_image(tmp_path, "r.tif", "tiff")
    if per is None:
        assert got.spacing_mm is None  # TIFF 6.0: unit 1 has no absolute meaning
    else:
        # XResolution 4 px/unit along a row (x), YResolution 2 px/unit down a column (z in 2D)
        assert got.spacing_mm == pytest.approx({"x": per / 4.0, "z": per / 2.0})


@pytest.mark.parametrize("fmt, name", [("npy", "img.npy"), ("tiff", "img.tif"), ("dicom", "img.dcm")])
def test_a_fifo_in_the_folder_is_refused_without_opening_it(outside, fmt, name):
    ds, _out = outside
    os.mkfifo(ds / name)
    proc, text = _run_all_outputs(_dataset(ds, {"path": name, "format": fmt, "pixel_size_mm": {"z": 0.5, "x": 0.5}}),
                                  ds.parent)
    assert proc.returncode == 1 and "not a regular file" in text


def test_npy_minus_one_shape_is_a_finding_with_the_value(outside):
    ds, _out = outside
    good = npy_bytes(phantom())
    bad = good.replace(b"'shape': (40, 24)", b"'shape': (-1, 24)")
    assert bad != good
    (ds / "m.npy").write_bytes(bad)
    proc, text = _run_all_outputs(_dataset(ds, {"path": "m.npy", "format": "npy"}), ds.parent)
    assert proc.returncode == 1 and "MPI014" in text and "(-1, 24)" in text and "Traceback" not in text


def test_binary_only_ome_tiff_pointing_at_a_companion_file_is_refused(tmp_path):
    from mpistd.load.images import ImageError, load_image

    xml = ('<?xml version="1.0"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
           'UUID="urn:uuid:3"><BinaryOnly MetadataFile="../outside/x.companion.ome" '
           'UUID="urn:uuid:4"/></OME>')
    _write_tiff(tmp_path / "b.ome.tif", np.zeros((4, 4)), xml)
    with pytest.raises(ImageError) as ei:
        load_image(tmp_path, "b.ome.tif", "tiff")
    assert ei.value.kind == "format" and "companion" in str(ei.value)


@pytest.mark.parametrize("fmt", ["npy", "tiff", "dicom"])
def test_a_fifo_swapped_in_after_the_path_check_neither_hangs_nor_is_read(tmp_path, monkeypatch, fmt):
    """The window between resolve_image_path's stat and the open: the path checked was a
    regular file, the one opened is a FIFO with no writer. The non-blocking open and the
    fstat on the descriptor refuse it at once (an alarm ends the test if the open blocks)."""
    import signal

    import mpistd.load.images as images

    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "real").write_bytes(npy_bytes(phantom()))
    real_resolve = images.resolve_image_path
    monkeypatch.setattr(images, "resolve_image_path",
                        lambda base, rel, **kw: (real_resolve(base, "real", **kw), tmp_path / "fifo")[1])
    monkeypatch.setattr(images.os, "stat", lambda p, *a, **k: os.lstat(tmp_path / "real"))

    def hung(*_a):  # pragma: no cover - only if the open blocked
        raise AssertionError("the open of the FIFO blocked")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        with pytest.raises(images.ImageError) as ei:
            images.load_image(tmp_path, "real", fmt)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert ei.value.kind == "unreadable" and "not a regular file" in str(ei.value)


def _hand_dicom() -> bytes:
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("_fam_images", root / "reference_data/conformance/families/images.py")
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(root / "reference_data/conformance"))
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(root / "reference_data/conformance"))
    return mod.dicom_bytes(np.zeros((2, 2)), ("1", "1"))


def test_dicom_element_bomb_is_refused_while_parsing(tmp_path):
    """300,000 empty private elements (0009,xxxx) LO at the top level: pydicom parses every
    top-level element eagerly (2.3 MiB took 3 s; 256 MiB would take minutes and GBs)."""
    import time

    from mpistd.load.images import ImageError, load_image

    base = _hand_dicom()
    els = b"".join(b"\x09\x00" + (0x1000 + i % 0xE000).to_bytes(2, "little") + b"LO\x00\x00" for i in range(300_000))
    at = base.index(b"\x08\x00\x16\x00")  # before SOPClassUID
    (tmp_path / "els.dcm").write_bytes(base[:at] + els + base[at:])
    started = time.perf_counter()
    with pytest.raises(ImageError) as ei:
        load_image(tmp_path, "els.dcm", "dicom")
    assert ei.value.kind == "format" and "data elements" in str(ei.value)
    assert time.perf_counter() - started < 5.0


def test_dicom_sequence_bomb_is_refused_before_any_sequence_is_parsed(tmp_path):
    """200,000 empty items (8 bytes each, PS3.5 7.5) in a PerFrameFunctionalGroupsSequence of a
    one-frame file: pydicom would spend ~12 s and 180 MB parsing them (a 256 MiB file: hours);
    refused from a byte count first."""
    import time

    from mpistd.load.images import ImageError, load_image

    base = _hand_dicom()
    items = (b"\xfe\xff\x00\xe0" + bytes(4)) * 200_000
    seq = b"\x00\x52\x30\x92SQ\x00\x00" + len(items).to_bytes(4, "little") + items  # (5200,9230) SQ
    at = base.index(b"\xe0\x7f\x09\x00")  # before Double Float Pixel Data (7FE0,0009)
    (tmp_path / "bomb.dcm").write_bytes(base[:at] + seq + base[at:])
    started = time.perf_counter()
    with pytest.raises(ImageError) as ei:
        load_image(tmp_path, "bomb.dcm", "dicom")
    assert ei.value.kind == "format" and "sequence items" in str(ei.value)
    assert time.perf_counter() - started < 5.0  # generous: only a hang-catcher


def test_tiff_with_too_many_pages_or_an_ifd_cycle_is_refused_at_once(tmp_path):
    """tifffile's series detection is quadratic in non-uniform pages (20,000 one-pixel pages:
    92 s): more than MAX_PAGES pages, or an IFD chain that loops (TIFF 6.0: each IFD ends with
    the offset of the next), is refused from a walk of the chain."""
    import struct
    import time

    import tifffile

    from mpistd.load.images import ImageError, load_image
    from mpistd.load.images.tiff import MAX_PAGES

    with tifffile.TiffWriter(tmp_path / "many.tif") as w:
        for _ in range(MAX_PAGES + 5):
            w.write(np.zeros((1, 1), np.uint8), contiguous=False)
    # one IFD (a 1×1 8-bit image) whose next-IFD offset points back to itself
    entries = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (273, 4, 1, 0), (279, 4, 1, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + struct.pack("<I", 8)
    (tmp_path / "cycle.tif").write_bytes(b"II*\x00" + struct.pack("<I", 8) + ifd)
    for name in ("many.tif", "cycle.tif"):
        started = time.perf_counter()
        with pytest.raises(ImageError) as ei:
            load_image(tmp_path, name, "tiff")
        assert ei.value.kind == "format" and "pages" in str(ei.value)
        assert time.perf_counter() - started < 5.0  # a hang-catcher only


def test_ome_tiff_with_time_points_is_not_taken_for_a_z_stack(tmp_path):
    from mpistd.load.images import ImageError, load_image

    xml = _ome_xml("t.ome.tif", "t.ome.tif").replace('SizeZ="2" SizeC="1" SizeT="1"', 'SizeZ="1" SizeC="1" SizeT="2"')
    _write_tiff(tmp_path / "t.ome.tif", np.zeros((2, 40, 24)), xml)
    with pytest.raises(ImageError) as ei:
        load_image(tmp_path, "t.ome.tif", "tiff")
    assert "SizeT" in str(ei.value) and "time points" in str(ei.value)
