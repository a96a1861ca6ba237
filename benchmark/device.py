"""Where computation runs: the device of a module (an upstream, a head), bf16 autocast there.

Extraction runs where the upstream is; a probe's head where `--device` says. For heads,
features stay in host memory: each minibatch moves to the head's device as it is drawn and
outputs come back to the host, so a head trains on the GPU without holding a task's
features in device memory, and the metrics (numpy, scikit-learn) read host arrays.
"""
from __future__ import annotations

import contextlib
from typing import Any

import torch


def probe_device(name: str | None) -> torch.device:
    """The device named (`--device`), or by default the GPU when one is visible, as extraction."""
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_of(module: torch.nn.Module) -> torch.device:
    param = next(iter(module.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


def to_device(value: Any, device: torch.device) -> Any:
    """Tensors anywhere in nested tuples, lists and dicts moved to `device`; the rest as is."""
    if isinstance(value, torch.Tensor):
        return value if value.device == device else value.to(device, non_blocking=True)
    if isinstance(value, (tuple, list)):
        return type(value)(to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    return value


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (the memory and speed of mixed precision), nothing elsewhere."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
