"""A typed name -> object registry with decorator registration, lazy entries and plugins.

A package contributes names through entry points, so the core never imports `tasks` or
`models`. Each package declares all its built-ins in one module, as one `Plugin` named by
one entry point of the `earbench.plugins` group; a third-party package may do the same, or
name single objects in a kind's own group (`earbench.upstreams`, `earbench.tasks`, ...).
Either way nothing is imported until its name is first used.
"""
from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Callable, Generic, Iterator, Mapping, TypeVar, overload

from benchmark.errors import EarbenchError

T = TypeVar("T")

#: the entry-point group whose entries each name one package's `Plugin`
PLUGINS_GROUP = "earbench.plugins"


class UnknownNameError(EarbenchError, KeyError):
    """Asked for a name that no registration or plugin provides."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class DuplicateNameError(EarbenchError):
    """Two different objects claim the same name."""


@dataclass(frozen=True)
class Plugin:
    """What one package adds to the registries, keyed by the entry-point group of each kind.

    `entries`: group -> {name: "module:attr"}, each imported when its name is first used.
    `tables`: group -> "module:attr" of a dict {name: object}, imported when a name it may
    hold is first asked for (for many objects built in one module, such as the recipes).
    """

    entries: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    tables: Mapping[str, str] = field(default_factory=dict)


def import_string(target: str) -> object:
    """Resolve `package.module:attr.sub` to the object it names."""
    module_name, _, attr = target.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def target_of(obj: object) -> str | None:
    """`module:qualname` of a function or class: what an entry point naming it says, so that a
    factory both decorated and declared as an entry point is one registration, not a clash."""
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    return f"{module}:{name}" if isinstance(module, str) and isinstance(name, str) else None


def installed_plugins() -> list[tuple[str, Plugin]]:
    """The packages' `Plugin`s (`earbench.plugins` entry points); importing one imports no built-in."""
    found = []
    for ep in entry_points(group=PLUGINS_GROUP):
        try:
            plugin = ep.load()
        except (ImportError, AttributeError) as err:
            raise EarbenchError(f"plugin {ep.name!r}: cannot import {ep.value!r}: {err}") from err
        if not isinstance(plugin, Plugin):
            raise EarbenchError(f"plugin {ep.name!r}: {ep.value!r} is a {type(plugin).__name__}, "
                                f"not a benchmark.registry.Plugin")
        found.append((ep.name, plugin))
    return found


class Registry(Generic[T]):
    """Names of one kind (upstreams, tasks, suites, protocols, metrics)."""

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._objects: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
        self._tables: list[str] = []
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
        if existing is not None and existing is not obj and existing != obj and existing != target_of(obj):
            raise DuplicateNameError(f"{self.kind} {name!r} is already registered ({existing!r})")

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        group = self.entry_point_group
        plugins = installed_plugins()
        declared = [(f"plugin {package!r}", name, target) for package, plugin in plugins
                    for name, target in plugin.entries.get(group, {}).items()]
        declared += [(f"plugin {ep.value!r} ({ep.group})", ep.name, ep.value) for ep in entry_points(group=group)]
        for source, name, target in declared:
            if name in self._objects or name in self._lazy:
                if target in (self._lazy.get(name), target_of(self._objects.get(name))):  # itself, declared twice
                    continue
                raise DuplicateNameError(f"{self.kind} {name!r} from {source} clashes with an existing registration")
            self._lazy[name] = target
        self._tables = [plugin.tables[group] for _, plugin in plugins if group in plugin.tables]

    def _load_tables(self) -> None:
        """Import the plugins' tables of this kind and register what they hold."""
        while self._tables:
            target = self._tables[0]
            table = self._import(f"{self.kind} table", target)
            if not isinstance(table, Mapping):
                raise EarbenchError(f"{self.kind} table {target!r} is a {type(table).__name__}, not a dict")
            for name, obj in table.items():
                if name in self._lazy or self._objects.get(name, obj) is not obj:
                    raise DuplicateNameError(f"{self.kind} {name!r} from the table {target!r} clashes with an "
                                             f"existing registration")
                self._objects[name] = obj
            self._tables.pop(0)

    def _find(self, name: object) -> bool:
        """Whether `name` is known, importing the tables only if no cheaper source has it."""
        if name in self._objects:
            return True
        self._load_plugins()
        if name not in self._lazy:
            self._load_tables()
        return name in self._objects or name in self._lazy

    @staticmethod
    def _import(what: str, target: str) -> object:
        try:
            return import_string(target)
        except (ImportError, AttributeError) as err:
            raise EarbenchError(f"{what}: cannot import {target!r}: {err}") from err

    def get(self, name: str) -> T:
        if not self._find(name):
            raise UnknownNameError(self.unknown_message(name))
        if name in self._lazy:
            self._objects[name] = self._import(f"{self.kind} {name!r}", self._lazy[name])  # type: ignore[assignment]
            del self._lazy[name]
        return self._objects[name]

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        listing = f"; known: {', '.join(self.names()) or '(none)'}" if not close else ""
        return f"unknown {self.kind} {name!r}{hint}{listing}"

    def names(self) -> list[str]:
        self._load_plugins()
        self._load_tables()
        return sorted({*self._objects, *self._lazy})

    def __contains__(self, name: object) -> bool:
        return self._find(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())
