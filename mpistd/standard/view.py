"""A plain typed view of a document that has passed the schema: the pipeline's fast model.

:mod:`mpistd.standard.model` (pydantic) is the model users and the API see; building its
validator costs a start-up of ~90 ms and each dataset's validation ~0.6 ms. The pipeline does
not need a second validation of what the JSON Schema has just accepted: it needs typed access.
This module gives it that access without pydantic. ``view_dataset(document)`` builds, from a
document that

- came through the loader (:mod:`mpistd.load.documents`: JSON values only: string keys, finite
  floats, integers a double holds, lists, no lone surrogates), and
- passed the schema (:func:`mpistd.standard.schema.check_document` found nothing),

objects with the same class names, attribute names, values and types as the pydantic model's
(a ``number`` field holds a float, ``5`` read as ``5.0``; an ``integer`` field an int, ``1e5`` read
as ``100000``; defaults as the model's, ``threshold.k`` the int 5), the same methods, and
``extensions``, ``suppressions``, ``model_extra``, ``model_fields_set`` and ``model_dump``.

It checks nothing: for any other input (an in-memory mapping of the Python API, which may hold
a NaN, a tuple, a lone surrogate) the pipeline uses the pydantic model, which refuses what the
schema refuses (MPI002). ``tests/core/test_view.py`` holds the two together: the field tables
here against the pydantic classes (names, JSON keys, defaults, value kinds), and the built
objects against ``parse_dataset`` on every reference document and on random valid mutations.
"""
from __future__ import annotations

import math
from functools import cached_property
from typing import Any, Callable, ClassVar

__all__ = ["view_dataset", "VIEW_CLASSES", "METRICS"]

METRICS: tuple[str, ...] = ("max_intensity", "total_intensity", "mean_intensity")
INLINE_KEY = "x-mpistd-ignore"

Converter = Callable[[Any], Any] | None


# --------------------------------------------------------------------------- value conversions
def _integral(value: Any) -> Any:
    """An ``integer`` field: JSON Schema's integer takes 1e5 and 3.0 (as the model's _integral)."""
    return int(value) if type(value) is float else value


def _floats(values: list[Any]) -> list[float]:
    return list(map(float, values))


def _float_pairs(values: list[list[Any]]) -> list[list[float]]:
    return [list(map(float, pair)) for pair in values]


def _integrals(values: list[Any]) -> list[int]:
    return list(map(_integral, values))


def _strings(values: list[str]) -> list[str]:
    return list(values)


# --------------------------------------------------------------------------- behaviour shared with the model
# The pydantic model's methods call these too: one implementation of each.
def particle_iron_mass_ug(kind: str, obj: Any) -> float:
    """Iron mass per particle in µg: as given, or m = ρ·(π/6)·d³·f_Fe for a spherical core."""
    if kind == "iron_mass_per_particle":
        return float(obj.iron_mass_per_particle_fg * 1e-9)
    diameter_cm = obj.core_diameter_nm * 1e-7
    grams = obj.density_g_per_cm3 * math.pi / 6.0 * diameter_cm**3 * obj.iron_mass_fraction
    return float(grams * 1e6)


def point_concentration(point: Any, final_volume_uL: float | None) -> float | None:
    """Iron concentration in µg/µL: as reported, else iron mass / volume (``volume_uL``, or the
    series' ``final_volume_uL`` for a fixed-volume series), else None."""
    if point.concentration_ug_per_uL is not None:
        return float(point.concentration_ug_per_uL)
    volume = point.volume_uL if point.volume_uL is not None else final_volume_uL
    if point.iron_mass_ug is None or volume is None:
        return None
    return float(point.iron_mass_ug / volume)


def blank_variance(blank: Any) -> float | None:
    """The variance of one reading: as reported, else the sample variance (n − 1) of the
    readings, else None (a single reading)."""
    if blank.signal_variance is not None:
        return float(blank.signal_variance)
    signal = blank.signal
    if signal is None or len(signal) < 2:
        return None
    mean = sum(signal) / len(signal)
    return float(sum((v - mean) ** 2 for v in signal) / (len(signal) - 1))


def blank_mean(blank: Any) -> float | None:
    return float(sum(blank.signal) / len(blank.signal)) if blank.signal else None


def calibration_blank_for(calibration: Any, metric: str) -> Any:
    """The blank measured with this metric (1.1), if any."""
    for blank in calibration.blanks or ():
        if blank.metric == metric:
            return blank
    return None


