"""A cheaper ``__init__`` for the frozen, slotted result dataclasses of :mod:`mpistd.quantify`.

A frozen dataclass's generated ``__init__`` sets every field with
``object.__setattr__(self, name, value)``, looking the function up again for each field of each
object. The fits of one dataset build a few hundred such results (a ``LevelBackCalc`` per level
of every line, a ``LineFit``, its diagnostics and three ``Limits`` per line), and that lookup is
about half of what their construction costs. :func:`quick_init` gives such a class an
``__init__`` with the very same parameters and defaults that stores each value through its
slot's own setter, bound once when the class is made: the same object, fields and values (and
still frozen: assigning a field afterwards raises ``FrozenInstanceError``).
"""
from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass
from types import FunctionType
from typing import TypeVar

_T = TypeVar("_T")


def quick_init(cls: type[_T]) -> type[_T]:
    """Replace the generated ``__init__`` of the frozen slotted dataclass ``cls`` (decorate above
    ``@dataclass(frozen=True, slots=True)``). Refuses classes it would change the meaning of:
    not frozen or not slotted, a ``__post_init__``, a ``default_factory``, an init-less or
    keyword-only field."""
    params = getattr(cls, "__dataclass_params__", None)
    if not is_dataclass(cls) or params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: quick_init is for frozen slotted dataclasses")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: a __post_init__ would no longer run")
    names: list[str] = []
    defaults: dict[str, object] = {}
    for f in fields(cls):
        if f.default_factory is not MISSING or not f.init or f.kw_only:
            raise TypeError(f"{cls.__name__}.{f.name}: quick_init takes plain positional fields only")
        names.append(f.name)
        if f.default is not MISSING:
            defaults[f.name] = f.default
    signature = ", ".join(f"{n}=_default_{n}" if n in defaults else n for n in names)
    source = "\n".join([f"def __init__(self, {signature}):", *(f"    _set_{n}(self, {n})" for n in names)])
    namespace: dict[str, object] = {f"_set_{n}": cls.__dict__[n].__set__ for n in names}
    namespace.update({f"_default_{n}": v for n, v in defaults.items()})
    exec(source, namespace)  # noqa: S102 - source built above from the field names only
    init = namespace["__init__"]
    assert isinstance(init, FunctionType)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)
    return cls
