"""Write the conformance vectors: for every rule, one document that fires it and one that does not.

Each family module in `families/` lists `VECTORS`; a vector is a mutation of the clean base
document (`base.py`) or a raw text, with the findings it must produce written by hand (never
by running mpistd). This script writes `NAME.mpical.json` (or .yaml) beside
`NAME.expected.json` (and `NAME.mpistd.toml` when the vector needs options, plus any image
files). The folder is then a conformance suite that another implementation can run. An
expected file may list `without_modules`: Python modules the run must not find (the
environment a finding such as MPI019, a reader library not installed, needs).

    python reference_data/conformance/make_vectors.py          # write
    python reference_data/conformance/make_vectors.py --check  # exit 1 if anything is stale
"""
from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

FAMILY_MODULES = ("structure", "consistency", "images", "fit", "dilution", "environment", "reporting")


@dataclass
class Vector:
    name: str  # file stem, e.g. "MPI012-fires"
    rule: str  # the rule this vector exercises
    fires: bool  # True: the rule must be among the findings; False: it must not be
    description: str
    expected: list[tuple[str, str, str]]  # every finding (rule, severity, pointer), warnings included
    document: dict | None = None
    text: str | None = None  # raw text instead of a document (MPI001 and friends)
    suffix: str = ".mpical.json"
    options_toml: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # extra files, relative to this folder
    exit_code: int | None = None  # default: 1 if any expected error, else 0
    #: Python modules the run must not find (written to the expected file; the conformance test
    #: hides them): the environment a finding such as MPI019 (a reader library not installed) needs
    without_modules: tuple[str, ...] = ()

    def outputs(self) -> dict[Path, bytes]:
        out: dict[Path, bytes] = {}
        if self.text is not None:
            body = self.text.encode("utf-8")
        else:
            body = (json.dumps(self.document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        out[HERE / f"{self.name}{self.suffix}"] = body
        code = self.exit_code
        if code is None:
            code = 1 if any(sev == "error" for _, sev, _ in self.expected) else 0
        expected = {
            "description": self.description,
            "rule": self.rule,
            "fires": self.fires,
            "exit_code": code,
            "findings": [{"rule": r, "severity": s, "pointer": p} for r, s, p in sorted(self.expected)],
        }
        if self.without_modules:
            expected["without_modules"] = list(self.without_modules)
        out[HERE / f"{self.name}.expected.json"] = (json.dumps(expected, indent=2) + "\n").encode("utf-8")
        if self.options_toml is not None:
            out[HERE / f"{self.name}.mpistd.toml"] = self.options_toml.encode("utf-8")
        for rel, data in self.files.items():
            out[HERE / rel] = data
        return out


def all_vectors() -> list[Vector]:
    vectors: list[Vector] = []
    for fam in FAMILY_MODULES:
        try:
            mod = importlib.import_module(f"families.{fam}")
        except ModuleNotFoundError as exc:
            if exc.name != f"families.{fam}":
                raise
            continue
        vectors.extend(mod.VECTORS)
    names = [v.name for v in vectors]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise SystemExit(f"duplicate vector names: {sorted(dupes)}")
    return vectors


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for v in all_vectors():
        for path, data in v.outputs().items():
            if not path.exists() or path.read_bytes() != data:
                stale.append(path.relative_to(HERE))
                if not check:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
    if check and stale:
        print("stale conformance vectors (run python reference_data/conformance/make_vectors.py):")
        for s in stale:
            print(f"  {s}")
        return 1
    print(f"{'checked' if check else 'wrote'}; {len(stale)} file(s) {'stale' if check else 'changed'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
