"""A checkpoint's tensors, and nothing else: safetensors directly, PyTorch files with
`torch.load(weights_only=True)`, which refuses anything that needs arbitrary objects unpickled.

Such a file (a fairseq checkpoint holds its omegaconf config, for one) is refused in one line
that says how to re-save its tensors, to be run only where the file is trusted.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from models.checkpoint import CheckpointError

RESAVE = ("python -c \"import torch; from safetensors.torch import save_file; sd = torch.load('{path}', "
          "weights_only=False); sd = sd.get('model', sd); save_file({{k: v.contiguous() for k, v in sd.items() "
          "if isinstance(v, torch.Tensor)}}, '{target}')\"")


def resave_hint(path: Path) -> str:
    return RESAVE.format(path=path, target=path.with_suffix(".safetensors"))


def flatten(tree: dict, prefix: str = "") -> dict[str, torch.Tensor]:
    """Tensors of a (nested) dict under dotted names; other values are not weights."""
    out: dict[str, torch.Tensor] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, torch.Tensor):
            out[name] = value
        elif isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
    return out


def read_state(path: Path) -> dict[str, torch.Tensor]:
    """The state dict of `path`: a `.safetensors` file, or a PyTorch file holding a state dict
    (or a dict with one under `model`, as fairseq saves them)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError, RuntimeError) as err:
            raise CheckpointError(f"{path}: not a readable safetensors file ({err})") from None
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
        detail = next((line.strip() for line in str(err).splitlines() if "Unsupported global" in line),
                      str(err).splitlines()[0] if str(err) else type(err).__name__)
        raise CheckpointError(f"{path}: refused: it needs objects unpickled, not only tensors ({detail}); earbench "
                              f"reads tensors only. Where you trust the file, re-save its tensors with "
                              f"{resave_hint(path)} and convert that file") from None
    if not isinstance(loaded, dict):
        raise CheckpointError(f"{path}: holds a {type(loaded).__name__}, not a state dict")
    state = loaded.get("model", loaded)
    tensors = flatten(state) if isinstance(state, dict) else {}
    if not tensors:
        raise CheckpointError(f"{path}: holds no tensors (expected a state dict, or one under 'model')")
    return tensors
