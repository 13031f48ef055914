"""Import a spreadsheet of calibration measurements into a standard document (`mpistd import`).

Most calibration data lives in a spreadsheet with one row per replicate measurement. This
module turns such a table (CSV or XLSX) plus a small metadata file (YAML or JSON) into a
`schema_version "1.0"` document, converting every unit into the canonical unit the
standard writes into the field name (the standard, "Conventions": the document never
carries a free-form unit field).

The metadata file holds everything that is not one row per replicate, with the standard's
names: ``dataset``, ``tracers``, ``acquisitions``, ``analysis`` (may be omitted: ``{}``),
optional ``quantifications``, and ``calibrations``: the calibration headers (``id``,
``tracer``, ``acquisition``, ``environment``, ``method``, ``independent_variable``,
``final_volume_uL``, ``paired_with``, ``fits``) without their points. A single calibration
may be given as ``calibration:`` (a mapping) instead.

Table columns (header row first; names are case-insensitive, spaces may stand for
underscores; the unit goes in square brackets after the name):

==========================  =========  ========================================================
column                      level      meaning (document field)
==========================  =========  ========================================================
``calibration``             point      calibration id (may be omitted when the metadata has one)
``sample_id``               point      required; rows with the same (calibration, sample_id)
                                       are the replicates of one point
``iron_mass [unit]``        point      iron mass, a mass (→ ``iron_mass_ug``, µg)
``volume [unit]``           point      sample volume (→ ``volume_uL``, µL)
``concentration [unit]``    point      iron concentration, mass/volume or mol/volume of Fe
                                       (→ ``concentration_ug_per_uL``, µg/µL)
``interparticle_distance``  point      as the authors report it, with a unit
                                       (→ ``interparticle_distance_nm``, nm)
``cell_count``              point      number of cells (a whole number)
``iron_mass_method``        point      icp-oes | icp-ms | ferrozine | nominal | manufacturer
``max_intensity``           replicate  maximum pixel (scanner units; a bracketed label is ignored)
``total_intensity``         replicate  total intensity (a.u.; label ignored)
``mean_intensity``          replicate  mean ROI intensity (pixel units; label ignored)
``fwhm [unit]``             replicate  a length (→ ``fwhm_mm``, mm)
``roi_area [unit]``         replicate  an area (→ ``roi_area_mm2``, mm²)
``roi_volume [unit]``       replicate  a volume, 3D (→ ``roi_volume_mm3``, mm³)
``holder_position``         replicate  sample holder position (text)
``x-…``                     replicate  lab-specific extension, copied as is
==========================  =========  ========================================================

A column may also carry the canonical field name itself (``iron_mass_ug``, ``volume_uL``, …)
with no brackets. Units are read with pint: ``ug``, ``µg`` and ``μg`` are all micrograms,
``uL``/``µL``/``ul`` microlitres, ``mm2``/``mm^2``/``mm²`` square millimetres; a standalone
``Fe`` is ignored (``mg Fe/mL``); a molar concentration (``mmol/L``, ``mM``) is converted with
the molar mass of iron, 55.845 g/mol. The same field may appear in several columns with
different units (``iron_mass [mg]`` for one calibration, ``iron_mass [µg]`` for another): each
row uses the one it fills (two filled cells must agree). A cell may carry its own unit
(``0.2 mL``), which then overrides the header's. In a semicolon-separated CSV (a European
spreadsheet export) a decimal comma is accepted. Rows are numbered as the spreadsheet shows
them (the header is usually row 1); fully empty rows are skipped.

Every problem raises :class:`TableImportError` naming the row and column. The input files are
only read.
"""
from __future__ import annotations

import copy
import io
import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "1.0"
IRON_MOLAR_MASS_G_PER_MOL = 55.845  # Fe, to read molar concentrations (MDF stores mol/L)