def calibration_metrics_present(calibration: Any) -> tuple[str, ...]:
    """The metrics (of max, total, mean intensity) present in every replicate of the series."""
    replicates = [r for p in calibration.points for r in p.replicates]
    return tuple(m for m in METRICS if all(getattr(r, m) is not None for r in replicates))


def by_id(objects: list[Any]) -> dict[str, Any]:
    """Lookup by id; with duplicated ids (MPI004) the first object wins."""
    index: dict[str, Any] = {}
    for obj in objects:
        index.setdefault(obj.id, obj)
    return index


# --------------------------------------------------------------------------- the view classes
class _View:
    """A schema object read from a schema-valid document: fields as attributes."""

    #: (attribute, JSON key, converter or None, default) for each field, in the model's order
    FIELDS: ClassVar[tuple[tuple[str, str, Converter, Any], ...]] = ()
    _by_key: ClassVar[dict[str, tuple[str, Converter]]] = {}
    _defaults: ClassVar[dict[str, Any]] = {}
    _raw: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._by_key = {key: (attr, conv) for attr, key, conv, _ in cls.FIELDS}
        cls._defaults = {attr: default for attr, _, _, default in cls.FIELDS if attr != "suppressions"}
        cls._build = staticmethod(_builder(cls))

    #: the class's builder, written out field by field (see _builder)
    _build: ClassVar[Callable[[dict[str, Any]], Any]]

    @classmethod
    def build(cls, raw: dict[str, Any]) -> Any:
        """The object of the schema-valid JSON object ``raw``."""
        return cls._build(raw)

    @classmethod
    def _build_general(cls, raw: dict[str, Any]) -> Any:
        """build, key by key: for any ``raw``, extensions and suppressions included (_builder's
        fast path gives the same objects for the objects it takes)."""
        obj = cls.__new__(cls)
        values = obj.__dict__
        values.update(cls._defaults)
        by_key = cls._by_key
        for key, value in raw.items():
            entry = by_key.get(key)
            if entry is not None:  # else an x- extension, kept in raw
                attr, conv = entry
                values[attr] = value if conv is None else conv(value)
        values["_raw"] = raw  # suppressions: set above if raw has some, else made when asked (_Object)
        return obj

    @property
    def model_extra(self) -> dict[str, Any]:
        """The object's keys that are no field: the ``x-`` extensions, as written."""
        by_key = self._by_key
        return {k: v for k, v in self._raw.items() if k not in by_key}

    @property
    def extensions(self) -> dict[str, Any]:
        """The object's ``x-`` keys (lab-specific fields), as written."""
        return self.model_extra

    @property
    def model_fields_set(self) -> set[str]:
        """The fields the document gave (not defaulted), and its extension keys (as pydantic's)."""
        by_key = self._by_key
        return {by_key[k][0] if k in by_key else k for k in self._raw}

    def model_dump(self, *, exclude_none: bool = False) -> dict[str, Any]:
        """The fields by attribute name, nested objects as dicts, then the extensions (as
        pydantic's model_dump)."""
        out: dict[str, Any] = {}
        for attr, *_ in self.FIELDS:
            value = _dump(getattr(self, attr), exclude_none)
            if value is not None or not exclude_none:
                out[attr] = value
        out.update((k, x) for k, x in self.model_extra.items() if x is not None or not exclude_none)
        return out

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _View)
        return all(getattr(self, a) == getattr(other, a) for a, *_ in self.FIELDS) \
            and self.model_extra == other.model_extra

    __hash__ = None  # type: ignore[assignment]  # mutable, like a pydantic model

    def __repr__(self) -> str:
        shown = ", ".join(f"{a}={getattr(self, a)!r}" for a, *_ in self.FIELDS if getattr(self, a) is not None)
        return f"{type(self).__name__}({shown})"


