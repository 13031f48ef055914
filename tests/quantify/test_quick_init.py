"""quick_init (mpistd/quantify/_frozen.py) replaces the generated __init__ of the frozen result
dataclasses: every class must still take the same arguments, store the same values, keep its
defaults and stay frozen — checked against the dataclass machinery's own description of the
class (dataclasses.fields) and against a twin class that keeps the generated __init__."""
from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from mpistd.quantify import calibration, limits
from mpistd.quantify._frozen import quick_init

CLASSES = [calibration.Skipped, calibration.Unusable, calibration.LineFit, calibration.LackOfFit,
           calibration.Mandel, calibration.LevelBackCalc, calibration.Homoscedasticity, calibration.Diagnosed,
           limits.Limits, limits.Fieller, limits.Simultaneous, limits.InversePrediction]


def _twin(cls):
    """The same fields in a class that keeps the dataclass-generated __init__."""
    spec = [(f.name, f.type, dataclasses.field(default=f.default) if f.default is not dataclasses.MISSING
             else dataclasses.field()) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass(cls.__name__, spec, frozen=True, slots=True)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_same_arguments_values_defaults_and_frozenness(cls):
    fs = dataclasses.fields(cls)
    twin = _twin(cls)
    def params(c):
        return [(p.name, p.kind, p.default) for p in inspect.signature(c).parameters.values()]

    assert params(cls) == params(twin)
    values = [object() for _ in fs]  # distinct markers: each must land in its own field
    by_position = cls(*values)
    by_keyword = cls(**{f.name: v for f, v in zip(fs, values)})
    reference = twin(*values)
    for f, v in zip(fs, values):
        assert getattr(by_position, f.name) is v
        assert getattr(by_keyword, f.name) is v
        assert getattr(reference, f.name) is v
    required = [f for f in fs if f.default is dataclasses.MISSING]
    with_defaults = cls(*values[: len(required)])
    for f in fs[len(required):]:
        assert getattr(with_defaults, f.name) == f.default == getattr(twin(*values[: len(required)]), f.name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(by_position, fs[0].name, 1)
    with pytest.raises(TypeError):
        cls(*values, None)  # one argument too many, as the generated __init__
    if required:
        with pytest.raises(TypeError):
            cls(*values[: len(required) - 1])
    assert by_position == by_keyword
    assert dataclasses.replace(by_position, **{fs[0].name: 5}).__getattribute__(fs[0].name) == 5


def test_real_results_hash_pickle_and_compare_as_before():
    fit = calibration.fit_line([1.0, 2.0, 3.0, 4.0], [2.1, 3.9, 6.2, 7.8])
    assert pickle.loads(pickle.dumps(fit)) == fit
    assert hash(calibration.Skipped("a", "b")) == hash(calibration.Skipped("a", "b"))
    assert calibration.LevelBackCalc(1.0, 2.0, 3.0, None, 3) != calibration.LevelBackCalc(1.0, 2.0, 3.0, 0.5, 3)


def test_refuses_classes_whose_meaning_it_would_change():
    @dataclasses.dataclass
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: tuple = dataclasses.field(default_factory=tuple)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Post:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (Mutable, Factory, Post):
        with pytest.raises(TypeError):
            quick_init(cls)
