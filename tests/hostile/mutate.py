"""Random mutations of valid reference documents: shared by the hypothesis tests and scripts/fuzz.py.

A mutation picks a place in the JSON tree and breaks it the way a careless hand, a buggy
exporter or an attacker would: delete a key, change a value's type, set a number negative,
huge, tiny or zero, put unicode (or markup, or a lone surrogate) into a string, duplicate or
drop list items, write a random string where an enum is expected, add unknown or ``x-``
keys, point a reference at another id, and so on. All randomness comes from the ``random.Random``
passed in, so a seed (or hypothesis's ``st.randoms()``) reproduces a document exactly.

:func:`serialize` writes a document the way files arrive: JSON with varying indentation
and escaping (sometimes with ``NaN`` literals, sometimes as YAML).
"""
from __future__ import annotations

import copy
import json
import math
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference_data"

HOSTILE_TEXT = (
    "", " ", "\n", "\t", "é", "µg", "Fe₃O₄", "🧲", "\u202e", "\u200b", "\u0000", "\x7f", "\ufeff",
    "\ud800", "\udfff",
    "<script>alert(1)</script>", "</style>", "{{ 7*7 }}", "{% for x in y %}", "url(http://evil.example/)",
    "../../etc/passwd", "/etc/passwd", "C:\\Windows", "images/../x.npy", "\\\\server\\share", "%s%s%n",
    "1.0", "NaN", "Infinity", "null", "true", "-1", "0x10", "1e999", "MPI001", "x-", "~1~0/", "#", "a" * 300,
    "b" * 10_001,
)
NUMBERS = (
    0, 0.0, -0.0, -1, -1.5, 1, 2, 3, 5e-324, -5e-324, 1e-300, 1e300, 1.7976931348623157e308,
    -1.7976931348623157e308, 2**31, 2**53 + 1, 2**63, 2**64, -(2**63), 10**30, 10**300, 1e15, 0.1, 100.0, 1e-9,
)
NEAR_ENUMS = (
    "linear", "Linear", "LINEAR", "fixed_concentration", "fixed_volume", "cell_number", "other", "solution",
    "cells", "tissue", "gel", "in_vivo", "iron_mass_ug", "cell_count", "max_intensity", "total_intensity",
    "mean_intensity", "npy", "tiff", "dicom", "mdf", "2d", "3d", "2D", "high_sensitivity", "high_resolution",
    "custom", "none", "1/x", "1/x2", "1/x^2", "replicates", "level_means", "lorentzian", "x", "y", "z", "k_sd",
    "threshold_all", "threshold_connected", "manual", "wigner_seitz", "cubic", "nearest_neighbour",
    "empty_holder", "background_roi", "icp-oes", "icp-ms", "ferrozine", "nominal", "manufacturer",
    "lookup_table", "polynomial", "iron_mass_per_particle", "spherical_core", "MPI030", "MPI999", "mpi030",
)


@dataclass
class Reference:
    name: str
    path: Path  # the reference file
    doc: Any


def reference_documents(root: Path = REFERENCE) -> list[Reference]:
    """Every ``*.mpical.json`` under ``reference_data`` that mpistd reads as a JSON object (the
    MPI001 vectors, unreadable on purpose, are left out: a mutation needs a tree)."""
    from mpistd.load.documents import DocumentError, parse_bytes

    out = []
    for path in sorted(root.rglob("*.mpical.json")):
        try:
            doc = parse_bytes(path.read_bytes()).data
        except DocumentError:
            continue
        if isinstance(doc, dict):
            out.append(Reference(str(path.relative_to(root)), path, doc))
    return out


def workspace(root: Path, refs: list[Reference], reference_root: Path = REFERENCE) -> Callable[[Reference], Path]:
    """Copy the reference images into ``root`` (same relative layout), so that a mutated document
    written beside them finds its images; returns where to write a mutation of each reference."""
    folders = {r.path.parent for r in refs}
    for folder in folders:
        dest = root / folder.relative_to(reference_root)
        dest.mkdir(parents=True, exist_ok=True)
        for sub in folder.iterdir():
            if sub.is_dir() and sub.name == "images" and not (dest / "images").exists():
                shutil.copytree(sub, dest / "images", symlinks=False)

    def folder_for(ref: Reference) -> Path:
        return root / ref.path.parent.relative_to(reference_root)

    return folder_for


# ------------------------------------------------------------------------------------ tree access