def _builder(cls: type[_View]) -> Callable[[dict[str, Any]], Any]:
    """``cls``'s build as a function written out for its fields, as dataclasses writes an
    ``__init__``: the pipeline builds ~230 objects per dataset, and the key-by-key loop of
    _build_general spends most of its time on steps that are the same for every object of a class.

    A field's attribute is named as its JSON key (but ``suppressions``, whose key is
    ``x-mpistd-ignore``), so when every key of ``raw`` is one of the defaults' keys (no extension,
    no suppression) the attributes are the defaults updated with ``raw`` in two C steps, in the
    defaults' order (_build_general's order); then each field with a converter that ``raw``
    gives is converted as _build_general converts it (``float`` returns a float unchanged, so a
    float field is converted only when its value is no float). Any other ``raw`` goes to
    _build_general (the object begun is dropped). The values go into the object's own
    ``__dict__``: a dict assigned to ``__dict__`` builds a little faster, but its attributes
    read ~18 % slower in what follows (quantities, rules), not being the class's shared-key dict."""
    names: dict[str, Any] = {"defaults": cls._defaults, "general": cls._build_general, "new": object.__new__,
                             "cls": cls}
    lines = ["def build(raw):",
             "    obj = new(cls)",
             "    values = obj.__dict__",
             "    values.update(defaults)",
             "    values.update(raw)",
             f"    if len(values) != {len(cls._defaults)}:",
             "        return general(raw)"]
    for attr, key, conv, _ in cls.FIELDS:
        if attr == "suppressions":
            continue
        if attr != key:  # pragma: no cover - a field table error, caught when the module is imported
            raise TypeError(f"{cls.__name__}.{attr}: an attribute named as its key {key!r} is expected")
        if conv is float:
            lines += [f"    x = values[{key!r}]",
                      f"    if type(x) is not float and {key!r} in raw:",
                      f"        values[{key!r}] = float(x)"]
        elif conv is not None:
            names[f"conv_{attr}"] = conv
            lines += [f"    if {key!r} in raw:",
                      f"        values[{key!r}] = conv_{attr}(raw[{key!r}])"]
    lines += ["    values['_raw'] = raw",
              "    return obj"]
    exec("\n".join(lines), names)  # the source is made of the field table's names only
    return names["build"]  # type: ignore[no-any-return]


def _dump(value: Any, exclude_none: bool) -> Any:
    if isinstance(value, _View):
        return value.model_dump(exclude_none=exclude_none)
    if isinstance(value, list):
        return [_dump(v, exclude_none) for v in value]
    return value


def _one(cls: type[_View]) -> Callable[[Any], Any]:
    """One nested object (``conv.__self__`` is its class)."""
    return cls.build


class _Many:
    """A list of nested objects of one class."""

    def __init__(self, cls: type[_View]) -> None:
        self.cls = cls
        self._build = cls._build

    def __call__(self, values: list[dict[str, Any]]) -> list[Any]:
        build = self._build
        return [build(v) for v in values]


def _many(cls: type[_View]) -> Callable[[Any], Any]:
    return _Many(cls)


def _optional(names: str, conv: Converter = None) -> tuple[tuple[str, str, Converter, Any], ...]:
    """Optional fields (default None) with one converter."""
    return tuple((name, name, conv, None) for name in names.split())


def _required(names: str, conv: Converter = None) -> tuple[tuple[str, str, Converter, Any], ...]:
    """Required fields (the schema guarantees them; no default is ever used)."""
    return _optional(names, conv)


class Suppression(_View):
    """One ``x-mpistd-ignore`` entry: silences ``rule`` for the object and everything below it."""

    FIELDS = _required("rule reason")
    rule: str
    reason: str


_SUPPRESSIONS = (("suppressions", INLINE_KEY, _many(Suppression), None),)


class _Object(_View):
    @cached_property
    def suppressions(self) -> list[Suppression]:
        """The object's ``x-mpistd-ignore`` entries (build sets them when the document gives
        some); else an empty list, made on first access and kept, so each object has its own, as
        the model's default_factory gives it. Not making the ~230 lists per dataset that the
        pipeline never reads (it reads suppressions from the document) saves their allocation
        and the collector's work on them."""
        return []


class Axes(_Object):
    FIELDS = _SUPPRESSIONS + _optional("x y z", float)
    x: float | None
    y: float | None
    z: float | None


class PositiveAxes(_Object):
    FIELDS = _SUPPRESSIONS + _optional("x y z", float)
    x: float | None
    y: float | None
    z: float | None


class MeanSd(_Object):
    FIELDS = _SUPPRESSIONS + _required("mean", float) + _optional("sd", float)
    mean: float
    sd: float | None


class Software(_Object):
    FIELDS = _SUPPRESSIONS + _required("name") + _optional("version")
    name: str
    version: str | None


