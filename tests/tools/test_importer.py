"""`mpistd import`: a spreadsheet as a new user makes it, with units mixed, into a document."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mpistd.tools.importer import TableImportError, import_table

ROOT = Path(__file__).resolve().parents[2]

METADATA = {
    "dataset": {"id": "promag-import", "title": "ProMag, imported from a spreadsheet", "created": "2025-07-17"},
    "tracers": [{"id": "promag", "name": "ProMag"}],
    "acquisitions": [{"id": "hs-2d", "scanner": {"manufacturer": "Magnetic Insight", "model": "Momentum"}}],
    "calibrations": [
        {"id": "promag-fc", "tracer": "promag", "acquisition": "hs-2d",
         "environment": {"kind": "solution", "medium": "water"},
         "method": "fixed_concentration", "independent_variable": "iron_mass_ug",
         "fits": [{"metric": "max_intensity", "slope": 212.0}]},
        {"id": "promag-fv", "tracer": "promag", "acquisition": "hs-2d",
         "environment": {"kind": "solution", "medium": "water"},
         "method": "fixed_volume", "final_volume_uL": 200, "paired_with": "promag-fc",
         "independent_variable": "iron_mass_ug"},
    ],
}

METADATA_YAML = """\
dataset:
  id: promag-import
  title: ProMag, imported from a spreadsheet
  created: 2025-07-17          # unquoted: must stay the string "2025-07-17"
tracers: [{id: promag, name: ProMag}]
acquisitions: [{id: hs-2d, scanner: {manufacturer: Magnetic Insight, model: Momentum}}]
calibrations:
  - id: promag-fc
    tracer: promag
    acquisition: hs-2d
    environment: {kind: solution, medium: water}
    method: fixed_concentration
    independent_variable: iron_mass_ug
    fits: [{metric: max_intensity, slope: 212.0}]
  - id: promag-fv
    tracer: promag
    acquisition: hs-2d
    environment: {kind: solution, medium: water}
    method: fixed_volume
    final_volume_uL: 200
    paired_with: promag-fc
    independent_variable: iron_mass_ug