def _places(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key/index) in the tree, the root excluded."""
    out: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                out.append((node, k))
                if isinstance(v, (dict, list)):
                    stack.append(v)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                out.append((node, i))
                if isinstance(v, (dict, list)):
                    stack.append(v)
    return out


def _containers(doc: Any, kind: type) -> list[Any]:
    out = [doc] if isinstance(doc, kind) else []
    out += [c[k] for c, k in _places(doc) if isinstance(c[k], kind)]
    return out


def _ids(doc: Any) -> list[str]:
    return [c[k] for c, k in _places(doc) if k in ("id", "tracer", "acquisition", "calibration", "paired_with")
            and isinstance(c[k], str)]


# ------------------------------------------------------------------------------------ values


def random_text(rnd: random.Random) -> str:
    r = rnd.random()
    if r < 0.5:
        return rnd.choice(HOSTILE_TEXT)
    if r < 0.8:
        n = rnd.randint(0, 24)
        return "".join(chr(rnd.choice((rnd.randint(32, 126), rnd.randint(0xA0, 0x2FFF), rnd.randint(0x1F300, 0x1FAFF),
                                       rnd.randint(0, 31))))
                       for _ in range(n))
    return rnd.choice(NEAR_ENUMS)


def random_number(rnd: random.Random, current: Any = None) -> Any:
    r = rnd.random()
    if r < 0.6:
        return rnd.choice(NUMBERS)
    if isinstance(current, (int, float)) and not isinstance(current, bool) and math.isfinite(current):
        return rnd.choice((-current, current * 1e6, current * 1e-6, current + 1, current * 1.5, 0 * current))
    return rnd.uniform(-1e6, 1e6)


def random_value(rnd: random.Random, depth: int = 0) -> Any:
    kinds = ["str", "num", "bool", "null", "list", "dict"] if depth < 3 else ["str", "num", "bool", "null"]
    kind = rnd.choice(kinds)
    if kind == "str":
        return random_text(rnd)
    if kind == "num":
        return random_number(rnd)
    if kind == "bool":
        return rnd.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]
    return {random_text(rnd) if rnd.random() < 0.5 else rnd.choice(("id", "x", "path", "rule", "kind")):
            random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 3))}


def _other_type(rnd: random.Random, value: Any) -> Any:
    for _ in range(10):
        v = random_value(rnd, 2)
        if type(v) is not type(value):
            return v
    return None


# ------------------------------------------------------------------------------------ mutations


def _delete_key(doc: Any, rnd: random.Random) -> str:
    dicts = [d for d in _containers(doc, dict) if d]
    d = rnd.choice(dicts)
    k = rnd.choice(list(d))
    del d[k]
    return f"delete key {k!r}"


def _change_type(doc: Any, rnd: random.Random) -> str:
    c, k = rnd.choice(_places(doc))
    c[k] = _other_type(rnd, c[k])
    return f"change type at {k!r}"


def _number(doc: Any, rnd: random.Random) -> str:
    nums = [(c, k) for c, k in _places(doc) if isinstance(c[k], (int, float)) and not isinstance(c[k], bool)]
    if not nums:
        return _change_type(doc, rnd)
    c, k = rnd.choice(nums)
    c[k] = random_number(rnd, c[k])
    return f"number at {k!r} -> {c[k]!r}"


def _text(doc: Any, rnd: random.Random) -> str:
    strs = [(c, k) for c, k in _places(doc) if isinstance(c[k], str)]
    c, k = rnd.choice(strs)
    r = rnd.random()
    if r < 0.4:
        c[k] = random_text(rnd)
    elif r < 0.7:
        c[k] = c[k] + random_text(rnd)
    else:
        pos = rnd.randint(0, len(c[k]))
        c[k] = c[k][:pos] + random_text(rnd) + c[k][pos:]
    return f"text at {k!r}"


def _enum(doc: Any, rnd: random.Random) -> str:
    strs = [(c, k) for c, k in _places(doc) if isinstance(c[k], str) and isinstance(k, str)]
    c, k = rnd.choice(strs)
    c[k] = rnd.choice(NEAR_ENUMS) if rnd.random() < 0.6 else random_text(rnd)
    return f"enum-ish string at {k!r}"


def _duplicate_item(doc: Any, rnd: random.Random) -> str:
    lists = [lst for lst in _containers(doc, list) if lst]
    if not lists:
        return _delete_key(doc, rnd)
    lst = rnd.choice(lists)
    item = copy.deepcopy(rnd.choice(lst))
    for _ in range(rnd.choice((1, 1, 1, 2, 5))):
        lst.insert(rnd.randint(0, len(lst)), copy.deepcopy(item))
    return "duplicate a list item"


def _drop_items(doc: Any, rnd: random.Random) -> str:
    lists = [lst for lst in _containers(doc, list) if lst]
    if not lists:
        return _delete_key(doc, rnd)
    lst = rnd.choice(lists)
    if rnd.random() < 0.3:
        lst.clear()
        return "empty a list"
    del lst[rnd.randrange(len(lst))]
    return "drop a list item"


def _add_key(doc: Any, rnd: random.Random) -> str:
    d = rnd.choice(_containers(doc, dict))
    key = rnd.choice(("x-" + random_text(rnd), random_text(rnd), "x-mpistd-ignore", "id", "image", "fits"))
    if key == "x-mpistd-ignore":
        d[key] = rnd.choice(([{"rule": rnd.choice(("MPI010", "MPI001", "MPI030", "MPI999")), "reason": "r"}],
                             [{"rule": "MPI0"}], "MPI010", [random_value(rnd)]))
    else:
        d[key] = random_value(rnd)
    return f"add key {key!r}"


def _reference(doc: Any, rnd: random.Random) -> str:
    refs = [(c, k) for c, k in _places(doc) if k in ("id", "tracer", "acquisition", "calibration", "paired_with")]
    ids = _ids(doc)
    if not refs or not ids:
        return _text(doc, rnd)
    c, k = rnd.choice(refs)
    c[k] = rnd.choice(ids + ["nope", "", "a b"])
    return f"reference {k!r} -> {c[k]!r}"


def _nest(doc: Any, rnd: random.Random) -> str:
    c, k = rnd.choice(_places(doc))
    for _ in range(rnd.randint(1, 70)):
        c[k] = [c[k]] if rnd.random() < 0.5 else {"x-wrap": c[k]}
    return f"nest at {k!r}"


def _swap(doc: Any, rnd: random.Random) -> str:
    places = _places(doc)
    (c1, k1), (c2, k2) = rnd.choice(places), rnd.choice(places)
    try:
        c1[k1], c2[k2] = copy.deepcopy(c2[k2]), copy.deepcopy(c1[k1])
    except (KeyError, IndexError):  # pragma: no cover - nested swap invalidated a place
        pass
    return "swap two values"


MUTATIONS: dict[str, Callable[[Any, random.Random], str]] = {
    "delete_key": _delete_key,
    "change_type": _change_type,
    "number": _number,
    "text": _text,
    "enum": _enum,
    "duplicate_item": _duplicate_item,
    "drop_items": _drop_items,
    "add_key": _add_key,
    "reference": _reference,
    "nest": _nest,
    "swap": _swap,
}


def mutate(doc: Any, rnd: random.Random, n: int | None = None, kinds: tuple[str, ...] | None = None) -> list[str]:
    """Apply ``n`` (1–3 by default) random mutations to ``doc`` in place; returns what was done."""
    names = list(kinds or MUTATIONS)
    done = []
    for _ in range(n if n is not None else rnd.randint(1, 3)):
        if not _places(doc):
            break
        name = rnd.choice(names)
        done.append(f"{name}: {MUTATIONS[name](doc, rnd)}")
    return done


# ------------------------------------------------------------------------------------ benign mutations


def _free_text_places(doc: Any) -> list[tuple[Any, Any]]:
    free = {"title", "description", "name", "vendor", "lot", "coating", "core_material", "medium", "cell_type",
            "sample_id", "affiliation", "license", "manufacturer", "model", "software_version", "kind", "reason",
            "software", "position", "product_code"}
    out = []
    for c, k in _places(doc):
        if k in free and isinstance(c[k], str):
            if k == "kind" and c.get("kind") in ("solution", "cells", "tissue", "gel", "in_vivo",
                                                 "iron_mass_per_particle", "spherical_core"):
                continue
            out.append((c, k))
    return out


def _file_safe(rnd: random.Random) -> str:
    """Random text that a UTF-8 file can hold (no lone surrogate)."""
    return _utf8_only(random_text(rnd))


def _utf8_only(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_utf8_only(v) for v in value]
    if isinstance(value, dict):
        return {_utf8_only(k): _utf8_only(v) for k, v in value.items()}
    return value


def benign_mutate(doc: Any, rnd: random.Random) -> list[str]:
    """Mutations that keep most documents schema-valid: unicode in free text, ``x-`` extensions
    with arbitrary JSON values (anywhere), duplicated replicates."""
    done = []
    for _ in range(rnd.randint(1, 3)):
        r = rnd.random()
        places = _free_text_places(doc)
        if r < 0.4 and places:
            c, k = rnd.choice(places)
            t = _file_safe(rnd)
            c[k] = (c[k] + t)[:200] if (c[k] + t).strip() else c[k]
            done.append(f"text at {k!r}")
        elif r < 0.8:
            d = rnd.choice(_containers(doc, dict))
            key = "x-" + _file_safe(rnd)
            d[key] = _utf8_only(random_value(rnd))
            done.append(f"extension {key!r}")
        else:
            reps = [c[k] for c, k in _places(doc) if k == "replicates" and isinstance(c[k], list) and c[k]]
            if reps:
                lst = rnd.choice(reps)
                lst.append(copy.deepcopy(rnd.choice(lst)))
                done.append("duplicate a replicate")
    return done


# ------------------------------------------------------------------------------------ files


def serialize(doc: Any, rnd: random.Random) -> tuple[bytes, str]:
    """(bytes, suffix): JSON most of the time (indentation and escaping vary, NaN literals
    allowed), sometimes YAML."""
    if rnd.random() < 0.15:
        try:
            import yaml

            text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=rnd.random() < 0.5)
            return text.encode("utf-8"), ".mpical.yaml"
        except (yaml.YAMLError, UnicodeEncodeError, ValueError, RecursionError):
            pass
    text = json.dumps(doc, indent=rnd.choice((None, 1, 2, "\t")), ensure_ascii=rnd.random() < 0.5, allow_nan=True)
    return text.encode("utf-8", "surrogatepass"), ".mpical.json"