class Author(_Object):
    FIELDS = _SUPPRESSIONS + _required("name") + _optional("orcid affiliation")
    name: str
    orcid: str | None
    affiliation: str | None


class DatasetInfo(_Object):
    FIELDS = (_SUPPRESSIONS + _required("id title") + _optional("description created")
              + _optional("authors", _many(Author)) + _optional("license doi") + _optional("references", _strings))
    id: str
    title: str
    description: str | None
    created: str | None
    authors: list[Author] | None
    license: str | None
    doi: str | None
    references: list[str] | None


class IronMassPerParticle(_Object):
    FIELDS = _SUPPRESSIONS + _required("kind") + _required("iron_mass_per_particle_fg", float)
    kind: str
    iron_mass_per_particle_fg: float

    def iron_mass_per_particle_ug(self) -> float:
        return particle_iron_mass_ug("iron_mass_per_particle", self)


class SphericalCore(_Object):
    FIELDS = (_SUPPRESSIONS + _required("kind") + _required("core_diameter_nm", float)
              + (("density_g_per_cm3", "density_g_per_cm3", float, 5.17),
                 ("iron_mass_fraction", "iron_mass_fraction", float, 0.724)))
    kind: str
    core_diameter_nm: float
    density_g_per_cm3: float
    iron_mass_fraction: float

    def iron_mass_per_particle_ug(self) -> float:
        return particle_iron_mass_ug("spherical_core", self)


def _particle_model(raw: dict[str, Any]) -> Any:
    """The discriminated union of the particle models (the schema guarantees a known kind)."""
    return (SphericalCore if raw["kind"] == "spherical_core" else IronMassPerParticle).build(raw)


class Tracer(_Object):
    FIELDS = (_SUPPRESSIONS + _required("id name") + _optional("vendor product_code lot coating core_material")
              + _optional("hydrodynamic_diameter_nm stock_iron_concentration_ug_per_uL", float)
              + _optional("stock_concentration_method") + _optional("particle_model", _particle_model))
    id: str
    name: str
    vendor: str | None
    product_code: str | None
    lot: str | None
    coating: str | None
    core_material: str | None
    hydrodynamic_diameter_nm: float | None
    stock_iron_concentration_ug_per_uL: float | None
    stock_concentration_method: str | None
    particle_model: IronMassPerParticle | SphericalCore | None


class Scanner(_Object):
    FIELDS = _SUPPRESSIONS + _required("manufacturer model") + _optional("software_version")
    manufacturer: str
    model: str
    software_version: str | None


class SampleHolder(_Object):
    FIELDS = _SUPPRESSIONS + _optional("kind position")
    kind: str | None
    position: str | None


class ReceiverCorrection(_Object):
    FIELDS = (_SUPPRESSIONS + (("images_corrected", "images_corrected", None, True),) + _optional("method")
              + _optional("table", _float_pairs) + _optional("coefficients", _floats))
    images_corrected: bool
    method: str | None
    table: list[list[float]] | None
    coefficients: list[float] | None


class Acquisition(_Object):
    FIELDS = (_SUPPRESSIONS + _required("id") + _optional("scanner", _one(Scanner)) + _optional("mode dimensionality")
              + _optional("gradient_T_per_m drive_frequency_kHz", float)
              + _optional("drive_amplitude_mT", _one(Axes)) + _optional("fov_mm pixel_size_mm", _one(PositiveAxes))
              + _optional("sample_holder", _one(SampleHolder)) + _optional("saturation_level", float)
              + _optional("receiver_correction", _one(ReceiverCorrection)))
    id: str
    scanner: Scanner | None
    mode: str | None
    dimensionality: str | None
    gradient_T_per_m: float | None
    drive_frequency_kHz: float | None
    drive_amplitude_mT: Axes | None
    fov_mm: PositiveAxes | None
    pixel_size_mm: PositiveAxes | None
    sample_holder: SampleHolder | None
    saturation_level: float | None
    receiver_correction: ReceiverCorrection | None


class BackgroundRoi(_Object):
    FIELDS = _SUPPRESSIONS + _optional("z y x", _integrals)
    z: list[int] | None
    y: list[int] | None
    x: list[int] | None


class Noise(_Object):
    FIELDS = (_SUPPRESSIONS + _optional("method") + _optional("sd", float)
              + _optional("background_roi", _one(BackgroundRoi)))
    method: str | None
    sd: float | None
    background_roi: BackgroundRoi | None