"""

# What a new user types: the FC series weighed in mg and pipetted in µL, the FV series in µg
# and mL; sample ids repeated on each replicate row; the method in capitals; intensities
# with a label unit; the µ typed three ways; a notes column kept as an x- extension.
HEADER = ["calibration", "Sample ID", "iron_mass [mg]", "iron_mass [µg]", "volume [uL]", "volume [mL]",
          "concentration [mg/mL]", "iron_mass_method", "max_intensity [a.u.]", "total_intensity",
          "fwhm [mm]", "roi_area [mm2]", "holder_position", "x-notes"]
ROWS = [
    ["promag-fc", "FC-1", 0.0031, "", 2, "", 1.55, "ICP-OES", 651.2, 6186.4, 3.9, 20.5, 3, "first"],
    ["promag-fc", "FC-1", 0.0031, "", 2, "", 1.55, "ICP-OES", 671.2, 6376.4, 3.8, 20.0, 3, ""],
    ["promag-fc", "FC-2", 0.0155, "", 10, "", 1.55, "icp-oes", 3276.0, 31122.0, 4.0, 21.0, 3, ""],
    ["promag-fc", "FC-2", "", "", "", "", "", "", 3300.0, 31350.0, 4.1, 21.5, 3, ""],
    ["promag-fv", "FV-20x", "", 15.5, "", 0.2, 0.0775, "icp-oes", 2980.5, 29001.0, 4.4, 24.0, 3, ""],
    ["promag-fv", "FV-20x", "", 15.5, "", 0.2, 0.0775, "icp-oes", 3010.5, 29301.0, 4.5, 24.5, 3, ""],
    ["promag-fv", "FV-40x", "", "7.75 μg", "", "200 µL", 0.03875, "icp-oes", 1490.0, 14600.0, 4.6, 25.0, 3, ""],
]


def write_csv(path: Path, header: list, rows: list[list], **kw) -> Path:
    with path.open("w", newline="", encoding=kw.pop("encoding", "utf-8")) as fh:
        csv.writer(fh, **kw).writerows([header, *rows])
    return path


def write_xlsx(path: Path, header: list, rows: list[list]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append([None if v == "" else v for v in row])
    wb.save(path)
    return path


@pytest.fixture
def metadata(tmp_path: Path) -> Path:
    path = tmp_path / "metadata.yaml"
    path.write_text(METADATA_YAML, encoding="utf-8")
    return path


def check_document(doc: dict) -> None:
    assert doc["schema_version"] == "1.0"
    assert list(doc) == ["schema_version", "dataset", "tracers", "acquisitions", "analysis", "calibrations"]
    assert doc["analysis"] == {}
    assert doc["dataset"]["created"] == "2025-07-17"  # YAML date kept as text
    fc, fv = doc["calibrations"]
    assert list(fc) == ["id", "tracer", "acquisition", "environment", "method", "independent_variable", "points", "fits"]
    assert [p["sample_id"] for p in fc["points"]] == ["FC-1", "FC-2"]
    assert [p["sample_id"] for p in fv["points"]] == ["FV-20x", "FV-40x"]

    fc1, fc2 = fc["points"]
    # by hand: 0.0031 mg = 3.1 µg; 2 µL stays 2 µL; 1.55 mg/mL = 1.55 µg/µL
    assert fc1["iron_mass_ug"] == 3.1
    assert fc1["volume_uL"] == 2.0
    assert fc1["concentration_ug_per_uL"] == 1.55
    assert fc1["iron_mass_method"] == "icp-oes"
    assert fc1["replicates"] == [
        {"max_intensity": 651.2, "total_intensity": 6186.4, "roi_area_mm2": 20.5, "fwhm_mm": 3.9,
         "holder_position": "3", "x-notes": "first"},
        {"max_intensity": 671.2, "total_intensity": 6376.4, "roi_area_mm2": 20.0, "fwhm_mm": 3.8,
         "holder_position": "3"},
    ]
    # 0.0155 mg → 15.5 µg (not 15.499999999999998); point values written once count for both rows
    assert fc2["iron_mass_ug"] == 15.5
    assert fc2["volume_uL"] == 10.0
    assert len(fc2["replicates"]) == 2

    fv20, fv40 = fv["points"]
    assert fv20["iron_mass_ug"] == 15.5  # the µg column
    assert fv20["volume_uL"] == 200.0  # 0.2 mL → 200 µL
    assert fv20["concentration_ug_per_uL"] == 0.0775  # 0.0775 mg/mL
    assert len(fv20["replicates"]) == 2
    assert fv40["iron_mass_ug"] == 7.75  # "7.75 μg" in a cell, Greek mu
    assert fv40["volume_uL"] == 200.0  # "200 µL" in a cell overrides the mL header
    assert fv40["replicates"] == [{"max_intensity": 1490.0, "total_intensity": 14600.0, "roi_area_mm2": 25.0,
                                   "fwhm_mm": 4.6, "holder_position": "3"}]
    json.dumps(doc, allow_nan=False)  # JSON-ready


def test_csv_with_mixed_units(tmp_path: Path, metadata: Path) -> None:
    table = write_csv(tmp_path / "calibration.csv", HEADER, ROWS)
    before = table.read_bytes(), metadata.read_bytes()
    doc = import_table(table, metadata)
    check_document(doc)
    assert (table.read_bytes(), metadata.read_bytes()) == before  # inputs untouched


def test_xlsx_with_mixed_units(tmp_path: Path, metadata: Path) -> None:
    table = write_xlsx(tmp_path / "calibration.xlsx", HEADER, ROWS)
    check_document(import_table(table, metadata))


def test_json_metadata_and_excel_csv_export(tmp_path: Path) -> None:
    # Excel on Windows: ANSI code page (µ is one byte), semicolons and decimal commas
    meta = tmp_path / "metadata.json"
    meta.write_text(json.dumps(METADATA), encoding="utf-8")
    rows = [[str(v).replace(".", ",") if isinstance(v, float) else str(v).replace("μ", "µ") for v in row]
            for row in ROWS]  # cp1252 has the micro sign (byte 0xB5) but no Greek mu
    table = write_csv(tmp_path / "export.csv", HEADER, rows, delimiter=";", encoding="cp1252")
    check_document(import_table(table, meta))


def test_single_calibration_needs_no_calibration_column(tmp_path: Path) -> None:
    meta = tmp_path / "m.json"
    meta.write_text(json.dumps({**METADATA, "calibrations": METADATA["calibrations"][:1]}), encoding="utf-8")
    table = write_csv(tmp_path / "t.csv", ["sample_id", "iron_mass_ug", "max_intensity"],
                      [["A", 3.1, 650], ["A", 3.1, 660], ["B", 6.2, 1300]])
    doc = import_table(table, meta)
    points = doc["calibrations"][0]["points"]
    assert [(p["sample_id"], p["iron_mass_ug"], len(p["replicates"])) for p in points] == [("A", 3.1, 2), ("B", 6.2, 1)]


def test_cell_count_and_molar_concentration(tmp_path: Path) -> None:
    cells = {"id": "cells", "tracer": "promag", "acquisition": "hs-2d", "environment": {"kind": "cells"},
             "method": "cell_number", "independent_variable": "cell_count"}
    meta = tmp_path / "m.json"
    meta.write_text(json.dumps({**METADATA, "calibrations": [cells]}), encoding="utf-8")
    table = write_csv(tmp_path / "t.csv", ["sample_id", "cell_count", "concentration [mmol/L]", "max_intensity"],
                      [["C1", "1e5", 17.91, 100.0], ["C2", 200000, "", 210.0]])
    points = import_table(table, meta)["calibrations"][0]["points"]
    assert points[0]["cell_count"] == 100000 and isinstance(points[0]["cell_count"], int)
    # 17.91 mmol/L × 55.845 g/mol = 1000.18 mg/L = 1.00018 µg/µL
    assert points[0]["concentration_ug_per_uL"] == pytest.approx(1.00018, rel=1e-5)


# ----------------------------------------------------------------------------- errors


def error_of(tmp_path: Path, metadata: Path, header: list, rows: list[list]) -> TableImportError:
    table = write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(TableImportError) as info:
        import_table(table, metadata)
    return info.value


def test_missing_column_is_named_with_what_was_found(tmp_path: Path, metadata: Path) -> None:
    err = error_of(tmp_path, metadata, ["calibration", "Sample", "iron_mass [mg]", "max_intensity"],
                   [["promag-fc", "A", 1, 2]])
    assert "missing required column(s): 'sample_id'" in str(err)
    assert "found: 'calibration', 'Sample', 'iron_mass [mg]', 'max_intensity'" in str(err)

    err = error_of(tmp_path, metadata, ["calibration", "sample_id", "max_intensity"], [["promag-fc", "A", 2]])
    assert "'iron_mass [unit]'" in str(err)


def test_incompatible_and_unknown_units(tmp_path: Path, metadata: Path) -> None:
    base = ["calibration", "sample_id", "iron_mass [ug]", "max_intensity"]
    err = error_of(tmp_path, metadata, base + ["volume [kg]"], [["promag-fc", "A", 1, 2, 3]])
    assert str(err) == "column 'volume [kg]': kilogram is not a volume"
    assert err.column == "volume [kg]" and err.row is None

    err = error_of(tmp_path, metadata, base + ["volume [blorbs]"], [["promag-fc", "A", 1, 2, 3]])
    assert "unknown unit 'blorbs' (expected a volume" in str(err)

    err = error_of(tmp_path, metadata, base + ["volume"], [["promag-fc", "A", 1, 2, 3]])
    assert "volume needs its unit in square brackets" in str(err)


def test_non_numeric_cell_names_row_and_column(tmp_path: Path, metadata: Path) -> None:
    err = error_of(tmp_path, metadata, ["calibration", "sample_id", "iron_mass [ug]", "max_intensity"],
                   [["promag-fc", "A", 1, 650], ["promag-fc", "A", 1, "n/a"]])
    assert (err.row, err.column) == (3, "max_intensity")  # the header is row 1
    assert str(err) == "row 3, column 'max_intensity': 'n/a' is not a number"


def test_conflicting_point_values_and_unknown_calibration(tmp_path: Path, metadata: Path) -> None:
    header = ["calibration", "sample_id", "iron_mass [mg]", "max_intensity"]
    err = error_of(tmp_path, metadata, header, [["promag-fc", "A", 0.0155, 650], ["promag-fc", "A", 0.015, 660]])
    assert err.row == 3 and "differs from row 2" in str(err)

    err = error_of(tmp_path, metadata, header, [["promag-xx", "A", 0.0155, 650]])
    assert err.row == 2 and "'promag-xx' is not in the metadata" in str(err)


def test_unknown_column_and_empty_files(tmp_path: Path, metadata: Path) -> None:
    err = error_of(tmp_path, metadata, ["calibration", "sample_id", "iron_mass [ug]", "max_intensity", "notes"],
                   [["promag-fc", "A", 1, 650, "x"]])
    assert "unknown column(s): 'notes'" in str(err) and "x-" in str(err)

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(TableImportError, match="is empty"):
        import_table(empty, metadata)
    header_only = write_csv(tmp_path / "h.csv", ["calibration", "sample_id", "iron_mass [ug]", "max_intensity"], [])
    with pytest.raises(TableImportError, match="no data rows"):
        import_table(header_only, metadata)


def test_template_metadata_validates_when_schema_is_present(tmp_path: Path, metadata: Path) -> None:
    """The imported document passes the standard's JSON Schema (when the schema files exist)."""
    schema_dir = ROOT / "schemas" / "1.0"
    if not (schema_dir / "dataset.schema.json").exists():
        pytest.skip("schemas/1.0 not written yet")
    import jsonschema
    from referencing import Registry, Resource

    resources = [Resource.from_contents(json.loads(p.read_text(encoding="utf-8"))) for p in schema_dir.glob("*.json")]
    registry = Registry().with_resources((r.id(), r) for r in resources if r.id())
    schema = json.loads((schema_dir / "dataset.schema.json").read_text(encoding="utf-8"))
    doc = import_table(write_csv(tmp_path / "calibration.csv", HEADER, ROWS), metadata)
    errors = sorted(jsonschema.Draft202012Validator(schema, registry=registry).iter_errors(doc), key=str)
    assert not errors, [f"{e.json_path}: {e.message}" for e in errors]
