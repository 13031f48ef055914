"""The hostile corpus: broken, malicious and pathological datasets, generated at test time.

Nothing here is committed as data: :func:`build` writes every case into a folder (a pytest
``tmp_path``) and returns what each case must produce. Large inputs (the 25 MiB document,
the 5 MB string, the 100,000-deep nestings) are generated, never stored.

Layout under the root::

    outside/            files outside every dataset's folder (the canary image, a secret)
    cases/NAME/         one folder per case: NAME.mpical.json|yaml and its images

A :class:`Case` names the exact multiset of (rule, severity, pointer) the CLI must report,
the exit code those severities imply and, where the rule defines one and it is
predictable, the exact line:column of the finding.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CLEAN = ROOT / "reference_data" / "conformance" / "clean.mpical.json"

E, W = "error", "warning"
Q_IMAGE = "/quantifications/0/image"
R_IMAGE = "/calibrations/0/points/0/replicates/0/image"
MiB = 2**20

#: strings that would do harm if a renderer pasted them into HTML, CSS, a template or a URL
HOSTILE_STRINGS: tuple[str, ...] = (
    "<script>alert('mpistd-xss')</script>",
    "</style><script>alert(1)</script>",
    "<style>body{background:url(http://evil.example/bg.png)}</style>",
    "url(http://evil.example/track.png)",
    "@import url(http://evil.example/x.css);",
    "{{ 7*7 }}",
    "{% for x in range(9) %}loop{% endfor %}",
    "{# comment #}{{ self.__init__.__globals__ }}",
    "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "<iframe src=\"http://evil.example/\"></iframe>",
    "]]><!-- --><![CDATA[",
    "\u202eRTL override\u202c and zero\u200bwidth",
    "🧲 Fe₃O₄ µg·mm⁻²",
)


@dataclass
class Case:
    name: str
    path: Path  # the dataset file given to the CLI
    expected: list[tuple[str, str, str]]  # (rule, severity, pointer), a multiset
    exit_code: int
    where: tuple[int, int] | None = None  # exact line:column of the (single) finding, when known
    strings: tuple[str, ...] = ()  # hostile strings the document carries (for the report tests)
    note: str = ""


# ------------------------------------------------------------------------------------ helpers


def base_document() -> dict:
    """The clean reference dataset (no finding), a fresh copy."""
    return json.loads(CLEAN.read_text(encoding="utf-8"))


def line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column (in characters) of ``text[index]``."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def where_of(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    i = -1
    for _ in range(nth + 1):
        i = text.index(needle, i + 1)
    return line_col(text, i)


def _shift(where: tuple[int, int], columns: int) -> tuple[int, int]:
    return where[0], where[1] + columns


def npy_bytes(a: np.ndarray, *, descr: str | None = None, shape: tuple[int, ...] | None = None,
              data: bytes | None = None) -> bytes:
    """A .npy file (format 1.0), optionally with a lying header or other data bytes."""
    a = np.asarray(a)
    d = descr if descr is not None else np.lib.format.dtype_to_descr(a.dtype)
    s = a.shape if shape is None else shape
    header = "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (d, tuple(s))
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * (pad % 64) + "\n"
    payload = a.tobytes() if data is None else data
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1") + payload


def phantom() -> np.ndarray:
    """A small usable image (40 × 24, a Lorentzian line above the base threshold of 10)."""
    img = np.zeros((40, 24))
    u = (np.arange(24) - 12) / 2.0
    img[20] = 1931.0 / (1.0 + u * u)
    img[19] = img[21] = 120.0
    return img


class _MkdirOnUnpickle:
    """Unpickling this calls ``os.mkdir(path)``: proof, by its absence, that nothing was unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (os.mkdir, (self.path,))


def pickle_npy(canary: Path) -> bytes:
    """An object-dtype .npy whose pickled payload creates ``canary`` if it is ever unpickled."""
    arr = np.empty(2, dtype=object)
    arr[0] = _MkdirOnUnpickle(str(canary))
    arr[1] = "x"
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def yaml_text(doc: Any) -> str:
    import yaml

    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000)


# ------------------------------------------------------------------------------------ the builder


