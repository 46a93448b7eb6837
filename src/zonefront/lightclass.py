"""The part of `dataclasses` the record classes use (fields with defaults or
default factories, eq, repr, frozen, slots, `replace`, `fields`), made for
the time a server takes from exec to its first answer.

Every class a `serve --zone-file` start defines is on that path (the model,
the zone set, the compiler's records, the image layout).  The standard
`dataclasses` imports `inspect` (and with it ast, dis, tokenize: ~25M
instructions) and spends ~2.5M instructions building each class (4.7M a
frozen one) on checks these classes never need; here a class costs one
small generated `__init__`.  What the classes behave like is unchanged:
positional and keyword construction in field order, default factories
called per instance, field-wise equality (unhashable unless frozen),
frozen instances refusing assignment, `__slots__` when asked.
"""
from __future__ import annotations

from operator import attrgetter

_MISSING = object()


class Field:
    """A field's default (or the factory making one per instance)."""

    __slots__ = ("name", "default", "default_factory")

    def __init__(self, default=_MISSING, default_factory=_MISSING):
        self.name = ""
        self.default = default
        self.default_factory = default_factory


def field(*, default=_MISSING, default_factory=_MISSING) -> Field:
    return Field(default, default_factory)


def fields(cls_or_obj) -> tuple[Field, ...]:
    """The record's fields, in declaration order."""
    return cls_or_obj.__record_fields__


def replace(obj, **changes):
    """A copy of `obj` with `changes` applied (through `__init__`)."""
    kwargs = {f.name: getattr(obj, f.name) for f in obj.__record_fields__}
    for name in changes:
        if name not in kwargs:
            raise TypeError(f"{type(obj).__name__} has no field {name!r}")
    kwargs.update(changes)
    return obj.__class__(**kwargs)


def _is_classvar(annotation) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__qualname__", "")
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _eq(self, other):
    if other.__class__ is self.__class__:
        values = self.__record_values__
        return values(self) == values(other)
    return NotImplemented


def _hash(self):
    return hash(self.__record_values__(self))


def _repr(self):
    inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_names__)
    return f"{type(self).__qualname__}({inner})"


def _frozen_setattr(self, name, value):
    raise AttributeError(f"cannot assign to field {name!r} of a frozen record")


def _frozen_delattr(self, name):
    raise AttributeError(f"cannot delete field {name!r} of a frozen record")


def _make_methods(cls_fields: list[Field], frozen: bool, qualname: str) -> dict:
    """`__init__` as source compiled once per class (as fast per instance
    as a hand-written one), field-wise `__eq__`, a frozen record's `__hash__`."""
    params, body, env = [], [], {"_MISSING": _MISSING}
    for f in cls_fields:
        n = f.name
        if f.default_factory is not _MISSING:
            env[f"_factory_{n}"] = f.default_factory
            params.append(f"{n}=_MISSING")
            value = f"_factory_{n}() if {n} is _MISSING else {n}"
        elif f.default is not _MISSING:
            env[f"_default_{n}"] = f.default
            params.append(f"{n}=_default_{n}")
            value = n
        else:
            if any("=" in p for p in params):
                raise TypeError(f"{qualname}: non-default field {n!r} follows a default one")
            params.append(n)
            value = n
        body.append(f"    _set(self, {n!r}, {value})" if frozen else f"    self.{n} = {value}")
    if frozen:
        env["_set"] = object.__setattr__
    src = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(src, env)  # noqa: S102: the source is built above from the class's own field names
    init = env["__init__"]
    init.__qualname__ = f"{qualname}.__init__"
    # the fields as one tuple, read in C (a generated __eq__ would cost
    # another compile per class; attrgetter compares as fast)
    values = attrgetter(*[f.name for f in cls_fields]) if cls_fields else (lambda obj: ())
    return {"__init__": init, "__eq__": _eq, "__hash__": _hash if frozen else None,
            "__record_values__": staticmethod(values)}


def dataclass(cls=None, /, *, frozen: bool = False, slots: bool = False):
    """`@dataclass`, `@dataclass(frozen=True)` or `@dataclass(slots=True)`."""

    def wrap(cls):
        cls_fields: list[Field] = []
        own = cls.__dict__
        for name, annotation in own.get("__annotations__", {}).items():
            if _is_classvar(annotation):
                continue
            default = own.get(name, _MISSING)
            f = default if isinstance(default, Field) else Field(default)
            f.name = name
            if isinstance(f.default, (list, dict, set)):
                raise ValueError(f"{cls.__qualname__}.{name}: a mutable default needs default_factory")
            cls_fields.append(f)
        names = tuple(f.name for f in cls_fields)
        methods = _make_methods(cls_fields, frozen, cls.__qualname__)
        if "__eq__" in own:
            del methods["__eq__"]
        if "__repr__" not in own:
            methods["__repr__"] = _repr
        methods.update(__record_fields__=tuple(cls_fields), __record_names__=names,
                       __match_args__=names)
        if frozen:
            methods["__setattr__"] = _frozen_setattr
            methods["__delattr__"] = _frozen_delattr
        if slots:  # slots are fixed when a class is made: make it again, as dataclasses does
            body = {k: v for k, v in own.items()
                    if k not in ("__dict__", "__weakref__") and k not in names}
            body.update(methods, __slots__=names)
            return type(cls)(cls.__name__, cls.__bases__, body)
        for f in cls_fields:  # a factory's Field is not left as a class attribute
            if f.default is _MISSING and f.name in own:
                delattr(cls, f.name)
        for k, v in methods.items():
            setattr(cls, k, v)
        return cls

    return wrap if cls is None else wrap(cls)
