"""The upstream contract, the upstream registry and the resolution of model specs.

An upstream is a `torch.nn.Module` with `sample_rate`, `hop_ms` and
`forward(audio [B, N], lengths [B]) -> Encoded`. Every layer is returned so that
protocols can pick one or learn SUPERB's weighted sum of all of them. An upstream may
declare `max_seconds`, the longest audio it encodes at once (and `window_overlap_seconds`):
extraction then encodes longer clips in windows (`benchmark/features/windows.py`).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol, runtime_checkable

from benchmark.errors import EarbenchError, UpstreamError
from benchmark.registry import Registry

if TYPE_CHECKING:  # upstreams are torch modules, but naming and listing them needs no torch (`earbench list`)
    import torch


@dataclass
class Encoded:
    """What an upstream returns: one `[B, T, D]` tensor per layer (last = top) and the
    number of valid frames of each item."""

    hidden_states: list[torch.Tensor]
    lengths: torch.Tensor


@runtime_checkable
class Upstream(Protocol):
    sample_rate: int
    hop_ms: float

    def __call__(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded: ...


@dataclass(frozen=True)
class Window:
    """An upstream's declared window: the longest audio one forward encodes (`max_seconds`)
    and how much consecutive windows of a longer clip overlap (`window_overlap_seconds`;
    default a quarter of the window, at most 2 s)."""

    seconds: float
    overlap: float


def declared_window(module: object) -> Window | None:
    """`module`'s window, checked (None when it declares no `max_seconds`): a positive
    length, an overlap that leaves at least one frame hop between window starts, and a
    hop of a whole number of samples, so that every window starts on a frame."""
    seconds = getattr(module, "max_seconds", None)
    if seconds is None:
        return None
    name = getattr(module, "earbench_name", type(module).__name__)
    overlap = getattr(module, "window_overlap_seconds", None)
    for attr, value in (("max_seconds", seconds), ("window_overlap_seconds", overlap)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value) or value < 0):
            raise UpstreamError(f"upstream {name!r}: {attr}={value!r}; expected a number of seconds >= 0")
    overlap = min(2.0, seconds / 4) if overlap is None else float(overlap)
    hop_s = float(module.hop_ms) / 1000.0  # type: ignore[attr-defined]
    hop_samples = hop_s * int(module.sample_rate)  # type: ignore[attr-defined]
    if abs(hop_samples - round(hop_samples)) > 1e-6 or round(hop_samples) < 1:
        raise UpstreamError(f"upstream {name!r} declares max_seconds but its hop ({module.hop_ms} ms at "  # type: ignore[attr-defined]
                            f"{module.sample_rate} Hz) is not a whole number of samples, so windows "  # type: ignore[attr-defined]
                            f"cannot start on its frames")
    if seconds - overlap < hop_s:
        raise UpstreamError(f"upstream {name!r}: max_seconds={seconds} minus window_overlap_seconds={overlap} "
                            f"must leave at least one frame hop ({hop_s} s) between window starts")
    return Window(float(seconds), overlap)


#: name -> factory returning an upstream module (a class or a function of no arguments)
UPSTREAMS: Registry[Callable[[], torch.nn.Module]] = Registry("upstream", "earbench.upstreams")
#: scheme -> loader(argument) for specs like `hear:MODULE`, `s3prl:NAME`, `ckpt:PATH`, `hf:REPO`
SCHEMES: Registry[Callable[[str], torch.nn.Module]] = Registry("upstream scheme", "earbench.schemes")
SCHEMES.register_lazy("hear", "benchmark.upstreams.hear:load_hear_upstream")
SCHEMES.register_lazy("s3prl", "benchmark.upstreams.s3prl_hub:load_s3prl_upstream")


def register_upstream(name: str, factory: Callable[[], torch.nn.Module] | None = None):  # type: ignore[no-untyped-def]
    """Register an upstream factory under `name`; usable as `@register_upstream("name")`."""
    return UPSTREAMS.register(name, factory) if factory is not None else UPSTREAMS.register(name)


def build(spec: str, factory: Callable[..., torch.nn.Module], *args: str) -> torch.nn.Module:
    """Call an upstream's factory; what it raises becomes one line naming the upstream."""
    try:
        return factory(*args)
    except EarbenchError:
        raise
    except Exception as err:  # noqa: BLE001 - a plugin's own code: named, in one line
        raise UpstreamError(f"upstream {spec!r}: its factory raised {type(err).__name__}: "
                            f"{' '.join(str(err).split())}") from err


def load_upstream(spec: str | torch.nn.Module, name: str | None = None) -> torch.nn.Module:
    """Turn a registered name, `scheme:ARG` or a module into a validated-looking upstream.

    The result carries `earbench_name` (how results name it) and `earbench_source`.
    """
    if not isinstance(spec, str):  # a module
        module = spec
        source = f"python:{type(spec).__module__}.{type(spec).__qualname__}"
        name = name or getattr(spec, "earbench_name", None) or type(spec).__name__
    else:
        scheme, sep, arg = spec.partition(":")
        if sep and spec not in UPSTREAMS:
            module = build(spec, SCHEMES.get(scheme), arg)
            # a scheme may name what it loaded (e.g. a checkpoint's config: `eat-tiny`, `eat-tiny@init`)
            name = name or getattr(module, "earbench_name", None)
        else:
            module = build(spec, UPSTREAMS.get(spec))
            # a factory may name what it built (a zoo alias such as `hubert_base`: its entry, `hubert-base`)
            name = name or getattr(module, "earbench_name", None)
        source, name = spec, name or spec
    for attr in ("sample_rate", "hop_ms"):
        if not hasattr(module, attr):
            raise UpstreamError(f"upstream {name!r} has no `{attr}` attribute (see the contract in benchmark/upstream.py)")
    module.earbench_name = name
    declared_window(module)  # a bad declaration fails here, before any work
    module.earbench_source = source
    return module.eval()


def count_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def cls_frames(upstream: "torch.nn.Module") -> int:
    """How many leading frames of each item are CLS tokens, not audio: `has_cls` True is one
    (AST's is the mean of its CLS and distillation tokens); an int says how many."""
    has_cls = getattr(upstream, "has_cls", False)
    return int(has_cls) if isinstance(has_cls, (bool, int)) else 0


def fingerprint(module: torch.nn.Module) -> str:
    """sha256 of the weights, buffers, config and declared window: equal fingerprints embed identically."""
    import torch  # here, not at the top: see the TYPE_CHECKING import
    digest = hashlib.sha256()
    config = {"class": f"{type(module).__module__}.{type(module).__qualname__}",
              "sample_rate": int(module.sample_rate), "hop_ms": float(module.hop_ms),
              "config": getattr(module, "config", None),
              "extra": getattr(module, "fingerprint_extra", None)}
    window = declared_window(module)
    if window is not None:  # how a long clip is cut changes what it embeds to; no key where none is declared
        config["window"] = [window.seconds, window.overlap]
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    for key, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{key}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return "sha256:" + digest.hexdigest()
