"""Slots in a subclass of a class that has none: the base's class defaults they hide.

A connection's objects (the transport, a door's protocol) keep their attributes in
C{__slots__} rather than in a dict each (docs/performance.md, "Third pass"). When the
base class gives an attribute a class-level default (C{connected = 0}, C{transport =
None}...), a slot of that name hides it: read before it is set, it raises instead of
giving the default. L{fill_defaults} sets each such slot to the default it hides, which
a new instance does first.
"""

from __future__ import annotations

_MISSING = object()


def shadowed_defaults(cls: type) -> tuple[tuple[str, object], ...]:
    """The slots C{cls} declares that hide a class attribute of a base, with its value."""
    found = []
    for name in cls.__dict__.get("__slots__", ()):
        for base in cls.__mro__[1:]:
            value = base.__dict__.get(name, _MISSING)
            if value is not _MISSING:
                found.append((name, value))
                break
    return tuple(found)


def fill_defaults(instance: object, defaults: tuple[tuple[str, object], ...]) -> None:
    """Set each slot of C{defaults} (from L{shadowed_defaults}) on C{instance}."""
    for name, value in defaults:
        setattr(instance, name, value)
