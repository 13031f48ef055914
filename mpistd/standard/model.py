"""The pydantic v2 model of an mpistd 1.0 dataset: one class per schema object.

The JSON Schemas under ``schemas/1.0/`` are normative; this model mirrors them exactly (field
names are the JSON names, required sets, enums, bounds, defaults and conditional requirements
agree; ``tests/core/test_model.py`` walks both and checks it). A document the schema accepts
parses, and one it rejects does not.

- Types are strict, as JSON Schema's are: ``"3.1"`` is not a number and ``1`` is not a string.
  An integer field takes an integral float (``1e5``), as JSON Schema's ``integer`` does.
- No field is nullable: an optional key is omitted, never ``null``.
- Objects are closed, except for keys starting with ``x-`` (the extension namespace). Those
  are kept: ``obj.extensions`` is a dict of them (also ``obj.model_extra``). The inline
  suppressions ``x-mpistd-ignore`` are parsed into ``obj.suppressions`` (a list of
  :class:`Suppression`) on every object that may carry them.
- Defaults are the standard's (threshold k 5, ROI threshold_all, FWHM along x, Wigner–Seitz
  estimator, magnetite density and iron fraction, ...). ``receiver_correction.images_corrected``
  defaults to true (the standard does not say; shipped images are usually the scanner
  software's corrected output). A rule that must know whether a value was *reported* reads
  ``obj.model_fields_set``.

The validation pipeline reads a dataset *file* through :mod:`mpistd.standard.view` instead (the
same classes, fields and methods without pydantic, for a loaded document the schema accepted);
a field added here is added to the view's table too (``tests/core/test_view.py`` checks it).
"""
from __future__ import annotations

import operator
import re
from datetime import date
from functools import cache, cached_property, partial
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from mpistd.standard.view import (
    METRICS,
    blank_mean,
    blank_variance,
    by_id,
    calibration_blank_for,
    calibration_metrics_present,
    particle_iron_mass_ug,
    point_concentration,
)

__all__ = [
    "Dataset", "DatasetInfo", "Author", "Tracer", "ParticleModel", "IronMassPerParticle", "SphericalCore",
    "Acquisition", "Scanner", "Axes", "PositiveAxes", "SampleHolder", "ReceiverCorrection", "Analysis", "Noise",
    "BackgroundRoi", "Threshold", "RoiSpec", "FwhmSpec", "SpacingSpec", "Software", "Calibration",
    "Environment", "Labelling", "MeanSd", "Point", "Replicate", "ImageRef", "ReportedFit", "Quantification",
    "ReportedEstimate", "Suppression", "METRICS", "parse_dataset",
]

# --------------------------------------------------------------------------- patterns (as in definitions.schema.json)
# `(?![\s\S])` means "nothing follows": unlike `$`, it does not match before a trailing newline.
ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:+-]*(?![\s\S])"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?![\s\S])"
DOI_PATTERN = r"^(https?://(dx\.)?doi\.org/)?10\.[0-9]{4,9}/[!-~]+(?![\s\S])"
ORCID_PATTERN = r"^(https://orcid\.org/)?[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{3}[0-9X](?![\s\S])"
SHA256_PATTERN = r"^[0-9a-fA-F]{64}(?![\s\S])"
# confinement to the dataset's folder is judged when the image is opened (MPI014), not here:
# an escaping path is a finding about that image, not a malformed document
RELATIVE_PATH_PATTERN = r"^[^\x00-\x1f]+(?![\s\S])"
RULE_PATTERN = r"^MPI[0-9]{3}(?![\s\S])"
NOT_BLANK_PATTERN = r"[^ \t\r\n]"

MAX_TEXT = 10_000
MAX_NAME = 1_000
MAX_LABEL = 200
MAX_LIST = 100_000
MAX_OBJECTS = 10_000


class Pattern:
    """An ECMA-style ``pattern`` (searched, as JSON Schema does), usable as Annotated metadata."""

    def __init__(self, pattern: str, what: str) -> None:
        self.pattern = pattern
        self.what = what
        self._regex = re.compile(pattern)

    def __call__(self, value: str) -> str:
        if not self._regex.search(value):
            raise ValueError(f"{value[:80]!r} is not {self.what}")
        return value

    def __repr__(self) -> str:  # shows in pydantic's field reprs
        return f"Pattern({self.pattern!r})"


def _is_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid date (YYYY-MM-DD)") from exc
    return value