class _Builder:
    def __init__(self, root: Path, big: bool, dry: bool) -> None:
        self.root = root
        self.cases_dir = root / "cases"
        self.outside = root / "outside"
        self.big = big
        self.dry = dry
        self.cases: dict[str, Case] = {}
        # the canary: a perfectly readable image outside every dataset folder
        self.canary = self.outside / "canary.npy"
        # created only if something executes what it must not
        self.exec_canary = root / "EXECUTED-A-YAML-TAG"
        self.pickle_canary = root / "UNPICKLED-AN-NPY"
        if not dry:
            self.cases_dir.mkdir(parents=True, exist_ok=True)
            self.outside.mkdir(parents=True, exist_ok=True)
            self.canary.write_bytes(npy_bytes(phantom()))
            (self.outside / "secret.txt").write_text("not yours\n")

    def folder(self, name: str) -> Path:
        d = self.cases_dir / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def add(self, name: str, content: bytes | str | Callable[[], bytes | str], expected: list[tuple[str, str, str]],
            exit_code: int, *, suffix: str = ".mpical.json", where: tuple[int, int] | None = None, **kw: Any) -> Case:
        path = self.cases_dir / name / f"{name}{suffix}"
        if not self.dry:
            if callable(content):
                content = content()
            if isinstance(content, str):
                content = content.encode("utf-8")
            self.folder(name)
            path.write_bytes(content)
        case = Case(name, path, expected, exit_code, where, **kw)
        assert name not in self.cases, name
        self.cases[name] = case
        return case

    def add_doc(self, name: str, doc: Any, expected: list[tuple[str, str, str]], exit_code: int, *,
                yaml: bool = False, **kw: Any) -> Case:
        def text() -> str:
            return yaml_text(doc) if yaml else json.dumps(doc, indent=2, ensure_ascii=False)

        return self.add(name, text, expected, exit_code, suffix=".mpical.yaml" if yaml else ".mpical.json", **kw)

    def add_image(self, name: str, filename: str, content: bytes | Callable[[], bytes] | None,
                  expected: list[tuple[str, str, str]], exit_code: int, *, fmt: str = "npy", on: str = "quantification",
                  path: str | None = None, setup: Callable[[Path], None] | None = None, **kw: Any) -> Case:
        """The clean document with one image attached (to the quantification or replicate 0)."""
        if not self.dry:
            folder = self.folder(name)
            if content is not None:
                (folder / "images").mkdir(exist_ok=True)
                (folder / "images" / filename).write_bytes(content() if callable(content) else content)
            if setup is not None:
                setup(folder)
        doc = base_document()
        ref = {"path": path if path is not None else f"images/{filename}", "format": fmt}
        if on == "quantification":
            doc["quantifications"][0]["image"] = ref
        else:
            doc["calibrations"][0]["points"][0]["replicates"][0]["image"] = ref
        return self.add_doc(name, doc, expected, exit_code, **kw)


def build(root: Path, *, big: bool = True, dry: bool = False) -> dict[str, Case]:
    """Write the whole corpus under ``root``; returns the cases by name (``dry``: write nothing)."""
    b = _Builder(root, big, dry)
    _documents(b)
    _numbers_and_nesting(b)
    _yaml(b)
    _sizes(b)
    _strings(b)
    _images(b)
    _paths(b)
    return b.cases


# ------------------------------------------------------------------------------------ bytes and encodings