class Threshold(_Object):
    # the model's default k is the int 5 (pydantic does not convert defaults): so is the view's
    FIELDS = _SUPPRESSIONS + (("rule", "rule", None, "k_sd"), ("k", "k", float, 5))
    rule: str
    k: float


class RoiSpec(_Object):
    FIELDS = _SUPPRESSIONS + (("method", "method", None, "threshold_all"),)
    method: str


class FwhmSpec(_Object):
    FIELDS = _SUPPRESSIONS + (("axis", "axis", None, "x"), ("model", "model", None, "lorentzian"))
    axis: str
    model: str


class SpacingSpec(_Object):
    FIELDS = _SUPPRESSIONS + (("estimator", "estimator", None, "wigner_seitz"),)
    estimator: str


class Analysis(_Object):
    FIELDS = (_SUPPRESSIONS + _optional("noise", _one(Noise)) + _optional("threshold", _one(Threshold))
              + _optional("roi", _one(RoiSpec)) + _optional("fwhm", _one(FwhmSpec))
              + _optional("interparticle_distance", _one(SpacingSpec)) + _optional("software", _one(Software)))
    noise: Noise | None
    threshold: Threshold | None
    roi: RoiSpec | None
    fwhm: FwhmSpec | None
    interparticle_distance: SpacingSpec | None
    software: Software | None


class Labelling(_Object):
    FIELDS = _SUPPRESSIONS + _optional("iron_concentration_ug_per_mL duration_h", float) + _optional("medium")
    iron_concentration_ug_per_mL: float | None
    duration_h: float | None
    medium: str | None


class Environment(_Object):
    FIELDS = (_SUPPRESSIONS + _required("kind") + _optional("medium cell_type")
              + _optional("labelling", _one(Labelling)) + _optional("labelling_efficiency_percent", _one(MeanSd))
              + _optional("viability_percent iron_per_cell_pg", float))
    kind: str
    medium: str | None
    cell_type: str | None
    labelling: Labelling | None
    labelling_efficiency_percent: MeanSd | None
    viability_percent: float | None
    iron_per_cell_pg: float | None


class ImageSlice(_Object):
    FIELDS = _SUPPRESSIONS + _required("path sha256")
    path: str
    sha256: str


class ImageRef(_Object):
    FIELDS = (_SUPPRESSIONS + _optional("path format sha256") + _optional("pixel_size_mm", _one(PositiveAxes))
              + _optional("frame channel", _integral) + (("magnitude", "magnitude", None, False),)
              + _optional("slices", _many(ImageSlice)))
    path: str | None
    format: str | None
    sha256: str | None
    pixel_size_mm: PositiveAxes | None
    frame: int | None
    channel: int | None
    magnitude: bool
    slices: list[ImageSlice] | None


class Replicate(_Object):
    FIELDS = (_SUPPRESSIONS + _optional("max_intensity total_intensity mean_intensity", float)
              + _optional("roi_area_mm2 roi_volume_mm3 fwhm_mm", float) + _optional("holder_position")
              + _optional("image", _one(ImageRef)))
    max_intensity: float | None
    total_intensity: float | None
    mean_intensity: float | None
    roi_area_mm2: float | None
    roi_volume_mm3: float | None
    fwhm_mm: float | None
    holder_position: str | None
    image: ImageRef | None

    def metric(self, name: str) -> float | None:
        return getattr(self, name) if name in METRICS else None


class Point(_Object):
    FIELDS = (_SUPPRESSIONS + _required("sample_id") + _optional("iron_mass_ug", float) + _optional("iron_mass_method")
              + _optional("volume_uL concentration_ug_per_uL interparticle_distance_nm", float)
              + _optional("cell_count", _integral) + _required("replicates", _many(Replicate)))
    sample_id: str
    iron_mass_ug: float | None
    iron_mass_method: str | None
    volume_uL: float | None
    concentration_ug_per_uL: float | None
    interparticle_distance_nm: float | None
    cell_count: int | None
    replicates: list[Replicate]

    def concentration(self, final_volume_uL: float | None = None) -> float | None:
        return point_concentration(self, final_volume_uL)


