"""Plain frozen dataclasses <-> JSON-ready dicts, strictly: an unknown key is an error.

Checkpoints and run directories store configurations as JSON (never pickles); this turns
them back into the dataclasses that build the modules.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def to_dict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(x) for x in obj]
    return obj


def config_dict(obj: Any) -> Any:
    """`dataclasses.asdict`, leaving out options a class added after checkpoints were first
    written while they are at their defaults (its `LATER_DEFAULTS`), so that those checkpoints
    keep their config and fingerprint."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        later = getattr(type(obj), "LATER_DEFAULTS", {})
        return {f.name: config_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not (f.name in later and getattr(obj, f.name) == later[f.name])}
    if isinstance(obj, (list, tuple)):
        return [config_dict(x) for x in obj]
    return obj


def from_dict(cls: type[T], data: Any, where: str = "config") -> T:
    """Rebuild dataclass `cls` from `data`, recursing into dataclass-typed fields."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object for {cls.__name__}, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown} for {cls.__name__}")
    kwargs = {}
    for key, value in data.items():
        kwargs[key] = _convert(hints[key], value, f"{where}.{key}")
    return cls(**kwargs)


def _convert(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(hint):
            if dataclasses.is_dataclass(arm) and isinstance(value, dict):
                return from_dict(arm, value, where)
        return value
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    return value