def _documents(b: _Builder) -> None:
    clean = json.dumps(base_document(), indent=2, ensure_ascii=False)
    b.add("clean", clean, [], 0, note="control: the reference dataset")
    b.add("empty", b"", [("MPI001", E, "")], 1, where=(1, 1))
    b.add("whitespace-only", b"  \n\t\n", [("MPI001", E, "")], 1, where=(1, 1))
    garbage = bytes((i * 131 + 7) % 256 for i in range(4096))  # deterministic binary noise
    b.add("binary-garbage", garbage, [("MPI001", E, "")], 1)
    b.add("binary-nul", b'{"schema_version": "1.0",\x00\x01\x02}', [("MPI001", E, "")], 1, where=(1, 26))
    b.add("utf16-bom", clean.encode("utf-16"), [("MPI001", E, "")], 1, where=(1, 1))
    b.add("utf16-le-no-bom", clean.encode("utf-16-le"), [("MPI001", E, "")], 1, where=(1, 2))
    latin = base_document()
    latin["dataset"]["description"] = "Kalibrierung für Eisenoxid, café"
    latin_text = json.dumps(latin, indent=2, ensure_ascii=False)
    b.add("latin1", latin_text.encode("latin-1"), [("MPI001", E, "")], 1, where=where_of(latin_text, "ü"))
    b.add("utf8-bom", b"\xef\xbb\xbf" + clean.encode(), [], 0, note="a UTF-8 byte-order mark is accepted")
    b.add("truncated-json", clean[: len(clean) // 2], [("MPI001", E, "")], 1)
    b.add("top-level-list", json.dumps([base_document()]), [("MPI002", E, "")], 1, where=(1, 1))
    b.add("top-level-string", '"just a string"', [("MPI002", E, "")], 1, where=(1, 1))
    b.add("top-level-null", "null", [("MPI002", E, "")], 1, where=(1, 1))
    # a JSON escape of half a surrogate pair is no character: refused, not passed to the model or the output
    lone = base_document()
    lone["dataset"]["title"] = "calibration \ud800"
    lone["x-\udc00"] = "key"
    lone_text = json.dumps(lone, indent=2)  # ASCII, with the \uXXXX escapes
    b.add("lone-surrogate-escape", lone_text, [("MPI001", E, "")], 1, where=where_of(lone_text, '"title"'))
    # libyaml refuses the escape itself (at its code); PyYAML's pure-Python parser builds the
    # string and mpistd's surrogate check refuses it at the start of the line
    import yaml

    b.add("lone-surrogate-yaml", 'schema_version: "1.0"\nx-a: "\\U0000DC00"\n', [("MPI001", E, "")], 1,
          suffix=".mpical.yaml", where=(2, 9) if yaml.__with_libyaml__ else (2, 1))
    dup = clean.replace('"title": ', '"title": "first", "title": ', 1)
    b.add("duplicate-key-json", dup, [("MPI001", E, "")], 1, where=where_of(dup, '"title"', 1))


def _numbers_and_nesting(b: _Builder) -> None:
    clean = json.dumps(base_document(), indent=2)
    target = '"iron_mass_ug": 3.1'
    assert target in clean
    for name, literal in (("nan", "NaN"), ("infinity", "Infinity"), ("minus-infinity", "-Infinity"),
                          ("digits-5000", "7" * 5000), ("exp-1e999", "1e999"),
                          ("float-350-digits", "1" * 350 + ".5"), ("int-350-digits", "9" * 350)):
        text = clean.replace(target, f'"iron_mass_ug": {literal}', 1)
        b.add(f"number-{name}", text, [("MPI001", E, "")], 1, where=_shift(where_of(text, f": {literal}"), 2))
    # 100 levels inside an otherwise valid document: under the C parser's own limit, held to 64
    prefix = json.dumps(base_document())[:-1] + ', "x-deep": '
    deep_ext = prefix + "[" * 100 + "]" * 100 + "}"
    b.add("deep-json-100-in-extension", deep_ext, [("MPI001", E, "")], 1, where=line_col(deep_ext, len(prefix) + 63))
    deep_list = "[" * 100_000 + "]" * 100_000
    b.add("deep-json-list", deep_list, [("MPI001", E, "")], 1, where=(1, 65))
    deep_obj = '{"a":' * 100_000 + "1" + "}" * 100_000
    b.add("deep-json-object", deep_obj, [("MPI001", E, "")], 1, where=(1, 64 * 5 + 1))


def _yaml(b: _Builder) -> None:
    doc = base_document()
    b.add_doc("clean-yaml", doc, [], 0, yaml=True, note="control: the reference dataset as YAML")
    b.add("deep-yaml-flow", "[" * 100_000 + "]" * 100_000, [("MPI001", E, "")], 1, suffix=".mpical.yaml")
    b.add("deep-yaml-block", "- " * 100_000 + "x\n", [("MPI001", E, "")], 1, suffix=".mpical.yaml")
    text = yaml_text(doc)
    dup = text.replace("schema_version: '1.0'\n", "schema_version: '1.0'\nschema_version: '1.0'\n", 1)
    assert dup != text
    b.add("duplicate-key-yaml", dup, [("MPI001", E, "")], 1, suffix=".mpical.yaml", where=(2, 1))
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for p, c in zip("bcdefghij", "abcdefghi"):
        bomb += f"{p}: &{p} [" + ", ".join([f"*{c}"] * 9) + "]\n"
    b.add("yaml-alias-bomb", bomb, [("MPI001", E, "")], 1, suffix=".mpical.yaml")
    tagged = text + f"x-evil: !!python/object/apply:os.mkdir [{json.dumps(str(b.exec_canary))}]\n"
    n_lines = tagged.count("\n")
    b.add("yaml-python-tag", tagged, [("MPI001", E, "")], 1, suffix=".mpical.yaml", where=(n_lines, 9))
    b.add("yaml-os-system-tag", "!!python/object/apply:os.system ['echo pwned']\n", [("MPI001", E, "")], 1,
          suffix=".mpical.yaml", where=(1, 1))
    b.add("yaml-local-tag", text + "x-local: !mytag {a: 1}\n", [("MPI001", E, "")], 1, suffix=".mpical.yaml",
          where=(text.count("\n") + 1, 10))
    b.add("yaml-set-tag", text + "x-set: !!set {a, b}\n", [("MPI001", E, "")], 1, suffix=".mpical.yaml",
          where=(text.count("\n") + 1, 8))
    b.add("yaml-merge-key", text + "x-base: &b {k: 1}\nx-merged:\n  <<: *b\n", [("MPI001", E, "")], 1,
          suffix=".mpical.yaml", where=(text.count("\n") + 3, 3))
    b.add("yaml-top-level-list", "- 1\n- 2\n", [("MPI002", E, "")], 1, suffix=".mpical.yaml", where=(1, 1))
    b.add("yaml-two-documents", text + "---\n" + text, [("MPI001", E, "")], 1, suffix=".mpical.yaml")
    b.add("yaml-nan", text.replace("iron_mass_ug: 3.1\n", "iron_mass_ug: .nan\n", 1), [("MPI001", E, "")], 1,
          suffix=".mpical.yaml", where=_shift(where_of(text, "iron_mass_ug: 3.1"), 14))
    b.add("yaml-int-5000-digits", text.replace("iron_mass_ug: 3.1\n", "iron_mass_ug: " + "7" * 5000 + "\n", 1),
          [("MPI001", E, "")], 1, suffix=".mpical.yaml")


def _sizes(b: _Builder) -> None:
    if b.big:
        # 25 MiB: over the 20 MiB default; refused from its size alone (never parsed)
        def padded() -> str:
            doc = base_document()
            doc["x-padding"] = "P" * (25 * MiB)
            return json.dumps(doc)

        b.add("document-25mib", padded, [("MPI005", E, "")], 1, where=(1, 1))
    doc = base_document()
    doc["x-notes"] = "N" * 5_000_000  # a 5 MB string where anything goes: valid
    b.add_doc("string-5mb-extension", doc, [], 0)
    doc = base_document()
    doc["dataset"]["description"] = "D" * 5_000_000  # over the schema's 10,000 characters
    text = json.dumps(doc, indent=2)
    b.add("string-5mb-description", text, [("MPI002", E, "/dataset/description")], 1,
          where=where_of(text, '"description"'))


def hostile_document() -> tuple[dict, tuple[str, ...]]:
    doc = base_document()
    s = HOSTILE_STRINGS
    doc["dataset"]["title"] = f"{s[0]} {s[5]} {s[1]}"
    doc["dataset"]["description"] = " | ".join(s)
    doc["dataset"]["authors"] = [{"name": s[8], "affiliation": s[2]}]
    doc["dataset"]["license"] = s[3]
    doc["tracers"][0]["name"] = s[1] + s[2]
    doc["tracers"][0]["vendor"] = s[6]
    doc["tracers"][0]["coating"] = s[4]
    doc["acquisitions"][0]["scanner"]["manufacturer"] = s[9]
    doc["acquisitions"][0]["sample_holder"]["kind"] = s[10]
    doc["calibrations"][0]["environment"]["medium"] = s[11]
    doc["quantifications"][0]["environment"]["medium"] = s[11]
    for i, p in enumerate(doc["calibrations"][0]["points"]):
        p["sample_id"] = f"{s[i % len(s)]}#{i}"
    doc["quantifications"][0]["sample_id"] = s[7]
    doc["analysis"]["software"] = {"name": s[5], "version": s[12]}
    doc["x-" + s[1]] = s[0]
    doc["calibrations"][0]["x-" + s[5]] = s[13]
    strings = tuple(dict.fromkeys([doc["dataset"]["title"], doc["tracers"][0]["name"], *s]))
    return doc, strings


def _strings(b: _Builder) -> None:
    doc, strings = hostile_document()
    b.add_doc("hostile-strings", doc, [], 0, strings=strings)
    b.add_doc("hostile-strings-yaml", doc, [], 0, yaml=True, strings=strings)


# ------------------------------------------------------------------------------------ images


def _images(b: _Builder) -> None:
    good = npy_bytes(phantom())
    b.add_image("image-good", "good.npy", good, [], 0, note="control: a readable image")
    b.add_image("image-good-tiff", "good.tif", _tiff_good, [], 0, fmt="tiff", note="control: a readable TIFF")
    b.add_image("image-good-mdf", "good.mdf", _mdf_good, [], 0, fmt="mdf", note="control: a readable MDF")
    unusable = [("MPI014", E, f"{Q_IMAGE}/path")]
    b.add_image("image-npy-truncated", "t.npy", good[: len(good) // 2], unusable, 1)
    b.add_image("image-npy-header-only", "h.npy", good[:128], unusable, 1)
    b.add_image("image-npy-bad-magic", "m.npy", b"\x93NUMPX" + good[6:], unusable, 1)
    b.add_image("image-npy-garbage-header", "g.npy", b"\x93NUMPY\x01\x00\x20\x00{'descr': __import__('os')}\n" +
                b"\0" * 64, unusable, 1)
    b.add_image("image-npy-complex", "c.npy", npy_bytes(phantom().astype(complex)), unusable, 1)
    b.add_image("image-npy-object-pickle", "o.npy", lambda: pickle_npy(b.pickle_canary), unusable, 1)
    b.add_image("image-npy-bool", "b.npy", npy_bytes(phantom() > 50), unusable, 1)
    b.add_image("image-npy-string", "s.npy", npy_bytes(np.full((40, 24), "pixel")), unusable, 1)
    b.add_image("image-npy-1d", "1d.npy", npy_bytes(np.arange(100.0)), unusable, 1)
    b.add_image("image-npy-4d", "4d.npy", npy_bytes(np.ones((2, 3, 4, 5))), unusable, 1)
    b.add_image("image-npy-no-pixels", "0.npy", npy_bytes(np.zeros((0, 24))), unusable, 1)
    # a header declaring 80 GB of pixels in a 200-byte file: refused from the header, never allocated
    b.add_image("image-npy-lying-header", "l.npy", npy_bytes(np.zeros(1), descr="<f8", shape=(100_000, 100_000),
                                                             data=b"\0" * 64), [("MPI005", E, Q_IMAGE)], 1)
    metric = [("MPI016", W, Q_IMAGE)]
    b.add_image("image-all-nan", "nan.npy", npy_bytes(np.full((40, 24), np.nan)), metric, 0)
    b.add_image("image-all-zero", "zero.npy", npy_bytes(np.zeros((40, 24))), metric, 0)
    b.add_image("image-all-inf", "inf.npy", npy_bytes(np.full((40, 24), np.inf)), metric, 0)
    b.add_image("image-2x2", "tiny.npy", npy_bytes(np.array([[100.0, 50.0], [20.0, 30.0]])), metric, 0)
    huge = np.zeros((40, 24))
    huge[20] = 1e308
    b.add_image("image-1e308", "huge.npy", npy_bytes(huge), metric, 0)
    b.add_image("image-dicom-not-dicom", "scan.dcm", b"This is not a DICOM file.\n" * 20, unusable, 1, fmt="dicom")
    b.add_image("image-dicom-empty", "empty.dcm", b"", unusable, 1, fmt="dicom")
    b.add_image("image-tiff-garbage", "x.tif", b"II*\x00" + bytes(range(256)) * 4, unusable, 1, fmt="tiff")
    b.add_image("image-mdf-not-hdf5", "x.mdf", b"\x89HDF\r\n\x1a\n" + b"\0" * 100, unusable, 1, fmt="mdf")
    b.add_image("image-mdf-without-reconstruction", "x.h5", lambda: _h5(without_reconstruction=True), unusable, 1,
                fmt="mdf")
    b.add_image("image-mdf-reconstruction-group-only", "y.h5", lambda: _h5(without_reconstruction=False), unusable, 1,
                fmt="mdf")
    # over the image limit that the case's own mpistd.toml sets (1 MiB): a compressed TIFF whose
    # pixels decode to 32 MiB is refused from its header (MPI005), before decoding
    b.add_image("image-tiff-decompression-bomb", "bomb.tif", _tiff_bomb, [("MPI005", E, Q_IMAGE)], 1,
                fmt="tiff", setup=lambda d: (d / "mpistd.toml").write_text("[limits]\nimage_mib = 1\n"))


def _h5(*, without_reconstruction: bool) -> bytes:
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.attrs["version"] = "2.0"
        f.create_group("measurement").create_dataset("data", data=np.zeros((1, 1, 1, 8)))
        if not without_reconstruction:
            f.create_group("reconstruction")  # the group, but no data or size in it
    return buf.getvalue()


def _tiff_good() -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, phantom())
    return buf.getvalue()


def _mdf_good() -> bytes:
    """MDF v2 reconstruction data: frames × voxels × channels, voxels x fastest (2D: Ny = 1)."""
    import h5py

    img = phantom()  # (z, x) = (40, 24)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["version"] = "2.1.0"  # a dataset (MDF.tex, Data (group: /)), never an attribute
        rec = f.create_group("reconstruction")
        rec.create_dataset("data", data=img.reshape(1, -1, 1))
        rec.create_dataset("size", data=np.array([24, 1, 40]))
        rec.create_dataset("fieldOfView", data=np.array([0.012, 0.0005, 0.020]))
    return buf.getvalue()


def _tiff_bomb() -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.zeros((2048, 2048), dtype=np.float64), compression="zlib")
    return buf.getvalue()


# ------------------------------------------------------------------------------------ paths


def _paths(b: _Builder) -> None:
    canary = b.canary
    escape_q = [("MPI014", E, f"{Q_IMAGE}/path")]
    # lexically outside: refused by the loader before anything is opened (MPI014, at the path)
    b.add_image("path-dotdot", "", None, escape_q, 1, path="../../outside/canary.npy")
    b.add_image("path-dotdot-inner", "", None, escape_q, 1, path="images/../../../outside/canary.npy")
    b.add_image("path-absolute", "", None, escape_q, 1, path=str(canary))
    b.add_image("path-drive-letter", "", None, escape_q, 1, path="C:/Windows/win.ini")
    b.add_image("path-unc", "", None, escape_q, 1, path="//server/share/canary.npy")
    # a backslash is not a separator here (and a trick on Windows): refused by the loader
    b.add_image("path-backslash", "", None, escape_q, 1, path="images\\canary.npy")
    # symlinks resolved: a link (file or directory) that leads outside is refused before opening
    b.add_image("path-symlink-file-out", "", None, escape_q, 1, path="images/link.npy",
                setup=lambda d: _symlink(d / "images" / "link.npy", canary))
    b.add_image("path-symlink-relative-out", "", None, escape_q, 1, path="images/link.npy",
                setup=lambda d: _symlink(d / "images" / "link.npy", Path(os.path.relpath(canary, d / "images"))))
    b.add_image("path-symlink-dir-out", "", None, escape_q, 1, path="images/canary.npy",
                setup=lambda d: _symlink(d / "images", canary.parent))
    b.add_image("path-symlink-replicate-out", "", None, [("MPI014", E, f"{R_IMAGE}/path")], 1,
                on="replicate", path="images/link.npy",
                setup=lambda d: _symlink(d / "images" / "link.npy", canary))
    b.add_image("path-symlink-dev-zero", "", None, escape_q, 1, path="images/zero.npy",
                setup=lambda d: _symlink(d / "images" / "zero.npy", Path("/dev/zero")))
    b.add_image("path-symlink-loop", "", None, escape_q, 1, path="images/loop.npy",
                setup=lambda d: _symlink(d / "images" / "loop.npy", Path("loop.npy")))
    good = npy_bytes(phantom())

    def inside(d: Path) -> None:
        (d / "images").mkdir(exist_ok=True)
        (d / "images" / "real.npy").write_bytes(good)
        _symlink(d / "images" / "link.npy", Path("real.npy"))

    b.add_image("path-symlink-inside", "", None, [], 0, path="images/link.npy", setup=inside,
                note="control: a symlink that stays inside the folder is followed")
    b.add_image("path-directory", "", None, escape_q, 1, path="images",
                setup=lambda d: (d / "images").mkdir(exist_ok=True))
    b.add_image("path-missing", "", None, escape_q, 1, path="images/nowhere.npy")
    if hasattr(os, "mkfifo"):
        # opening a FIFO would block forever: it must be refused from its stat, never opened
        b.add_image("path-fifo", "", None, escape_q, 1, path="images/fifo.npy", setup=_fifo)


def _symlink(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


def _fifo(d: Path) -> None:
    (d / "images").mkdir(exist_ok=True)
    os.mkfifo(d / "images" / "fifo.npy")
