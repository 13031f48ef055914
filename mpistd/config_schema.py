"""The schema of a configuration table, checked before any dataset is read.

A configuration file may come with the data (a discovered `mpistd.toml`, a `pyproject.toml`
with `[tool.mpistd]`), so it is untrusted input: every key must be known (a did-you-mean
names the closest one), every value has its type (a TOML string is never a boolean), numbers
are finite and in range, and the size limits have hard ceilings that no file can lift:
documents at most 1 GiB (``document_mib <= 1024``), decoded images at most 4 GiB
(``image_mib <= 4096``). A violation is a :class:`~mpistd.config.ConfigError` naming the file,
the key and, when the key can be found in the text, its line.

This module only checks; :mod:`mpistd.config` builds the options.
"""
from __future__ import annotations

import difflib
import math
import re
from typing import Any

#: hard ceilings of the size limits, in MiB (SECURITY.md)
MAX_DOCUMENT_MIB = 1024
MAX_IMAGE_MIB = 4096
#: a configuration file and a baseline file are read up to these sizes
MAX_CONFIG_BYTES = 1 << 20
MAX_BASELINE_BYTES = 64 << 20

TOP_LEVEL = ("profile", "strict", "exclude", "rules", "overrides", "tolerances", "limits", "baseline", "check_images")
LIMITS = {"document_mib": MAX_DOCUMENT_MIB, "image_mib": MAX_IMAGE_MIB}
OVERRIDE_KEYS = ("paths", "rules")

#: (low, high, low_open, high_open) of every numeric tolerance; None = unbounded
_PROBABILITY = (0.0, 1.0, True, True)
_NON_NEGATIVE = (0.0, None, False, False)
TOLERANCE_RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "r_squared_min": (0.0, 1.0, False, False),
    "r_squared_absolute": (0.0, 1.0, False, False),
    "lack_of_fit_alpha": _PROBABILITY,
    "mandel_alpha": _PROBABILITY,
    "homoscedasticity_alpha": _PROBABILITY,
    "limit_alpha": _PROBABILITY,
    "prediction_alpha": _PROBABILITY,
    "min_levels": (1, 10_000, False, False),
    "min_replicates": (1, 10_000, False, False),
}


class SchemaError(Exception):
    """One violation: the key path (("limits", "document_mib")) and what is wrong."""

    def __init__(self, keys: tuple[str, ...], message: str):
        super().__init__(message)
        self.keys = keys
        self.message = message


def did_you_mean(key: str, known: Any) -> str:
    close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(known))}"


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    from mpistd._text import clean

    text = repr(value)
    return clean(text if len(text) <= 60 else text[:57] + "...")


PROFILES = ("default", "publication")
LEVELS = ("error", "warning", "info", "off")


def check_table(table: Any, tolerance_defaults: dict[str, Any]) -> None:
    """Raise SchemaError for the first problem of an mpistd configuration table
    (``tolerance_defaults``: every tolerance's name and default, which gives its type)."""
    if not isinstance(table, dict):
        raise SchemaError((), f"the mpistd configuration must be a table, found {_type_name(table)}")
    for key in table:
        if key not in TOP_LEVEL:
            if key in LIMITS or key in tolerance_defaults:
                section = "limits" if key in LIMITS else "tolerances"
                raise SchemaError((key,), f"unknown setting {_shown(key)}: it belongs in the [{section}] table")
            raise SchemaError((key,), f"unknown setting {_shown(key)}{did_you_mean(key, TOP_LEVEL)}")
    for key in ("strict", "check_images"):
        if key in table and not isinstance(table[key], bool):
            raise SchemaError((key,), f"{key} must be true or false, found {_type_name(table[key])} "
                                      f"{_shown(table[key])}")
    if "profile" in table and table["profile"] not in PROFILES:
        raise SchemaError(("profile",), f"profile must be one of {', '.join(PROFILES)}, found {_shown(table['profile'])}")
    if "exclude" in table:
        _check_globs(table["exclude"], ("exclude",))
    if "baseline" in table:
        b = table["baseline"]
        if not isinstance(b, str) or not b.strip() or "\x00" in b:
            raise SchemaError(("baseline",), f"baseline must be a file name (a non-empty string), found "
                                             f"{_type_name(b)} {_shown(b)}")
    if "rules" in table:
        check_levels(table["rules"], ("rules",), LEVELS)
    if "overrides" in table:
        ovs = table["overrides"]
        if not isinstance(ovs, list):
            raise SchemaError(("overrides",), "overrides must be a list of [[overrides]] tables")
        for i, ov in enumerate(ovs):
            where = ("overrides", str(i + 1))
            if not isinstance(ov, dict):
                raise SchemaError(where, f"[[overrides]] #{i + 1} must be a table with 'paths' and 'rules'")
            for k in ov:
                if k not in OVERRIDE_KEYS:
                    raise SchemaError((*where, k), f"[[overrides]] #{i + 1}: unknown key {k!r}"
                                                   f"{did_you_mean(k, OVERRIDE_KEYS)}")
            if "paths" not in ov or "rules" not in ov:
                raise SchemaError(where, f"[[overrides]] #{i + 1} needs 'paths' (list of globs) and 'rules' (table)")
            _check_globs(ov["paths"], (*where, "paths"), allow_empty_list=False)
            check_levels(ov["rules"], (*where, "rules"), LEVELS)
    if "tolerances" in table:
        tol = table["tolerances"]
        if not isinstance(tol, dict):
            raise SchemaError(("tolerances",), "[tolerances] must be a table")
        defaults = tolerance_defaults
        for key, value in tol.items():
            keys = ("tolerances", key)
            if key not in defaults:
                raise SchemaError(keys, f"unknown tolerance {key!r}{did_you_mean(key, defaults)}")
            _check_tolerance(key, value, defaults[key], keys)
    if "limits" in table:
        lim = table["limits"]
        if not isinstance(lim, dict):
            raise SchemaError(("limits",), "[limits] must be a table")
        for key, value in lim.items():
            keys = ("limits", key)
            if key not in LIMITS:
                raise SchemaError(keys, f"unknown limit {key!r}{did_you_mean(key, LIMITS)}")
            ceiling = LIMITS[key]
            if not _is_number(value) or not math.isfinite(value) or value <= 0:
                raise SchemaError(keys, f"{key} must be a positive number of MiB, found {_type_name(value)} "
                                        f"{_shown(value)}")
            if value > ceiling:
                raise SchemaError(keys, f"{key} = {_shown(value)} is over the hard ceiling of {ceiling} MiB "
                                        f"({ceiling // 1024} GiB), which no configuration can lift")
            if int(value * 2**20) < 1:
                raise SchemaError(keys, f"{key} = {_shown(value)} is less than one byte")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_globs(value: Any, keys: tuple[str, ...], allow_empty_list: bool = True) -> None:
    name = keys[-1]
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        raise SchemaError(keys, f"{name} must be a list of glob strings, found {_shown(value)}")
    if not allow_empty_list and not value:
        raise SchemaError(keys, f"{name} must name at least one glob")
    for g in value:
        if not g.strip():
            raise SchemaError(keys, f"{name}: an empty glob matches nothing (remove it)")
        if "\x00" in g:
            raise SchemaError(keys, f"{name}: a glob cannot hold a NUL character")