class TableImportError(ValueError):
    """A table or metadata file that cannot be imported; ``row``/``column`` say where."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None) -> None:
        self.message = message
        self.row = row
        self.column = column
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


@dataclass(frozen=True)
class _Field:
    name: str  # the documented column name
    key: str  # the document field it fills
    level: str  # "point" | "replicate" | "calibration"
    kind: str  # "quantity" | "number" | "count" | "text"
    unit: str | None = None  # canonical pint unit (quantity fields)
    what: str = ""  # "a mass": for "kilogram is not a volume"


FIELDS: dict[str, _Field] = {
    f.name: f
    for f in (
        _Field("calibration", "calibration", "calibration", "text"),
        _Field("sample_id", "sample_id", "point", "text"),
        _Field("iron_mass", "iron_mass_ug", "point", "quantity", "microgram", "a mass"),
        _Field("iron_mass_method", "iron_mass_method", "point", "text"),
        _Field("volume", "volume_uL", "point", "quantity", "microliter", "a volume"),
        _Field("concentration", "concentration_ug_per_uL", "point", "quantity", "microgram / microliter", "a mass concentration"),
        _Field("interparticle_distance", "interparticle_distance_nm", "point", "quantity", "nanometer", "a length"),
        _Field("cell_count", "cell_count", "point", "count"),
        _Field("max_intensity", "max_intensity", "replicate", "number"),
        _Field("total_intensity", "total_intensity", "replicate", "number"),
        _Field("mean_intensity", "mean_intensity", "replicate", "number"),
        _Field("roi_area", "roi_area_mm2", "replicate", "quantity", "millimeter ** 2", "an area"),
        _Field("roi_volume", "roi_volume_mm3", "replicate", "quantity", "millimeter ** 3", "a volume"),
        _Field("fwhm", "fwhm_mm", "replicate", "quantity", "millimeter", "a length"),
        _Field("holder_position", "holder_position", "replicate", "text"),
    )
}
#: canonical field names accepted as column names, with their unit implied
_CANONICAL_NAMES = {f.key.lower(): f for f in FIELDS.values() if f.kind == "quantity"}
METRIC_COLUMNS = ("max_intensity", "total_intensity", "mean_intensity", "fwhm", "roi_area", "roi_volume")
_POINT_ORDER = ("sample_id", "iron_mass_ug", "iron_mass_method", "volume_uL", "concentration_ug_per_uL",
                "interparticle_distance_nm", "cell_count")
_REPLICATE_ORDER = ("max_intensity", "total_intensity", "mean_intensity", "roi_area_mm2", "roi_volume_mm3",
                    "fwhm_mm", "holder_position")
_TOP_ORDER = ("schema_version", "dataset", "tracers", "acquisitions", "analysis", "calibrations", "quantifications")
_IRON_MASS_METHODS = ("icp-oes", "icp-ms", "ferrozine", "nominal", "manufacturer")
_INDEPENDENT_COLUMN = {"iron_mass_ug": "iron_mass", "cell_count": "cell_count"}

_HEADER = re.compile(r"^(?P<name>[^\[\]()]*?)\s*(?:[\[(](?P<unit>[^\[\]()]*)[\])])?\s*$")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER_WITH_UNIT = re.compile(rf"^(?P<value>{_NUMBER})\s*(?P<unit>[^\d\s.+-].*?)\s*$")
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+(?:[eE][-+]?\d+)?$")


def import_table(
    table_path: str | Path, metadata_path: str | Path, *, sheet: str | int | None = None
) -> dict[str, Any]:
    """A standard document built from a replicate table and a metadata file.

    ``sheet`` picks the XLSX worksheet (name or 0-based index; default the first). Raises
    :class:`TableImportError` for anything that cannot be imported.
    """
    metadata = load_metadata(metadata_path)
    calibrations = _metadata_calibrations(metadata)
    header, rows, decimal_comma = _read_table(Path(table_path), sheet)
    columns = _columns(header, calibrations)
    points = _points(columns, rows, calibrations, decimal_comma)
    return _document(metadata, calibrations, points)


# --------------------------------------------------------------------------- metadata


def load_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata mapping from a YAML or JSON file (YAML dates stay strings)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TableImportError(f"metadata file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TableImportError(f"cannot read metadata file {str(path)!r}: {exc}") from None
    if not text.strip():
        raise TableImportError(f"metadata file {str(path)!r} is empty")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TableImportError(f"metadata file {str(path)!r} is not valid JSON: {exc}") from None
    else:
        import yaml

        try:
            data = yaml.load(text, Loader=_string_date_loader())  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise TableImportError(f"metadata file {str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TableImportError(f"metadata file {str(path)!r} must hold a mapping (dataset, tracers, acquisitions, calibrations)")
    return data


@cache
def _string_date_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        """Safe YAML whose dates stay strings, as the standard reads datasets."""

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


def _metadata_calibrations(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    version = metadata.get("schema_version", SCHEMA_VERSION)
    if str(version) not in (SCHEMA_VERSION,):
        raise TableImportError(f"metadata schema_version {version!r}: this importer writes version {SCHEMA_VERSION!r}")
    missing = [k for k in ("dataset", "tracers", "acquisitions") if k not in metadata]
    if "calibrations" not in metadata and "calibration" not in metadata:
        missing.append("calibrations")
    if missing:
        raise TableImportError(
            "metadata lacks " + ", ".join(repr(m) for m in missing)
            + f" (found: {', '.join(repr(k) for k in metadata) or 'nothing'}); `mpistd init` writes a template"
        )
    if "calibrations" in metadata and "calibration" in metadata:
        raise TableImportError("metadata has both 'calibration' and 'calibrations'; use one")
    raw = metadata.get("calibrations", metadata.get("calibration"))
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(c, dict) for c in raw):
        raise TableImportError("metadata 'calibrations' must be a non-empty list of calibration headers (mappings)")
    seen: set[str] = set()
    for i, calibration in enumerate(raw):
        cid = calibration.get("id")
        if not isinstance(cid, str) or not cid:
            raise TableImportError(f"metadata calibration #{i + 1} has no 'id'")
        if cid in seen:
            raise TableImportError(f"metadata calibration id {cid!r} appears twice")
        seen.add(cid)
    return raw


# --------------------------------------------------------------------------- reading


def _read_table(path: Path, sheet: str | int | None) -> tuple[list[Any], list[tuple[int, list[Any]]], bool]:
    """(header cells, [(spreadsheet row number, cells)], decimal comma allowed)."""
    if not path.exists():
        raise TableImportError(f"table {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    import pandas as pd

    decimal_comma = False
    if suffix in (".xlsx", ".xlsm"):
        try:
            frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, header=None, dtype=object, engine="openpyxl")
        except ValueError as exc:  # unknown sheet
            raise TableImportError(f"cannot read {str(path)!r}: {exc}") from None
        except Exception as exc:  # a corrupt workbook: openpyxl/zipfile raise many kinds
            raise TableImportError(f"cannot read {str(path)!r} as an XLSX workbook: {exc}") from None
    elif suffix in (".csv", ".tsv", ".txt"):
        raw = path.read_bytes()
        if not raw.strip():
            raise TableImportError(f"table {str(path)!r} is empty")
        text = _decode(raw)
        delimiter = "\t" if suffix == ".tsv" else _delimiter(text)
        decimal_comma = delimiter == ";"
        # pandas takes the number of fields from the first line, so leading blank lines go;
        # `offset` keeps the row numbers the spreadsheet shows
        lines = text.splitlines(keepends=True)
        offset = next(i for i, line in enumerate(lines) if line.strip())
        try:
            frame = pd.read_csv(
                io.StringIO("".join(lines[offset:])), sep=delimiter, header=None, dtype=str,
                keep_default_na=False, skip_blank_lines=False, engine="python",
            )
        except pd.errors.EmptyDataError:
            raise TableImportError(f"table {str(path)!r} is empty") from None
        except pd.errors.ParserError as exc:
            message = re.sub(r"line (\d+)", lambda m: f"row {int(m.group(1)) + offset}", str(exc))
            raise TableImportError(f"table {str(path)!r} is not a well-formed CSV: {message}") from None
        frame.index = frame.index + offset
    elif suffix == ".xls":
        raise TableImportError(f"{str(path)!r}: the old .xls format is not read; save it as .xlsx or .csv")
    else:
        raise TableImportError(f"{str(path)!r}: unknown table format {suffix or '(no suffix)'!r}; use .csv or .xlsx")

    rows = [(int(i) + 1, list(values)) for i, values in zip(frame.index, frame.itertuples(index=False, name=None))]
    rows = [(n, cells) for n, cells in rows if not all(_blank(c) for c in cells)]
    if not rows:
        raise TableImportError(f"table {str(path)!r} is empty")
    (_, header), data = rows[0], rows[1:]
    if not data:
        raise TableImportError(f"table {str(path)!r} has a header row but no data rows")
    return header, data, decimal_comma


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page, where µ is byte 0xB5.
        return raw.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return not value.strip()
    import pandas as pd  # already loaded: the table was read with it

    try:  # pandas.NA, NaT
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class _Column:
    index: int
    header: str  # as written
    field: _Field | None  # None: an x- extension column
    unit: str | None  # as written (quantity fields)
    factor: float = 1.0  # header unit → canonical
    extension: str | None = None


def _columns(header: list[Any], calibrations: list[dict[str, Any]]) -> list[_Column]:
    columns: list[_Column] = []
    unknown: list[str] = []
    found: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    for index, cell in enumerate(header):
        if _blank(cell):
            continue  # an unnamed column: checked below for stray values
        text = str(cell).strip()
        found.append(text)
        if text.lower().startswith("x-"):
            columns.append(_Column(index, text, None, None, extension=text))
            continue
        match = _HEADER.match(text)
        name = re.sub(r"[\s\-]+", "_", match.group("name").strip().lower()) if match else ""
        unit = match.group("unit").strip() if match and match.group("unit") is not None else None
        if name in FIELDS:
            field = FIELDS[name]
        elif name in _CANONICAL_NAMES and unit is None:  # volume_uL: the unit is in the name
            field, unit = _CANONICAL_NAMES[name], _CANONICAL_NAMES[name].unit
        else:
            unknown.append(text)
            continue
        factor = 1.0
        if field.kind == "quantity":
            if unit is None or not unit:
                raise TableImportError(
                    f"{field.name} needs its unit in square brackets, e.g. '{field.name} [{_example_unit(field)}]'",
                    column=text,
                )
            factor = _factor(unit, field, text)
        elif unit is not None and field.kind != "number":
            # intensities are in the scanner's arbitrary units: a label like [a.u.] is fine
            raise TableImportError(f"{field.name} takes no unit", column=text)
        key = (field.name, _unit_key(unit, field))
        if key in seen:
            raise TableImportError(f"the column appears twice (also as {seen[key]!r})", column=text)
        seen[key] = text
        columns.append(_Column(index, text, field, unit, factor))

    present = {c.field.name for c in columns if c.field}
    missing = []
    if "sample_id" not in present:
        missing.append("sample_id")
    if "calibration" not in present and len(calibrations) > 1:
        missing.append("calibration")
    if not present & set(METRIC_COLUMNS):
        missing.append("one of " + ", ".join(METRIC_COLUMNS))
    for variable in sorted({str(c.get("independent_variable")) for c in calibrations}):
        column = _INDEPENDENT_COLUMN.get(variable)
        if column is None:
            if not present & {"iron_mass", "cell_count"}:
                missing.append("iron_mass [unit] or cell_count")
        elif column not in present:
            missing.append(column + (" [unit]" if FIELDS[column].kind == "quantity" else ""))
    if missing:
        raise TableImportError(
            "missing required column(s): " + "; ".join(repr(m) if not m.startswith("one of") else m for m in missing)
            + "; found: " + (", ".join(repr(f) for f in found) or "no named columns")
        )
    if unknown:
        raise TableImportError(
            "unknown column(s): " + ", ".join(repr(u) for u in unknown)
            + "; known columns: " + ", ".join(_documented_name(f) for f in FIELDS.values())
            + "; name a lab-specific column 'x-…' to keep it"
        )
    named = {c.index for c in columns}
    return sorted(columns, key=lambda c: c.index) + [
        _Column(i, "", None, None) for i in range(len(header)) if i not in named
    ]


def _documented_name(field: _Field) -> str:
    return f"{field.name} [unit]" if field.kind == "quantity" else field.name


def _example_unit(field: _Field) -> str:
    return {"iron_mass": "ug", "volume": "uL", "concentration": "mg/mL", "interparticle_distance": "nm",
            "roi_area": "mm2", "roi_volume": "mm3", "fwhm": "mm"}.get(field.name, "")


def _unit_key(unit: str | None, field: _Field) -> str:
    if field.kind != "quantity" or unit is None:
        return ""
    return str(_parse_unit(unit, field, None))


# --------------------------------------------------------------------------- units


@cache
def _registry():
    import pint

    return pint.UnitRegistry()


def _clean_unit(unit: str) -> str:
    text = unit.strip()
    text = re.sub(r"(?<![A-Za-z])Fe(?![A-Za-z])", " ", text)  # "mg Fe/mL": the Fe is a label
    text = text.replace("μ", "u").replace("µ", "u")  # Greek mu (U+03BC) and micro sign (U+00B5)
    text = text.replace("²", "^2").replace("³", "^3").replace("·", "*").replace("⁻", "^-")
    text = re.sub(r"(?<=[A-Za-z])([23])(?![\d.])", r"^\1", text)  # mm2 → mm^2
    return re.sub(r"\s*/\s*", "/", text).strip()


def _parse_unit(unit: str, field: _Field, column: str | None, row: int | None = None):
    import pint

    registry = _registry()
    cleaned = _clean_unit(unit)
    label = column if column is not None else unit
    try:
        parsed = registry.Unit(cleaned) if cleaned else None
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, AttributeError, TypeError,
            ValueError, AssertionError, SyntaxError):
        parsed = None
    except Exception:  # pint's parser raises assorted errors on garbage; all mean "unknown unit"
        parsed = None
    if parsed is None:
        raise TableImportError(f"unknown unit {unit!r} (expected {field.what}, e.g. {_example_unit(field)!r})",
                               row=row, column=label)
    return parsed


def _factor(unit: str, field: _Field, column: str | None, row: int | None = None) -> float:
    """Multiplier from ``unit`` to the field's canonical unit."""
    registry = _registry()
    parsed = _parse_unit(unit, field, column, row)
    quantity = registry.Quantity(1.0, parsed)
    canonical = registry.Unit(field.unit)
    if quantity.dimensionality == canonical.dimensionality:
        return float(quantity.to(canonical).magnitude)
    molar = registry.Quantity(IRON_MOLAR_MASS_G_PER_MOL, "g/mol")
    if (quantity * molar).dimensionality == canonical.dimensionality:  # amount of Fe → mass of Fe
        return float((quantity * molar).to(canonical).magnitude)
    raise TableImportError(f"{parsed} is not {field.what}", row=row, column=column)


