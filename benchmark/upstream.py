"""The upstream contract, the upstream registry and the resolution of model specs.

An upstream is a `torch.nn.Module` with `sample_rate`, `hop_ms` and
`forward(audio [B, N], lengths [B]) -> Encoded`. Every layer is returned so that
protocols can pick one or learn SUPERB's weighted sum of all of them.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

import torch

from benchmark.errors import EarbenchError, UpstreamError
from benchmark.registry import Registry


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
    if isinstance(spec, torch.nn.Module):
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
    module.earbench_source = source
    return module.eval()


def count_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def fingerprint(module: torch.nn.Module) -> str:
    """sha256 of the weights, buffers and config: equal fingerprints embed identically."""
    digest = hashlib.sha256()
    config = {"class": f"{type(module).__module__}.{type(module).__qualname__}",
              "sample_rate": int(module.sample_rate), "hop_ms": float(module.hop_ms),
              "config": getattr(module, "config", None),
              "extra": getattr(module, "fingerprint_extra", None)}
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    for key, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{key}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return "sha256:" + digest.hexdigest()