def check_levels(mapping: Any, keys: tuple[str, ...], levels: tuple[str, ...]) -> None:
    from mpistd.findings import UNSUPPRESSIBLE
    from mpistd.rules.registry import known_rule_ids

    where = "[" + ".".join(keys) + "]" if keys[0] != "overrides" else f"[[overrides]] #{keys[1]} rules"
    if not isinstance(mapping, dict):
        raise SchemaError(keys, f"{where} must be a table of RULE = level")
    known = known_rule_ids()
    for rule_id, level in mapping.items():
        k = (*keys, rule_id)
        if rule_id not in known:
            raise SchemaError(k, f"{where}: unknown rule {_shown(rule_id)}{did_you_mean(rule_id, known)}")
        if rule_id in UNSUPPRESSIBLE:
            raise SchemaError(k, f"{where}: {rule_id} cannot be re-levelled or disabled (the document must be readable)")
        if level not in levels:
            raise SchemaError(k, f"{where}: level for {rule_id} must be one of {', '.join(levels)}, found "
                                 f"{_shown(level)}")


def _check_tolerance(key: str, value: Any, default: Any, keys: tuple[str, ...]) -> None:
    if isinstance(default, str):
        if key == "limits_method" and value not in ("din32645", "ich_q2"):
            raise SchemaError(keys, f"limits_method must be 'din32645' or 'ich_q2', found {_shown(value)}")
        return
    if isinstance(default, int) and not isinstance(default, bool):
        if not isinstance(value, int) or isinstance(value, bool):
            raise SchemaError(keys, f"tolerance {key!r} must be an integer, found {_type_name(value)} {_shown(value)}")
    elif not _is_number(value):
        raise SchemaError(keys, f"tolerance {key!r} must be a number, found {_type_name(value)} {_shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise SchemaError(keys, f"tolerance {key!r} must be a finite number, found {_shown(value)}")
    low, high, low_open, high_open = TOLERANCE_RANGES.get(key, _NON_NEGATIVE)
    bad = ((low is not None and (value < low or (low_open and value == low)))
           or (high is not None and (value > high or (high_open and value == high))))
    if bad:
        lo = "" if low is None else f"{'(' if low_open else '['}{low:g}"
        hi = "∞)" if high is None else f"{high:g}{')' if high_open else ']'}"
        raise SchemaError(keys, f"tolerance {key!r} must be in {lo}, {hi}, found {_shown(value)}")


# ---- locating a key in the file's text ---------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]\[]+?)\s*\]\]?\s*(?:#.*)?$")


def line_of(text: str | None, keys: tuple[str, ...], prefix: str = "") -> int | None:
    """The 1-based line where ``keys`` is set in a TOML text (best effort; None if not found).

    ``prefix`` is the table that holds the mpistd table ("tool.mpistd" in pyproject.toml)."""
    if not text or not keys:
        return None
    parts = [prefix] if prefix else []
    lines = text.splitlines()
    # look for the deepest table header that exists, then the next key inside it
    for depth in range(len(keys), -1, -1):
        table = ".".join(parts + [k for k in keys[:depth] if not k.isdigit()])
        rest = [k for k in keys[depth:] if not k.isdigit()]
        found = _find(lines, table, rest[0] if rest else None)
        if found is not None:
            return found
    return None


def _find(lines: list[str], table: str, key: str | None) -> int | None:
    current = ""
    header_line = None
    key_re = re.compile(r"^\s*(?:\"" + re.escape(key) + r"\"|'" + re.escape(key) + r"'|" + re.escape(key)
                        + r")\s*[=.]") if key else None
    for i, line in enumerate(lines, 1):
        m = _HEADER.match(line)
        if m:
            current = re.sub(r"\s*\.\s*", ".", m.group(1)).replace('"', "")
            if current == table and header_line is None:
                header_line = i
                if key_re is None:
                    return i
            continue
        if key_re is not None and current == table and key_re.match(line):
            return i
    return None