def _round(value: float) -> float:
    # Unit conversion in binary floating point leaves noise (0.0155 mg → 15.499999999999998 µg);
    # 12 significant digits is far beyond any measurement and removes it.
    value = float(f"{value:.12g}")
    return 0.0 if value == 0 else value


# --------------------------------------------------------------------------- cells


def _number(value: Any, column: _Column, row: int, decimal_comma: bool) -> float:
    """A finite number from a cell, in the column's canonical unit."""
    field = column.field
    assert field is not None
    if isinstance(value, bool):
        raise TableImportError(f"{value!r} is not a number", row=row, column=column.header)
    if isinstance(value, (int, float)) or _is_numpy_number(value):
        number, factor = float(value), column.factor
    else:
        text = str(value).strip()
        if decimal_comma and _DECIMAL_COMMA.match(text):
            text = text.replace(",", ".")
        try:
            number, factor = float(text), column.factor
        except ValueError:
            match = _NUMBER_WITH_UNIT.match(text)
            if field.kind == "quantity" and match:
                number = float(match.group("value"))
                factor = _factor(match.group("unit"), field, column.header, row)
            else:
                hint = " (use a decimal point)" if re.fullmatch(r"[-+]?\d+,\d+", text) else ""
                raise TableImportError(f"{text!r} is not a number{hint}", row=row, column=column.header) from None
    if not math.isfinite(number):
        raise TableImportError(f"{value!r} is not a finite number", row=row, column=column.header)
    return _round(number * factor)