def _integral(value: Any) -> Any:
    """JSON Schema's ``integer`` accepts 1e5 and 3.0: so does the model (bool stays a type error)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _string(max_length: int, *validators: Any, min_length: int = 0) -> Any:
    constraints = Field(min_length=min_length or None, max_length=max_length)
    return Annotated[str, constraints, *[AfterValidator(v) for v in validators]]


Text = _string(MAX_TEXT, min_length=1)
Name = _string(MAX_NAME, min_length=1)
Label = _string(MAX_LABEL, min_length=1)  # sample ids
Tag = _string(MAX_LABEL)  # versions, holder positions
License = _string(200, min_length=1)
Reference = _string(2000, min_length=1)  # a DOI or a URL
RuleId = _string(6, Pattern(RULE_PATTERN, "a rule id such as MPI030"))
Reason = _string(MAX_TEXT, Pattern(NOT_BLANK_PATTERN, "a reason (not blank)"), min_length=1)
Id = _string(128, Pattern(ID_PATTERN, "an identifier (letters, digits, '_', '.', ':', '+', '-')"), min_length=1)
DateString = Annotated[_string(10, Pattern(DATE_PATTERN, "a date written YYYY-MM-DD")), AfterValidator(_is_date)]
Doi = _string(1000, Pattern(DOI_PATTERN, "a DOI (10.xxxx/...)"))
Orcid = _string(100, Pattern(ORCID_PATTERN, "an ORCID iD"))
Sha256 = _string(64, Pattern(SHA256_PATTERN, "a SHA-256 digest (64 hex digits)"))
RelativePath = _string(4096, Pattern(RELATIVE_PATH_PATTERN, "a relative path inside the dataset's folder"),
                       min_length=1)

Number = float
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Percent = Annotated[float, Field(ge=0, le=100)]
Count = Annotated[int, BeforeValidator(_integral), Field(ge=0)]
Metric = Literal["max_intensity", "total_intensity", "mean_intensity"]


# --------------------------------------------------------------------------- base classes
_is_none = partial(operator.is_, None)


@cache
def _json_names(cls: type[BaseModel]) -> frozenset[str]:
    """The JSON keys a model class knows (its fields' aliases or names)."""
    return frozenset(field.alias or name for name, field in cls.model_fields.items())


class _Extensible(BaseModel):
    """Closed object that keeps ``x-`` keys (the extension namespace) and admits no ``null``."""

    model_config = ConfigDict(strict=True, extra="allow", validate_by_alias=True, validate_by_name=False,
                              defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _closed(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = _json_names(cls)
            # the common case (every key known, no null) is told by two C-level tests
            if not known.issuperset(data):
                unexpected = [k for k in data if k not in known and not (isinstance(k, str) and k.startswith("x-"))]
                if unexpected:
                    raise ValueError(", ".join(f"unexpected key {k!r}" for k in unexpected)
                                     + " (lab-specific fields must start with 'x-')")
            if any(map(_is_none, data.values())):  # identity only, at C level
                nulls = [k for k in known if k in data and data[k] is None]
                if nulls:
                    raise ValueError(", ".join(f"{k!r} is null" for k in nulls) + ": omit a key instead of writing null")
        return data

    @property
    def extensions(self) -> dict[str, Any]:
        """The object's ``x-`` keys (lab-specific fields), as written."""
        return dict(self.model_extra or {})


class Suppression(_Extensible):
    """One ``x-mpistd-ignore`` entry: silences ``rule`` for the object and everything below it."""

    rule: RuleId
    reason: Reason


class _Object(_Extensible):
    """A schema object: closed, ``x-`` extensions kept, inline suppressions parsed."""

    suppressions: Annotated[list[Suppression], Field(max_length=1000)] = Field(
        default_factory=list, alias="x-mpistd-ignore")


# --------------------------------------------------------------------------- shared definitions
class Axes(_Object):
    """One value per scanner axis (drive amplitude in mT): only the axes that apply are present."""

    x: NonNegative | None = None
    y: NonNegative | None = None
    z: NonNegative | None = None


class PositiveAxes(_Object):
    """One strictly positive value per axis (field of view, pixel spacing in mm)."""

    x: Positive | None = None
    y: Positive | None = None
    z: Positive | None = None


class MeanSd(_Object):
    """A percentage as mean ± SD."""

    mean: Percent
    sd: NonNegative | None = None


class Software(_Object):
    name: Name
    version: Tag | None = None


# --------------------------------------------------------------------------- dataset information
class Author(_Object):
    name: Name
    orcid: Orcid | None = None
    affiliation: Name | None = None


class DatasetInfo(_Object):
    id: Id
    title: Name
    description: Text | None = None
    created: DateString | None = None
    authors: Annotated[list[Author], Field(max_length=1000)] | None = None
    license: License | None = None
    doi: Doi | None = None
    references: Annotated[list[Reference], Field(max_length=1000)] | None = None


# --------------------------------------------------------------------------- tracer
class IronMassPerParticle(_Object):
    kind: Literal["iron_mass_per_particle"]
    iron_mass_per_particle_fg: Positive

    def iron_mass_per_particle_ug(self) -> float:
        return particle_iron_mass_ug("iron_mass_per_particle", self)


class SphericalCore(_Object):
    """m = ρ·(π/6)·d³·f_Fe; the defaults are magnetite's."""

    kind: Literal["spherical_core"]
    core_diameter_nm: Positive
    density_g_per_cm3: Positive = 5.17
    iron_mass_fraction: Annotated[float, Field(gt=0, le=1)] = 0.724

    def iron_mass_per_particle_ug(self) -> float:
        return particle_iron_mass_ug("spherical_core", self)


ParticleModel = Annotated[Union[IronMassPerParticle, SphericalCore], Field(discriminator="kind")]


class Tracer(_Object):
    id: Id
    name: Name
    vendor: Name | None = None
    product_code: Name | None = None
    lot: Name | None = None
    coating: Name | None = None
    core_material: Literal["magnetite", "maghemite", "mixed", "other"] | None = None
    hydrodynamic_diameter_nm: Positive | None = None
    stock_iron_concentration_ug_per_uL: Positive | None = None
    stock_concentration_method: Literal["icp-oes", "icp-ms", "ferrozine", "manufacturer", "other"] | None = None
    particle_model: ParticleModel | None = None


# --------------------------------------------------------------------------- acquisition
class Scanner(_Object):
    manufacturer: Name
    model: Name
    software_version: Tag | None = None


class SampleHolder(_Object):
    kind: Name | None = None
    position: Tag | None = None


class ReceiverCorrection(_Object):
    """``images_corrected`` true: images and metrics already corrected, mpistd applies nothing."""

    images_corrected: bool = True
    method: Literal["lookup_table", "polynomial"] | None = None
    table: Annotated[
        list[Annotated[list[float], Field(min_length=2, max_length=2)]], Field(min_length=2, max_length=MAX_LIST)
    ] | None = None
    coefficients: Annotated[list[float], Field(min_length=1, max_length=100)] | None = None

    @model_validator(mode="after")
    def _method_needs_its_data(self) -> ReceiverCorrection:
        if self.method == "lookup_table" and self.table is None:
            raise ValueError("a lookup_table correction needs its table")
        if self.method == "polynomial" and self.coefficients is None:
            raise ValueError("a polynomial correction needs its coefficients")
        return self


class Acquisition(_Object):
    id: Id
    scanner: Scanner | None = None
    mode: Literal["high_sensitivity", "high_resolution", "custom"] | None = None
    dimensionality: Literal["2d", "3d"] | None = None
    gradient_T_per_m: Positive | None = None
    drive_frequency_kHz: Positive | None = None
    drive_amplitude_mT: Axes | None = None
    fov_mm: PositiveAxes | None = None
    pixel_size_mm: PositiveAxes | None = None
    sample_holder: SampleHolder | None = None
    saturation_level: Positive | None = None
    receiver_correction: ReceiverCorrection | None = None


# --------------------------------------------------------------------------- analysis
PixelRange = Annotated[list[Annotated[int, BeforeValidator(_integral), Field(ge=0)]], Field(min_length=2, max_length=2)]


class BackgroundRoi(_Object):
    """Pixel index ranges [start, stop) per image axis."""

    z: PixelRange | None = None
    y: PixelRange | None = None
    x: PixelRange | None = None


class Noise(_Object):
    method: Literal["empty_holder", "background_roi", "other"] | None = None
    sd: NonNegative | None = None
    background_roi: BackgroundRoi | None = None


class Threshold(_Object):
    rule: Literal["k_sd"] = "k_sd"
    k: Positive = 5


class RoiSpec(_Object):
    method: Literal["threshold_all", "threshold_connected", "manual"] = "threshold_all"


class FwhmSpec(_Object):
    axis: Literal["x", "y", "z"] = "x"
    model: Literal["lorentzian"] = "lorentzian"


class SpacingSpec(_Object):
    """The interparticle-distance estimator."""

    estimator: Literal["wigner_seitz", "cubic", "nearest_neighbour"] = "wigner_seitz"


class Analysis(_Object):
    noise: Noise | None = None
    threshold: Threshold | None = None
    roi: RoiSpec | None = None
    fwhm: FwhmSpec | None = None
    interparticle_distance: SpacingSpec | None = None
    software: Software | None = None


# --------------------------------------------------------------------------- calibration
class Labelling(_Object):
    iron_concentration_ug_per_mL: Positive | None = None
    duration_h: Positive | None = None
    medium: Name | None = None


class Environment(_Object):
    kind: Literal["solution", "cells", "tissue", "gel", "in_vivo"]
    medium: Name | None = None
    cell_type: Name | None = None
    labelling: Labelling | None = None
    labelling_efficiency_percent: MeanSd | None = None
    viability_percent: Percent | None = None
    iron_per_cell_pg: NonNegative | None = None


class ImageSlice(_Object):
    """One file of a slice series (1.1)."""

    path: RelativePath
    sha256: Sha256


FileIndex = Annotated[int, BeforeValidator(_integral), Field(ge=0, le=2147483647)]


class ImageRef(_Object):
    path: RelativePath | None = None  # required unless slices (1.1) is given
    format: Literal["npy", "tiff", "dicom", "mdf"] | None = None
    sha256: Sha256 | None = None
    pixel_size_mm: PositiveAxes | None = None
    frame: FileIndex | None = None  # 1.1
    channel: FileIndex | None = None  # 1.1
    magnitude: bool = False  # 1.1
    slices: Annotated[list[ImageSlice], Field(min_length=1, max_length=4096)] | None = None  # 1.1

    @model_validator(mode="after")
    def _path_or_slices(self) -> "ImageRef":
        if self.slices is None and self.path is None:
            raise ValueError("an image needs a path (or, in 1.1, slices)")
        if self.slices is not None and self.format != "dicom":
            raise ValueError('a slice series needs format "dicom"')
        return self


class Replicate(_Object):
    max_intensity: Number | None = None
    total_intensity: Number | None = None
    mean_intensity: Number | None = None
    roi_area_mm2: NonNegative | None = None
    roi_volume_mm3: NonNegative | None = None
    fwhm_mm: NonNegative | None = None
    holder_position: Tag | None = None
    image: ImageRef | None = None

    # "at least one metric" is checked by Point for all its replicates at once: a validator per
    # replicate costs more than the rest of the replicate's validation

    def metric(self, name: str) -> float | None:
        return getattr(self, name) if name in METRICS else None


class Point(_Object):
    sample_id: Label
    iron_mass_ug: NonNegative | None = None
    iron_mass_method: Literal["icp-oes", "icp-ms", "ferrozine", "nominal", "manufacturer"] | None = None
    volume_uL: Positive | None = None
    concentration_ug_per_uL: NonNegative | None = None
    interparticle_distance_nm: Positive | None = None
    cell_count: Count | None = None
    replicates: Annotated[list[Replicate], Field(min_length=1, max_length=MAX_OBJECTS)]

    def concentration(self, final_volume_uL: float | None = None) -> float | None:
        """Iron concentration in µg/µL: as reported, else iron mass / volume (``volume_uL``, or the
        series' ``final_volume_uL`` for a fixed-volume series), else None."""
        return point_concentration(self, final_volume_uL)

    @model_validator(mode="after")
    def _replicates_have_a_metric(self) -> "Point":
        for k, rep in enumerate(self.replicates):
            if rep.max_intensity is None and rep.total_intensity is None and rep.mean_intensity is None:
                raise ValueError(f"replicate {k}: a replicate needs at least one of " + ", ".join(METRICS))
        return self


class ReportedFit(_Object):
    metric: Metric
    model: Literal["linear"] = "linear"
    slope: Number
    intercept: Number | None = None
    r_squared: Annotated[float, Field(le=1)] | None = None
    through_origin: bool = False
    weighting: Literal["none", "1/x", "1/x2"] = "none"
    fitted_to: Literal["replicates", "level_means"] = "replicates"
    software: Software | None = None


class Blank(_Object):
    """A blank measured like the series' points but without tracer (1.1)."""

    metric: Metric
    signal: Annotated[list[float], Field(min_length=1, max_length=MAX_LIST)] | None = None
    signal_variance: NonNegative | None = None

    @model_validator(mode="after")
    def _signal_or_variance(self) -> "Blank":
        if self.signal is None and self.signal_variance is None:
            raise ValueError("a blank needs at least one of signal, signal_variance")
        return self

    def variance(self) -> float | None:
        """The variance of one reading: as reported, else the sample variance (n − 1) of the
        readings, else None (a single reading)."""
        return blank_variance(self)

    def mean(self) -> float | None:
        return blank_mean(self)


class Calibration(_Object):
    id: Id
    tracer: Id
    acquisition: Id
    environment: Environment
    method: Literal["fixed_concentration", "fixed_volume", "cell_number", "other"]
    independent_variable: Literal["iron_mass_ug", "cell_count"]
    final_volume_uL: Positive | None = None
    paired_with: Id | None = None
    points: Annotated[list[Point], Field(min_length=1, max_length=MAX_OBJECTS)]
    fits: Annotated[list[ReportedFit], Field(max_length=100)] | None = None
    blanks: Annotated[list[Blank], Field(max_length=3)] | None = None  # 1.1

    def blank_for(self, metric: str) -> "Blank | None":
        """The blank measured with this metric (1.1), if any."""
        return calibration_blank_for(self, metric)  # type: ignore[no-any-return]

    @model_validator(mode="after")
    def _conditional_requirements(self) -> Calibration:
        problems = []
        if self.method == "fixed_volume" and self.final_volume_uL is None:
            problems.append("a fixed_volume calibration states its final_volume_uL")
        if self.method == "cell_number" and self.independent_variable != "cell_count":
            problems.append("a cell_number calibration has independent_variable cell_count")
        x = self.independent_variable
        lacking = [p.sample_id for p in self.points if getattr(p, x) is None]
        if lacking:
            problems.append(f"every point of a {x} calibration states its {x} (missing at {', '.join(lacking[:5])})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def metrics_present(self) -> tuple[str, ...]:
        """The metrics (of max, total, mean intensity) present in every replicate of the series."""
        return calibration_metrics_present(self)

    def concentrations(self) -> list[float | None]:
        """Each point's concentration in µg/µL (see :meth:`Point.concentration`)."""
        return [p.concentration(self.final_volume_uL) for p in self.points]


# --------------------------------------------------------------------------- quantification
class ReportedEstimate(_Object):
    iron_mass_ug: NonNegative | None = None
    cell_count: Count | None = None

    @model_validator(mode="after")
    def _one_estimate(self) -> ReportedEstimate:
        if self.iron_mass_ug is None and self.cell_count is None:
            raise ValueError("a reported estimate needs at least one of iron_mass_ug, cell_count")
        return self


class Quantification(_Object):
    id: Id
    sample_id: Label | None = None
    tracer: Id
    acquisition: Id
    environment: Environment
    calibration: Id
    metric: Metric
    signal: Annotated[list[float], Field(min_length=1, max_length=MAX_LIST)]
    signal_variance: NonNegative | None = None  # 1.1
    reported: ReportedEstimate | None = None
    holder_position: Tag | None = None
    image: ImageRef | None = None


# --------------------------------------------------------------------------- top level
class Dataset(_Object):
    schema_version: Literal["1.0", "1.1"]
    dataset: DatasetInfo
    tracers: Annotated[list[Tracer], Field(min_length=1, max_length=MAX_OBJECTS)]
    acquisitions: Annotated[list[Acquisition], Field(min_length=1, max_length=MAX_OBJECTS)]
    analysis: Analysis
    calibrations: Annotated[list[Calibration], Field(min_length=1, max_length=MAX_OBJECTS)]
    quantifications: Annotated[list[Quantification], Field(max_length=MAX_OBJECTS)] | None = None

    # Lookups by id. With duplicated ids (MPI004) the first object wins.
    @cached_property
    def tracer_by_id(self) -> dict[str, Tracer]:
        return by_id(self.tracers)

    @cached_property
    def acquisition_by_id(self) -> dict[str, Acquisition]:
        return by_id(self.acquisitions)

    @cached_property
    def calibration_by_id(self) -> dict[str, Calibration]:
        return by_id(self.calibrations)


def parse_dataset(document: Any) -> Dataset:
    """The model of a document (raises ``pydantic.ValidationError`` where the schema would fail)."""
    return Dataset.model_validate(document)
