"""A typed name -> object registry with decorator registration, lazy entries and plugins.

Built-in tasks and upstreams are declared as entry points exactly like third-party plugins,
so the core never imports `tasks` or `models`; entries load only when first asked for.
"""
from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Callable, Generic, Iterator, TypeVar, overload

from benchmark.errors import EarbenchError

T = TypeVar("T")


class UnknownNameError(EarbenchError, KeyError):
    """Asked for a name that no registration or plugin provides."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class DuplicateNameError(EarbenchError):
    """Two different objects claim the same name."""


def import_string(target: str) -> object:
    """Resolve `package.module:attr.sub` to the object it names."""
    module_name, _, attr = target.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Names of one kind (upstreams, tasks, suites, protocols, metrics)."""

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._objects: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
        self._plugins_loaded = entry_point_group is None

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...
    @overload
    def register(self, name: str, obj: T) -> T: ...

    def register(self, name: str, obj: T | None = None):  # type: ignore[no-untyped-def]
        """Register `obj` under `name`; without `obj`, return a decorator."""
        if obj is None:
            return lambda target: self.register(name, target)
        self._check_free(name, obj)
        self._objects[name] = obj
        return obj

    def register_lazy(self, name: str, target: str) -> None:
        """Register `module:attr`, imported only when `name` is first used."""
        if ":" not in target:
            raise ValueError(f"lazy {self.kind} {name!r}: target must be 'module:attr', got {target!r}")
        self._check_free(name, target)
        self._lazy[name] = target

    def _check_free(self, name: str, obj: object) -> None:
        existing = self._objects.get(name, self._lazy.get(name))
        if existing is not None and existing is not obj and existing != obj:
            raise DuplicateNameError(f"{self.kind} {name!r} is already registered ({existing!r})")

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name in self._objects or ep.name in self._lazy:
                if self._lazy.get(ep.name) == ep.value:
                    continue
                raise DuplicateNameError(
                    f"{self.kind} {ep.name!r} from plugin {ep.value!r} ({ep.group}) clashes with "
                    f"an existing registration")
            self._lazy[ep.name] = ep.value

    def get(self, name: str) -> T:
        if name in self._objects:
            return self._objects[name]
        self._load_plugins()
        if name in self._lazy:
            target = self._lazy[name]
            try:
                obj = import_string(target)
            except (ImportError, AttributeError) as err:
                raise EarbenchError(f"{self.kind} {name!r}: cannot import {target!r}: {err}") from err
            self._objects[name] = obj  # type: ignore[assignment]
            del self._lazy[name]
            return obj  # type: ignore[return-value]
        raise UnknownNameError(self.unknown_message(name))

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        listing = f" Known: {', '.join(self.names()) or '(none)'}." if not close else ""
        return f"unknown {self.kind} {name!r}{hint}{listing}"

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted({*self._objects, *self._lazy})

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._objects or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())