def _is_numpy_number(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind in "iuf"


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores sample 1 as 1.0
    if _is_numpy_number(value):
        return _text(value.item())
    return str(value).strip()


def _value(value: Any, column: _Column, row: int, decimal_comma: bool) -> Any:
    field = column.field
    assert field is not None
    if field.kind in ("quantity", "number"):
        return _number(value, column, row, decimal_comma)
    if field.kind == "count":
        number = _number(value, column, row, decimal_comma)
        if not number.is_integer() or number < 0:
            raise TableImportError(f"{_text(value)!r} is not a whole number of cells", row=row, column=column.header)
        return int(number)
    text = _text(value)
    if field.name == "iron_mass_method" and text.lower() in _IRON_MASS_METHODS:
        text = text.lower()  # "ICP-OES" as a lab writes it → the standard's "icp-oes"
    return text


def _extension_value(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) or _is_numpy_number(value):
        number = float(value)
        return int(number) if number.is_integer() else number
    return str(value).strip()


# --------------------------------------------------------------------------- rows → points


@dataclass
class _Point:
    calibration: str
    first_row: int
    values: dict[str, tuple[Any, int, str]]  # key → (value, row, column)
    replicates: list[dict[str, Any]]


def _points(
    columns: list[_Column], rows: list[tuple[int, list[Any]]], calibrations: list[dict[str, Any]], decimal_comma: bool
) -> dict[str, list[_Point]]:
    ids = [c["id"] for c in calibrations]
    points: dict[tuple[str, str], _Point] = {}
    by_calibration: dict[str, list[_Point]] = {cid: [] for cid in ids}
    for row, cells in rows:
        point_values: dict[str, tuple[Any, str]] = {}
        replicate: dict[str, Any] = {}
        extensions: dict[str, Any] = {}
        calibration_id: str | None = None
        for column in columns:
            cell = cells[column.index] if column.index < len(cells) else None
            if _blank(cell):
                continue
            if column.field is None:
                if column.extension is None:
                    raise TableImportError(f"value {_text(cell)!r} in a column without a name", row=row,
                                           column=f"#{column.index + 1}")
                extensions[column.extension] = _extension_value(cell)
                continue
            value = _value(cell, column, row, decimal_comma)
            field = column.field
            if field.level == "calibration":
                calibration_id = value
                continue
            target = point_values if field.level == "point" else replicate
            if field.key in target:
                previous = target[field.key] if field.level == "replicate" else target[field.key][0]
                other = next(c.header for c in columns if c.field is field and c is not column and not _blank(
                    cells[c.index] if c.index < len(cells) else None))
                if not _same(previous, value):
                    raise TableImportError(f"{value} {_unit_label(field)} disagrees with {other!r} "
                                           f"({previous} {_unit_label(field)}); fill one of them",
                                           row=row, column=column.header)
                continue
            if field.level == "point":
                point_values[field.key] = (value, column.header)
            else:
                replicate[field.key] = value

        if calibration_id is None:
            if len(ids) > 1:
                raise TableImportError("no calibration id", row=row, column=_header_of(columns, "calibration"))
            calibration_id = ids[0]
        if calibration_id not in by_calibration:
            raise TableImportError(
                f"calibration {calibration_id!r} is not in the metadata (known: {', '.join(map(repr, ids))})",
                row=row, column=_header_of(columns, "calibration"),
            )
        if "sample_id" not in point_values:
            raise TableImportError("no sample_id", row=row, column=_header_of(columns, "sample_id"))
        if not any(k in replicate for k in ("max_intensity", "total_intensity", "mean_intensity", "roi_area_mm2",
                                            "roi_volume_mm3", "fwhm_mm")):
            raise TableImportError("the row has no measurement (max_intensity, total_intensity, mean_intensity, "
                                   "fwhm, roi_area or roi_volume)", row=row)
        replicate.update(extensions)

        sample_id = point_values["sample_id"][0]
        point = points.get((calibration_id, sample_id))
        if point is None:
            point = points[(calibration_id, sample_id)] = _Point(calibration_id, row, {}, [])
            by_calibration[calibration_id].append(point)
        for key, (value, header) in point_values.items():
            if key in point.values and not _same(point.values[key][0], value):
                earlier, earlier_row, _ = point.values[key]
                raise TableImportError(
                    f"{key} {value!r} differs from row {earlier_row} ({earlier!r}) for the same point "
                    f"(calibration {calibration_id!r}, sample {sample_id!r})", row=row, column=header,
                )
            point.values.setdefault(key, (value, row, header))
        point.replicates.append(replicate)
    return by_calibration


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
        except (TypeError, ValueError):
            return False
    return a == b


def _unit_label(field: _Field) -> str:
    return {"microgram": "µg", "microliter": "µL", "microgram / microliter": "µg/µL", "nanometer": "nm",
            "millimeter ** 2": "mm²", "millimeter ** 3": "mm³", "millimeter": "mm"}.get(field.unit or "", "")


def _header_of(columns: list[_Column], name: str) -> str | None:
    return next((c.header for c in columns if c.field is not None and c.field.name == name), None)


# --------------------------------------------------------------------------- document


def _document(
    metadata: dict[str, Any], calibrations: list[dict[str, Any]], points: dict[str, list[_Point]]
) -> dict[str, Any]:
    metadata = copy.deepcopy(metadata)  # the caller's mapping is never changed
    calibrations = copy.deepcopy(calibrations)
    built: list[dict[str, Any]] = []
    for header in calibrations:
        cid = header["id"]
        rows = points[cid]
        if rows and "points" in header:
            raise TableImportError(f"calibration {cid!r} has points both in the metadata and in the table")
        if not rows and "points" not in header:
            raise TableImportError(f"calibration {cid!r} has no rows in the table")
        independent = header.get("independent_variable")
        column = _INDEPENDENT_COLUMN.get(str(independent))
        for point in rows:
            if column and FIELDS[column].key not in point.values:
                raise TableImportError(
                    f"point {point.values['sample_id'][0]!r} of calibration {cid!r} has no {column} "
                    f"(its independent variable is {independent})", row=point.first_row,
                )
        calibration: dict[str, Any] = {}
        for key, value in header.items():
            if key == "fits" and rows:
                calibration["points"] = [_point_dict(p) for p in rows]
            calibration[key] = value
        if rows and "points" not in calibration:
            calibration["points"] = [_point_dict(p) for p in rows]
        built.append(calibration)

    document: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    rest = {k: v for k, v in metadata.items() if k not in ("schema_version", "calibration", "calibrations")}
    rest.setdefault("analysis", {})
    rest["calibrations"] = built
    for key in _TOP_ORDER[1:]:
        if key in rest:
            document[key] = rest.pop(key)
    document.update(rest)
    return document


def _point_dict(point: _Point) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _POINT_ORDER:
        if key in point.values:
            out[key] = point.values[key][0]
    out["replicates"] = [{k: r[k] for k in _REPLICATE_ORDER if k in r} | {k: v for k, v in r.items() if k.startswith("x-")}
                         for r in point.replicates]
    return out
