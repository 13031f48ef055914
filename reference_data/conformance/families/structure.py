"""Vectors for MPI001–MPI005: can the document be read at all?"""
from __future__ import annotations

import json
import re

from base import base
from families.common import vector
from make_vectors import Vector

E = "error"


def _text_with_nan() -> str:
    text = json.dumps(base(), indent=2)
    # replace the first replicate's maximum by a NaN literal (not JSON)
    return re.sub(r'"max_intensity": [0-9.]+', '"max_intensity": NaN', text, count=1)


def _three_violations(doc: dict) -> None:
    doc["calibrations"][0]["points"][1]["volume_uL"] = -4.0  # minimum
    doc["tracers"][0]["core_material"] = "unobtainium"  # enum
    del doc["acquisitions"][0]["scanner"]["model"]  # required


VECTORS = [
    vector("clean", "MPI001", False, "The clean base document: every rule stays silent.", None, []),
    Vector("MPI001-fires", "MPI001", True, "A NaN literal in a replicate's maximum intensity.",
           expected=[("MPI001", E, "")], text=_text_with_nan()),
    Vector("MPI001-fires-yaml", "MPI001", True, "YAML with a custom python tag.",
           expected=[("MPI001", E, "")], suffix=".mpical.yaml",
           text="schema_version: '1.0'\ndataset: !!python/object/apply:os.system ['echo pwned']\n"),
    Vector("MPI001-quiet-yaml", "MPI001", False,
           "The clean document as YAML, with an unquoted date that must stay a string.",
           expected=[], suffix=".mpical.yaml",
           text=json.dumps(base(), indent=2).replace('"created": "2026-11-25"', '"created": 2026-11-25')),
    vector("MPI002-fires", "MPI002", True, "Three independent schema violations, each its own finding.",
           _three_violations,
           [("MPI002", E, "/calibrations/0/points/1/volume_uL"), ("MPI002", E, "/tracers/0/core_material"),
            ("MPI002", E, "/acquisitions/0/scanner")]),
    vector("MPI002-quiet", "MPI002", False, "Lab-specific fields in the x- extension namespace are allowed.",
           lambda d: d["calibrations"][0].update({"x-lab-notebook": "p. 42"}), []),
    vector("MPI003-fires", "MPI003", True, "An unknown schema version: nothing else is reported.",
           lambda d: d.update(schema_version="9.9"), [("MPI003", E, "/schema_version")]),
    Vector("MPI003-quiet", "MPI003", False, "schema_version written as the quoted string \"1.0\" in YAML.",
           expected=[], suffix=".mpical.yaml",
           text=json.dumps(base(), indent=2).replace('"schema_version": "1.0"', "'schema_version': '1.0'")),
    vector("MPI004-fires", "MPI004", True, "A calibration naming a tracer that does not exist.",
           lambda d: d["calibrations"][0].update(tracer="vivotrax"), [("MPI004", E, "/calibrations/0/tracer")]),
    vector("MPI004-quiet", "MPI004", False, "A second tracer, unused, with its own id.",
           lambda d: d["tracers"].append({**d["tracers"][0], "id": "promag-lot2"}), []),
    Vector("MPI005-fires", "MPI005", True, "The clean document under a 1 KiB document limit.",
           expected=[("MPI005", E, "")], document=base(),
           options_toml="[limits]\ndocument_mib = 0.001\n"),
    Vector("MPI005-quiet", "MPI005", False, "The clean document under a 1 MiB limit: well inside it.",
           expected=[], document=base(), options_toml="[limits]\ndocument_mib = 1\n"),
]
