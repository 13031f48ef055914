"""Profiles, configuration files, command-line overrides and baselines.

A configuration is read from `mpistd.toml` or from `[tool.mpistd]` in `pyproject.toml`, found
by walking up from each dataset's folder (or given with ``--config``). Its form::

    profile = "default"            # or "publication"
    exclude = ["conformance/**"]   # globs, relative to the config file's folder

    [rules]                        # global: a severity or "off"
    MPI051 = "off"
    MPI012 = "info"

    [[overrides]]                  # per path glob, later entries win
    paths = ["legacy/**"]
    rules = { MPI020 = "off" }

    [tolerances]                   # see Tolerances below
    r_squared_min = 0.99

    [limits]
    document_mib = 20
    image_mib = 256

MPI001–MPI005 can be neither silenced nor re-levelled: a document that cannot be read cannot
be judged.

Every table is checked against :mod:`mpistd.config_schema` before any dataset is read (known
keys, types, finite numbers in range; hard ceilings of 1024 MiB for documents and 4096 MiB for
images); a problem is a :class:`ConfigError` naming the file, line and key. Configuration
files are read only if they are regular files of at most 1 MiB, baselines at most 64 MiB.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from mpistd.config_schema import LEVELS, PROFILES, SchemaError, check_table, line_of
from mpistd.findings import UNSUPPRESSIBLE, Severity

#: the publication profile makes these errors (STANDARD.md, "Findings")
PUBLICATION_ERRORS = frozenset({"MPI011", "MPI012", "MPI020", "MPI030", "MPI033", "MPI043", "MPI044", "MPI050"})


class ConfigError(Exception):
    """A configuration file or option is wrong (a usage error: exit code 2)."""


@dataclass(frozen=True)
class Tolerances:
    """Default tolerances of STANDARD.md; every one profile- and config-settable."""

    iron_mass_relative: float = 0.02  # MPI010: m vs c·V
    metric_relative: float = 0.01  # MPI013: max, mean, total, area
    fwhm_relative: float = 0.05  # MPI013: FWHM
    pixel_size_relative: float = 0.01  # MPI017: the image file's pixel size vs the declared pixel_size_mm
    slope_relative: float = 0.01  # MPI022
    intercept_fraction_of_max_signal: float = 0.01  # MPI022
    r_squared_absolute: float = 0.001  # MPI022
    distance_relative: float = 0.05  # MPI034
    estimate_relative: float = 0.01  # MPI053
    estimate_ci_fraction: float = 0.1  # MPI053: a tenth of the CI half-width
    paired_percent: float = 5.0  # MPI031: percentage difference limit
    paired_uncertainty_factor: float = 2.0  # MPI031: k in k·sqrt(SE_FC^2 + SE_FV^2)
    pairing_mass_relative: float = 0.02  # pairing FV and FC points by iron mass
    dilution_span: float = 2.0  # MPI030: concentration span that counts as varying
    r_squared_min: float = 0.98  # MPI024
    back_calculated_relative: float = 0.10  # MPI026
    min_levels: int = 5  # MPI020
    min_replicates: int = 3  # MPI012
    lack_of_fit_alpha: float = 0.05  # MPI023
    mandel_alpha: float = 0.01  # MPI023
    homoscedasticity_alpha: float = 0.01  # MPI025
    limits_method: str = "din32645"  # MPI045: "din32645" | "ich_q2"
    limit_alpha: float = 0.01  # DIN 32645 alpha
    limit_beta: float = 0.01  # DIN 32645 / Massart beta of the detection limit (DIN default: = alpha)
    limit_m: int = 1  # DIN 32645 m: replicate readings of the sample the limits are for
    limit_k: float = 3.0  # DIN 32645 k: 1/k is the relative uncertainty at x_BG
    prediction_alpha: float = 0.05  # inverse-prediction interval
    prediction_variance: str = "fixed"  # "fixed" (chemCal) | "pooled" (investr) variance of m readings
    simultaneous_method: str = "bonferroni"  # "bonferroni" | "scheffe": several unknowns, one line

    @classmethod
    def from_mapping(cls, values: dict[str, Any], where: str) -> "Tolerances":
        known = {f.name: f for f in fields(cls)}
        out: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(f"{where}: unknown tolerance {key!r}; known: {', '.join(sorted(known))}")
            expected = type(getattr(cls(), key))
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, expected) or isinstance(value, bool):
                raise ConfigError(f"{where}: tolerance {key!r} must be a {expected.__name__}, found {value!r}")
            if key == "limits_method" and value not in ("din32645", "ich_q2"):
                raise ConfigError(f"{where}: limits_method must be 'din32645' or 'ich_q2'")
            if key == "prediction_variance" and value not in ("fixed", "pooled"):
                raise ConfigError(f"{where}: prediction_variance must be 'fixed' or 'pooled'")
            if key == "simultaneous_method" and value not in ("bonferroni", "scheffe"):
                raise ConfigError(f"{where}: simultaneous_method must be 'bonferroni' or 'scheffe'")
            if key in ("limit_alpha", "limit_beta", "prediction_alpha") and not 0 < value < 1:
                raise ConfigError(f"{where}: tolerance {key!r} must be between 0 and 1 (exclusive)")
            if key == "limit_m" and value < 1:
                raise ConfigError(f"{where}: limit_m must be at least 1")
            if key == "limit_k" and not value > 0:
                raise ConfigError(f"{where}: limit_k must be positive")
            if expected in (float, int) and value < 0:
                raise ConfigError(f"{where}: tolerance {key!r} must not be negative")
            out[key] = value
        return cls(**out)


@dataclass(frozen=True)
class PathOverride:
    patterns: tuple[str, ...]
    levels: dict[str, str]
    base: Path


@dataclass(frozen=True)
class Options:
    """Everything that changes how a dataset is judged (not what it contains)."""

    profile: str = "default"
    strict: bool = False
    levels: dict[str, str] = field(default_factory=dict)  # rule -> level or "off"
    overrides: tuple[PathOverride, ...] = ()
    select: tuple[str, ...] | None = None  # rule ids or prefixes; None = all
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    config_base: Path | None = None
    config_path: Path | None = None
    tolerances: Tolerances = field(default_factory=Tolerances)
    max_document_bytes: int = 20 * 2**20
    max_image_bytes: int = 256 * 2**20
    baseline: frozenset[tuple[str, str, str, str | None]] = frozenset()
    check_images: bool = True

    @property
    def fail_level(self) -> Severity:
        return Severity.WARNING if self.strict else Severity.ERROR

    def with_(self, **changes: Any) -> "Options":
        return replace(self, **changes)

    # ---- resolution of one finding's level -------------------------------------------------
    def resolve(self, rule_id: str, default: Severity, dataset_path: Path | None) -> tuple[Severity | None, str, str]:
        """The severity a finding of `rule_id` gets, or None with (source, reason) if silenced."""
        if rule_id in UNSUPPRESSIBLE:
            return default, "", ""
        level: str = default.value
        if self.profile == "publication" and rule_id in PUBLICATION_ERRORS:
            level = "error"
        source = "config"
        reason = ""
        if rule_id in self.levels:
            level = self.levels[rule_id]
            reason = "disabled in the configuration"
        if dataset_path is not None and self.overrides:
            for ov in self.overrides:
                if rule_id in ov.levels and _matches(dataset_path, ov.patterns, ov.base):
                    level = ov.levels[rule_id]
                    reason = f"disabled for paths {', '.join(ov.patterns)}"
        if self.select is not None and not any(rule_id.startswith(s) for s in self.select):
            return None, "command-line", "not in --select"
        if any(rule_id.startswith(s) for s in self.ignore):
            return None, "command-line", "--ignore"
        if level == "off":
            return None, source, reason or "disabled"
        return Severity.parse(level), "", ""

    def is_excluded(self, path: Path) -> bool:
        return bool(self.exclude) and _matches(path, self.exclude, self.config_base or Path.cwd())


def _matches(path: Path, patterns: Iterable[str], base: Path) -> bool:
    """True when ``path`` matches one of the globs, with gitignore semantics relative to ``base``.

    As in a ``.gitignore`` at ``base``: a glob with a slash (other than a trailing one) is anchored
    at ``base`` (``legacy/**`` is only ``base/legacy/…``), one without matches at any depth
    (``*.mpical.yaml``), ``**/`` matches zero or more folders (``**/z.mpical.json`` includes a
    top-level ``z.mpical.json``), a trailing ``/`` matches folders and so everything below them, and
    ``!`` re-includes. A path outside ``base`` matches nothing.
    """
    try:
        rel = path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return False
    return _gitignore_spec(tuple(patterns)).match_file(rel)


@lru_cache(maxsize=256)
def _gitignore_spec(patterns: tuple[str, ...]) -> Any:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)


def _levels(mapping: dict[str, Any]) -> dict[str, str]:
    return {str(rule_id): str(level) for rule_id, level in mapping.items()}


def options_from_table(table: dict[str, Any], *, base: Path, where: str, start: Options | None = None,
                       text: str | None = None, prefix: str = "") -> Options:
    """Build Options from a parsed `mpistd.toml` table (or `[tool.mpistd]`).

    The whole table is checked against the schema (:mod:`mpistd.config_schema`) first; a
    problem is a ConfigError naming ``where``, the key and (given the file's ``text``) the line.
    """
    opts = start or Options()
    try:
        check_table(table, {f.name: f.default for f in fields(Tolerances)})
    except SchemaError as exc:
        line = line_of(text, exc.keys, prefix)
        raise ConfigError(f"{where}{f':{line}' if line else ''}: {exc.message}") from None
    changes: dict[str, Any] = {"config_base": base}
    if "profile" in table:
        changes["profile"] = table["profile"]
    if "strict" in table:
        changes["strict"] = table["strict"]
    if "check_images" in table:
        changes["check_images"] = table["check_images"]
    if "exclude" in table:
        changes["exclude"] = tuple(table["exclude"])
    if "rules" in table:
        changes["levels"] = {**opts.levels, **_levels(table["rules"])}
    if "overrides" in table:
        ovs = [PathOverride(tuple(ov["paths"]), _levels(ov["rules"]), base) for ov in table["overrides"]]
        changes["overrides"] = opts.overrides + tuple(ovs)
    if "tolerances" in table:
        merged = {**{f.name: getattr(opts.tolerances, f.name) for f in fields(Tolerances)}, **table["tolerances"]}
        changes["tolerances"] = Tolerances.from_mapping(merged, f"{where} [tolerances]")
    if "limits" in table:
        lim = table["limits"]
        for key, attr in (("document_mib", "max_document_bytes"), ("image_mib", "max_image_bytes")):
            if key in lim:
                changes[attr] = int(lim[key] * 2**20)
    if "baseline" in table:
        changes["baseline"] = load_baseline(base / table["baseline"], where=where)
    return replace(opts, **changes)


def read_config_file(path: Path) -> dict[str, Any] | None:
    """The mpistd table of a config file; None for a pyproject.toml without [tool.mpistd]."""
    return _read_config(path)[0]


def _read_config(path: Path) -> tuple[dict[str, Any] | None, str, str]:
    """(the mpistd table or None, the file's text, the table's prefix in that text).

    The file must be a regular file of at most MAX_CONFIG_BYTES (read without blocking on a
    FIFO and without preallocating)."""
    from mpistd._text import display_name
    from mpistd.config_schema import MAX_CONFIG_BYTES
    from mpistd.load.documents import DocumentError, DocumentTooLarge, read_bounded

    shown = display_name(path)
    try:
        raw = read_bounded(path, MAX_CONFIG_BYTES)
    except DocumentTooLarge as exc:
        raise ConfigError(f"{shown}: a configuration file of {exc.size:,} bytes, over the limit of "
                          f"{MAX_CONFIG_BYTES:,} bytes") from None
    except DocumentError as exc:
        raise ConfigError(f"{shown}: {exc.message}") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    import tomllib  # only when a configuration file is read (start-up)

    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{shown}: invalid TOML: the file is not UTF-8") from None
    if path.name == "pyproject.toml":
        tool = data.get("tool")
        if tool is None:
            return None, text, "tool.mpistd"
        if not isinstance(tool, dict):
            raise ConfigError(f"{shown}{_at(text, ('tool',))}: 'tool' must be a table, found {type(tool).__name__}")
        table = tool.get("mpistd")
        if table is not None and not isinstance(table, dict):
            raise ConfigError(f"{shown}{_at(text, ('tool', 'mpistd'))}: [tool.mpistd] must be a table, "
                              f"found {type(table).__name__}")
        return table, text, "tool.mpistd"
    return data, text, ""


def _at(text: str, keys: tuple[str, ...]) -> str:
    line = line_of(text, keys)
    return f":{line}" if line else ""


def load_config(path: Path, start: Options | None = None) -> Options:
    from mpistd._text import display_name

    table, text, prefix = _read_config(path)
    if table is None:
        raise ConfigError(f"{display_name(path)}: no [tool.mpistd] table")
    opts = options_from_table(table, base=path.parent, where=display_name(path), start=start, text=text,
                              prefix=prefix)
    return replace(opts, config_path=path)


def find_config(start_dir: Path) -> Path | None:
    """The nearest mpistd.toml (or pyproject.toml with [tool.mpistd]) at or above start_dir."""
    d = start_dir.resolve()
    for folder in (d, *d.parents):
        candidate = folder / "mpistd.toml"
        if candidate.is_file():
            return candidate
        if os.path.lexists(candidate):  # a FIFO, a device, a folder, a dangling link: say so
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                if read_config_file(pyproject) is not None:
                    return pyproject
            except ConfigError:
                return pyproject  # let the caller report it
    return None


# ---- baselines --------------------------------------------------------------------------------


#: the baseline format written by ``mpistd baseline write``; 1 (no metric) is still read
BASELINE_VERSION = 2


def load_baseline(path: Path, *, where: str | None = None) -> frozenset[tuple[str, str, str, str | None]]:
    """The fingerprints of a baseline file (a regular file of at most MAX_BASELINE_BYTES):
    (rule, file, pointer, metric).

    Version 2 entries may carry a ``metric`` (per-metric rules); version 1 had none, so a v1
    entry (metric None) matches that rule, file and pointer whatever the metric.
    """
    from mpistd._text import display_name
    from mpistd.config_schema import MAX_BASELINE_BYTES
    from mpistd.load.documents import DocumentError, DocumentTooLarge, read_bounded

    shown = f"baseline file {display_name(path)}" + (f" (from {where})" if where else "")
    try:
        data = json.loads(read_bounded(path, MAX_BASELINE_BYTES).decode("utf-8"))
        version = data.get("mpistd_baseline", 1)
        if version not in (1, 2) or isinstance(version, bool):
            raise ConfigError(f"{shown} has format version {repr(version)[:40]}; this mpistd reads 1 and "
                              f"{BASELINE_VERSION} (upgrade mpistd, or rewrite it with 'mpistd baseline write')")
        entries = data["findings"]
        out = set()
        for e in entries:
            metric = e.get("metric") if version >= 2 else None
            if not all(isinstance(e[k], str) for k in ("rule", "file", "pointer")) or not (
                    metric is None or isinstance(metric, str)):
                raise TypeError("an entry is not (rule, file, pointer[, metric]) strings")
            out.add((e["rule"], e["file"], e["pointer"], metric))
        return frozenset(out)
    except FileNotFoundError:
        raise ConfigError(f"{shown} does not exist (write one with 'mpistd baseline write')") from None
    except DocumentTooLarge as exc:
        raise ConfigError(f"{shown} is {exc.size:,} bytes, over the limit of {MAX_BASELINE_BYTES:,} bytes") from None
    except DocumentError as exc:
        raise ConfigError(f"{shown} cannot be read: {exc.message}") from None
    except OSError as exc:  # a folder, no permission
        raise ConfigError(f"{shown} cannot be read: {exc.strerror or exc}") from None
    except ConfigError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise ConfigError(f"{shown} is not an mpistd baseline: {type(exc).__name__}") from None


def baseline_document(findings: Iterable[Any]) -> dict[str, Any]:
    """A baseline (format version 2): the fingerprints (rule, file, pointer, metric) of the findings, sorted."""
    from mpistd import __version__

    prints = sorted({f.fingerprint for f in findings}, key=lambda t: (t[0], t[1], t[2], t[3] or ""))
    return {
        "mpistd_baseline": BASELINE_VERSION,
        "mpistd_version": __version__,
        "findings": [{"rule": r, "file": f, "pointer": p, **({"metric": m} if m is not None else {})}
                     for r, f, p, m in prints],
    }
