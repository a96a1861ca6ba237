"""The settings of one `earbench run` (or `evaluate()` call), checked once when they are made.

The command line and the Python API build the same `RunSettings`; every job of the run
shares it (it is plain data, so it travels to worker processes), and its `identity` is what
the run's records carry as their protocol settings.
"""
from __future__ import annotations

import json
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from benchmark.errors import ProtocolError

#: poolings read from the cache as they are (`scene`: the upstream's own clip embedding, a HEAR
#: module's get_scene_embeddings); `attention` is learned over cached frames
CACHED_POOLINGS = ("mean", "max", "cls", "scene")
POOLINGS = (*CACHED_POOLINGS, "attention")
LAYER_NAMES = ("last", "weighted")


def parse_layer(layer: object) -> str | int:
    """"last", "weighted" or a hidden-state index (an int, or a string of digits from the command line)."""
    if isinstance(layer, int) and not isinstance(layer, bool):
        return layer
    if isinstance(layer, str):
        if layer in LAYER_NAMES:
            return layer
        try:
            return int(layer)
        except ValueError:
            pass
    raise ProtocolError(f"--layer must be 'last', 'weighted' or an integer, got {layer!r}")


def check_options(options: object) -> dict[str, Any]:
    """Protocol options must be a dict of JSON values: they are written into the record as they are."""
    if not isinstance(options, dict):
        raise ProtocolError(f"options must be a dict of KEY: VALUE, got {type(options).__name__} {options!r:.60}")
    for key, value in options.items():
        if not isinstance(key, str) or not key:
            raise ProtocolError(f"option names must be non-empty strings, got {key!r}")
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ProtocolError(f"option {key}={value!r}: not a JSON value (number, text, boolean, list or "
                                f"dict of those)") from None
    return dict(options)


def check_device(name: str) -> None:
    """`--device` names a device torch knows, and a visible one if it is CUDA."""
    import torch  # here: the CLI's start-up imports this module, not torch
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ProtocolError(f"--device {name!r} is not a device (cpu, cuda, cuda:N, mps)") from None
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise ProtocolError(f"--device {name!r}: no CUDA device is visible"
                            + (f" at index {device.index}" if torch.cuda.is_available() else ""))


@dataclass(frozen=True)
class RunSettings:
    """What every job of one run shares.

    `layer` is "last", a hidden-state index, or "weighted" (SUPERB's learned softmax
    weighting of all layers); `pooling` None leaves the choice to each (upstream, task)
    pairing (`benchmark.protocols.base.default_pooling`: the module's own scene embedding
    where it has one, as the HEAR kit, else mean): the pooling a record carries is the one
    its pairing used; `options` are protocol settings (`-o key=value`), and
    `prompts` (zero-shot templates with `{label}`) join them as `options["prompts"]`.
    `cache_root` is resolved when planning, so that every worker writes to the same
    (shared) cache whatever its own `EARBENCH_HOME` says. `command` is how the run was asked
    for (the command line, or the `evaluate()` call): each record keeps it, but it is no part
    of what a run is (`identity`). `frame_layers` is what a frame cache keeps: "needed" (the
    run's layer alone, or all for `weighted`) or "all" (for runs that will probe every layer);
    it changes disk use, not results. `device` is where the heads train ("cpu", "cuda",
    "cuda:1"; None: the GPU when one is visible, as extraction); like `workers`, no part of
    what a run is (results agree across devices within float tolerance, docs/protocols.md).
    `cache_budget` (bytes) is the most a pairing's frame entries may take on disk; above it,
    heads that can stream their frames do (`benchmark.features.frame_budget`); None: the free
    space of the cache's disk, measured when the run is planned. Not part of what a run is either.
    `frame_hop` (ms, a whole multiple of the upstream's hop) stores frames averaged to that
    rate (`--frame-hop`): a smaller cache and coarser frames, so it is part of what a run is.
    """

    protocol: str = "linear"
    layer: str | int = "last"
    pooling: str | None = None
    train_fraction: float = 1.0
    options: dict = field(default_factory=dict)
    results: Path | None = None
    cache_root: Path | None = None
    workers: int = 0
    batch_seconds: float = 160.0
    progress: bool = True
    rerun: bool = False
    command: str | None = None
    frame_layers: str = "needed"
    device: str | None = None
    cache_budget: int | None = None
    frame_hop: float | None = None
    prompts: InitVar[Sequence[str] | None] = None

    def __post_init__(self, prompts: Sequence[str] | None) -> None:
        if not isinstance(self.protocol, str) or not self.protocol:
            raise ProtocolError(f"the protocol must be a name, got {self.protocol!r}")
        if self.device is not None:
            check_device(self.device)
        budget = self.cache_budget
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0):
            raise ProtocolError(f"cache_budget must be a positive number of bytes, got {budget!r}")
        hop = self.frame_hop
        if hop is not None and (isinstance(hop, bool) or not isinstance(hop, (int, float)) or not 0 < hop < float("inf")):
            raise ProtocolError(f"--frame-hop must be a positive number of milliseconds, got {hop!r}")
        if self.frame_layers not in ("needed", "all"):
            raise ProtocolError(f"frame_layers must be 'needed' or 'all', got {self.frame_layers!r}")
        if self.pooling is not None and self.pooling not in POOLINGS:
            raise ProtocolError(f"--pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        fraction = self.train_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 < fraction <= 1.0:
            raise ProtocolError(f"--train-fraction must be in (0, 1], got {fraction!r}")
        options = check_options(self.options)
        if prompts:
            if isinstance(prompts, str) or not all(isinstance(p, str) for p in prompts):
                raise ProtocolError(f"prompts must be a list of templates with {{label}}, got {prompts!r}")
            options["prompts"] = list(prompts)
        set_ = object.__setattr__  # frozen: the normal forms are set once, here
        set_(self, "layer", parse_layer(self.layer))
        set_(self, "train_fraction", float(fraction))
        set_(self, "options", options)
        set_(self, "results", Path(self.results).resolve() if self.results is not None else None)
        set_(self, "cache_root", Path(self.cache_root) if self.cache_root is not None else None)

    @property
    def weighted(self) -> bool:
        return self.layer == "weighted"

    def identity(self) -> dict[str, Any]:
        """What, besides model and task, makes two records comparable: the record's protocol settings."""
        identity = {"name": self.protocol, "layer": self.layer, "pooling": self.pooling,
                    "train_fraction": self.train_fraction, "options": self.options}
        if self.frame_hop is not None:  # only then: the records of runs at the upstream's own rate stay as they were
            identity["frame_hop"] = float(self.frame_hop)
        return identity