class ReportedFit(_Object):
    FIELDS = (_SUPPRESSIONS + _required("metric") + (("model", "model", None, "linear"),)
              + _required("slope", float) + _optional("intercept r_squared", float)
              + (("through_origin", "through_origin", None, False), ("weighting", "weighting", None, "none"),
                 ("fitted_to", "fitted_to", None, "replicates"))
              + _optional("software", _one(Software)))
    metric: str
    model: str
    slope: float
    intercept: float | None
    r_squared: float | None
    through_origin: bool
    weighting: str
    fitted_to: str
    software: Software | None


class Blank(_Object):
    FIELDS = _SUPPRESSIONS + _required("metric") + _optional("signal", _floats) + _optional("signal_variance", float)
    metric: str
    signal: list[float] | None
    signal_variance: float | None

    def variance(self) -> float | None:
        return blank_variance(self)

    def mean(self) -> float | None:
        return blank_mean(self)


class Calibration(_Object):
    FIELDS = (_SUPPRESSIONS + _required("id tracer acquisition") + _required("environment", _one(Environment))
              + _required("method independent_variable") + _optional("final_volume_uL", float)
              + _optional("paired_with") + _required("points", _many(Point)) + _optional("fits", _many(ReportedFit))
              + _optional("blanks", _many(Blank)))
    id: str
    tracer: str
    acquisition: str
    environment: Environment
    method: str
    independent_variable: str
    final_volume_uL: float | None
    paired_with: str | None
    points: list[Point]
    fits: list[ReportedFit] | None
    blanks: list[Blank] | None

    def blank_for(self, metric: str) -> Blank | None:
        return calibration_blank_for(self, metric)  # type: ignore[no-any-return]

    def metrics_present(self) -> tuple[str, ...]:
        return calibration_metrics_present(self)

    def concentrations(self) -> list[float | None]:
        return [p.concentration(self.final_volume_uL) for p in self.points]


class ReportedEstimate(_Object):
    FIELDS = _SUPPRESSIONS + _optional("iron_mass_ug", float) + _optional("cell_count", _integral)
    iron_mass_ug: float | None
    cell_count: int | None


class Quantification(_Object):
    FIELDS = (_SUPPRESSIONS + _required("id") + _optional("sample_id") + _required("tracer acquisition")
              + _required("environment", _one(Environment)) + _required("calibration metric")
              + _required("signal", _floats) + _optional("signal_variance", float)
              + _optional("reported", _one(ReportedEstimate)) + _optional("holder_position")
              + _optional("image", _one(ImageRef)))
    id: str
    sample_id: str | None
    tracer: str
    acquisition: str
    environment: Environment
    calibration: str
    metric: str
    signal: list[float]
    signal_variance: float | None
    reported: ReportedEstimate | None
    holder_position: str | None
    image: ImageRef | None


class Dataset(_Object):
    FIELDS = (_SUPPRESSIONS + _required("schema_version") + _required("dataset", _one(DatasetInfo))
              + _required("tracers", _many(Tracer)) + _required("acquisitions", _many(Acquisition))
              + _required("analysis", _one(Analysis)) + _required("calibrations", _many(Calibration))
              + _optional("quantifications", _many(Quantification)))
    schema_version: str
    dataset: DatasetInfo
    tracers: list[Tracer]
    acquisitions: list[Acquisition]
    analysis: Analysis
    calibrations: list[Calibration]
    quantifications: list[Quantification] | None

    @cached_property
    def tracer_by_id(self) -> dict[str, Tracer]:
        return by_id(self.tracers)

    @cached_property
    def acquisition_by_id(self) -> dict[str, Acquisition]:
        return by_id(self.acquisitions)

    @cached_property
    def calibration_by_id(self) -> dict[str, Calibration]:
        return by_id(self.calibrations)


VIEW_CLASSES: tuple[type[_View], ...] = (
    Suppression, Axes, PositiveAxes, MeanSd, Software, Author, DatasetInfo, IronMassPerParticle, SphericalCore,
    Tracer, Scanner, SampleHolder, ReceiverCorrection, Acquisition, BackgroundRoi, Noise, Threshold, RoiSpec,
    FwhmSpec, SpacingSpec, Analysis, Labelling, Environment, ImageSlice, ImageRef, Replicate, Point, ReportedFit,
    Blank, Calibration, ReportedEstimate, Quantification, Dataset,
)


def view_dataset(document: dict[str, Any]) -> Dataset:
    """The typed view of a document read by the loader and accepted by the schema (see the
    module's docstring: for anything else, use :func:`mpistd.standard.model.parse_dataset`)."""
    return Dataset.build(document)  # type: ignore[no-any-return]
