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
"""
from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from mpistd.findings import Severity

PROFILES = ("default", "publication")

#: the publication profile makes these errors (STANDARD.md, "Findings")
PUBLICATION_ERRORS = frozenset({"MPI011", "MPI012", "MPI020", "MPI030", "MPI033", "MPI043", "MPI044", "MPI050"})

LEVELS = ("error", "warning", "info", "off")


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
        from mpistd.rules.registry import UNSUPPRESSIBLE

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


def _check_levels(mapping: Any, where: str) -> dict[str, str]:
    from mpistd.rules.registry import UNSUPPRESSIBLE, known_rule_ids

    if not isinstance(mapping, dict):
        raise ConfigError(f"{where} must be a table of RULE = level")
    known = known_rule_ids()
    out = {}
    for rule_id, level in mapping.items():
        if rule_id not in known:
            raise ConfigError(f"{where}: unknown rule {rule_id!r}")
        if rule_id in UNSUPPRESSIBLE:
            raise ConfigError(f"{where}: {rule_id} cannot be re-levelled or disabled (the document must be readable)")
        if level not in LEVELS:
            raise ConfigError(f"{where}: level for {rule_id} must be one of {', '.join(LEVELS)}, found {level!r}")
        out[rule_id] = level
    return out


def options_from_table(table: dict[str, Any], *, base: Path, where: str, start: Options | None = None) -> Options:
    """Build Options from a parsed `mpistd.toml` table (or `[tool.mpistd]`)."""
    opts = start or Options()
    allowed = {"profile", "strict", "exclude", "rules", "overrides", "tolerances", "limits", "baseline", "check_images"}
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown setting {key!r}; known: {', '.join(sorted(allowed))}")
    changes: dict[str, Any] = {"config_base": base}
    if "profile" in table:
        if table["profile"] not in PROFILES:
            raise ConfigError(f"{where}: profile must be one of {', '.join(PROFILES)}")
        changes["profile"] = table["profile"]
    if "strict" in table:
        changes["strict"] = bool(table["strict"])
    if "check_images" in table:
        changes["check_images"] = bool(table["check_images"])
    if "exclude" in table:
        ex = table["exclude"]
        if not isinstance(ex, list) or not all(isinstance(e, str) for e in ex):
            raise ConfigError(f"{where}: exclude must be a list of glob strings")
        changes["exclude"] = tuple(ex)
    if "rules" in table:
        changes["levels"] = {**opts.levels, **_check_levels(table["rules"], f"{where} [rules]")}
    if "overrides" in table:
        if not isinstance(table["overrides"], list):
            raise ConfigError(f"{where}: overrides must be a list of [[overrides]] tables")
        ovs = []
        for i, ov in enumerate(table["overrides"]):
            w = f"{where} [[overrides]] #{i + 1}"
            if (not isinstance(ov, dict) or "paths" not in ov or "rules" not in ov or not isinstance(ov["paths"], list)
                    or not all(isinstance(p, str) for p in ov["paths"])):
                raise ConfigError(f"{w}: needs 'paths' (list of globs) and 'rules' (table)")
            ovs.append(PathOverride(tuple(ov["paths"]), _check_levels(ov["rules"], w), base))
        changes["overrides"] = opts.overrides + tuple(ovs)
    if "tolerances" in table:
        if not isinstance(table["tolerances"], dict):
            raise ConfigError(f"{where}: [tolerances] must be a table")
        merged = {**{f.name: getattr(opts.tolerances, f.name) for f in fields(Tolerances)}, **table["tolerances"]}
        changes["tolerances"] = Tolerances.from_mapping(merged, f"{where} [tolerances]")
    if "limits" in table:
        lim = table["limits"]
        if not isinstance(lim, dict):
            raise ConfigError(f"{where}: [limits] must be a table")
        for key, attr in (("document_mib", "max_document_bytes"), ("image_mib", "max_image_bytes")):
            if key in lim:
                value = lim[key]
                if (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
                        or value <= 0):
                    raise ConfigError(f"{where} [limits]: {key} must be a positive number")
                changes[attr] = int(value * 2**20)
    if "baseline" in table:
        changes["baseline"] = load_baseline(base / table["baseline"])
    return replace(opts, **changes)


def read_config_file(path: Path) -> dict[str, Any] | None:
    """The mpistd table of a config file; None for a pyproject.toml without [tool.mpistd]."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: invalid TOML: the file is not UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    if path.name == "pyproject.toml":
        return data.get("tool", {}).get("mpistd")
    return data


def load_config(path: Path, start: Options | None = None) -> Options:
    table = read_config_file(path)
    if table is None:
        raise ConfigError(f"{path}: no [tool.mpistd] table")
    opts = options_from_table(table, base=path.parent, where=str(path), start=start)
    return replace(opts, config_path=path)


def find_config(start_dir: Path) -> Path | None:
    """The nearest mpistd.toml (or pyproject.toml with [tool.mpistd]) at or above start_dir."""
    d = start_dir.resolve()
    for folder in (d, *d.parents):
        candidate = folder / "mpistd.toml"
        if candidate.is_file():
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


def load_baseline(path: Path) -> frozenset[tuple[str, str, str, str | None]]:
    """The fingerprints of a baseline file: (rule, file, pointer, metric).

    Version 2 entries may carry a ``metric`` (per-metric rules); version 1 had none, so a v1
    entry (metric None) matches that rule, file and pointer whatever the metric.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        version = data.get("mpistd_baseline", 1)
        if version not in (1, 2) or isinstance(version, bool):
            raise ConfigError(f"baseline file {path} has format version {version!r}; this mpistd reads 1 and "
                              f"{BASELINE_VERSION} (upgrade mpistd, or rewrite it with 'mpistd baseline write')")
        entries = data["findings"]
        out = set()
        for e in entries:
            metric = e.get("metric") if version >= 2 else None
            if not all(isinstance(e[k], str) for k in ("rule", "file", "pointer")) or not (
                    metric is None or isinstance(metric, str)):
                raise TypeError(f"entry {e!r} is not (rule, file, pointer[, metric]) strings")
            out.add((e["rule"], e["file"], e["pointer"], metric))
        return frozenset(out)
    except FileNotFoundError:
        raise ConfigError(f"baseline file {path} does not exist (write one with 'mpistd baseline write')") from None
    except OSError as exc:  # a folder, no permission
        raise ConfigError(f"baseline file {path} cannot be read: {exc.strerror or exc}") from None
    except ConfigError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"baseline file {path} is not an mpistd baseline: {exc}") from None


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
