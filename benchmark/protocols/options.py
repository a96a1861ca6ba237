"""The options a protocol takes (`-o KEY=VALUE`), declared next to the protocol and checked
before any work.

Each protocol lists its `Option`s (`Protocol.options`); a run's options are checked against
that table when the run is planned, so that a typo (`-o hiden=3`) or a value out of range
(`-o hidden=0`) is one clear error instead of a run that ignores it and a new leaderboard
variant. The heads read an option with `RunContext.option(key, default)`: its default lives
with the head that uses it, as it differs between families.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from benchmark.errors import ProtocolError

KINDS = {int: "integer", float: "number", str: "text", list: "list of text"}


@dataclass(frozen=True)
class Option:
    """One option: its `kind` (int, float, str, or list of str), the range it must lie in
    (`minimum`, excluded itself when `above`; `maximum`) or the `choices` it takes, and what it
    sets (`help`, the docs table's text)."""

    name: str
    kind: type
    help: str
    minimum: float | None = None
    above: bool = False
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TypeError(f"option {self.name!r}: kind must be one of {', '.join(k.__name__ for k in KINDS)}")

    @property
    def allowed(self) -> str:
        """The values it takes, in words: `integer >= 1`, `number > 0`, `lbfgs or adam`."""
        if self.choices:
            return " or ".join(self.choices)
        bounds = ([f"{'>' if self.above else '>='} {self.minimum:g}"] if self.minimum is not None else []) + \
                 ([f"<= {self.maximum:g}"] if self.maximum is not None else [])
        return " ".join([KINDS[self.kind], " and ".join(bounds)]).strip()

    def accepts(self, value: Any) -> bool:
        if self.kind is list:
            return isinstance(value, list) and all(isinstance(v, str) for v in value)
        if self.kind is str:
            return isinstance(value, str) and (not self.choices or value in self.choices)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        if self.kind is int and value != int(value):
            return False
        low, high = self.minimum, self.maximum
        return ((low is None or value > low or (value == low and not self.above))
                and (high is None or value <= high))


def check_options(protocol: str, table: Sequence[Option], options: Mapping[str, Any],
                  elsewhere: Callable[[], Mapping[str, Sequence[Option]]] = dict) -> None:
    """Refuse an option `table` does not declare (naming the closest declared one, or else the
    protocols of `elsewhere()`, every protocol's table, that take it or one close to it) and a
    value outside its range: one line each."""
    declared = {option.name: option for option in table}
    takes = f"{protocol} takes: {', '.join(sorted(declared))}" if declared else f"{protocol} takes none"
    for key, value in options.items():
        if key in declared:
            if not declared[key].accepts(value):
                raise ProtocolError(f"option {key}={value!r}: expected {declared[key].allowed} (protocol {protocol!r})")
            continue
        close = difflib.get_close_matches(key, declared, n=1)
        if close:
            raise ProtocolError(f"protocol {protocol!r} has no option {key!r}: did you mean {close[0]}? ({takes})")
        owners: dict[str, list[str]] = {}  # option name -> the other protocols that take it
        for other, table_of in sorted(elsewhere().items()):
            for option in table_of if other != protocol else ():
                owners.setdefault(option.name, []).append(other)
        if owners.get(key):
            raise ProtocolError(f"protocol {protocol!r} has no option {key!r} (an option of "
                                f"{', '.join(owners[key])}; {takes})")
        close = difflib.get_close_matches(key, owners, n=1)
        if close:
            raise ProtocolError(f"protocol {protocol!r} has no option {key!r}: did you mean {close[0]}? "
                                f"(an option of {', '.join(owners[close[0]])}; {takes})")
        raise ProtocolError(f"protocol {protocol!r} has no option {key!r} ({takes})")


def markdown(tables: Mapping[str, Sequence[Option]]) -> str:
    """The options table of docs/protocols.md, made from the declarations (a test keeps the two equal)."""
    lines = ["| protocol | option | values | what it sets |", "|---|---|---|---|"]
    for protocol, table in sorted(tables.items()):
        lines += [f"| `{protocol}` | `{o.name}` | {o.allowed} | {o.help} |" for o in table] or \
                 [f"| `{protocol}` | none | | |"]
    return "\n".join(lines) + "\n"
