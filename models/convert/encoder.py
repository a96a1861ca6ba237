"""The in-repo encoder built from converted tensors, and what a conversion reports."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from models.checkpoint import CheckpointError, load_state
from models.convert.official_state import OfficialState
from models.spectrogram_vit import SpectrogramViT, ViTConfig

HEAD_DIM = 64  # ViT-B (768 / 12) and ViT-L (1024 / 16) alike: heads are not in the weights' shapes
#: a block's parameters in timm's naming (its `Block`, data2vec 2.0's `AltBlock`) -> earbench's
BLOCK = {"norm1": "norm1", "attn.qkv": "attn.qkv", "attn.proj": "attn.proj", "norm2": "norm2",
         "mlp.fc1": "mlp.0", "mlp.fc2": "mlp.2"}


@dataclass
class Converted:
    encoder: SpectrogramViT
    layout: str  # which official naming the file used
    mapped: int  # official tensors used
    skipped: dict[str, int] = field(default_factory=dict)  # training-only tensors left out, by part


def heads_for(dim: int, heads: int | None, source: str) -> int:
    heads = heads or dim // HEAD_DIM
    if heads < 1 or dim % heads:
        raise CheckpointError(f"{source}: width {dim} is not divisible into {heads} attention heads; pass --heads")
    return heads


def build(config: ViTConfig, tensors: dict[str, torch.Tensor], source: str) -> SpectrogramViT:
    """`SpectrogramViT(config)` holding exactly `tensors` (every one of its own, no other), but for
    the front end's filters and window, which its configuration determines."""
    encoder = SpectrogramViT(config)
    derived = {k: v for k, v in encoder.state_dict().items()
               if k.startswith("frontend.") and k not in ("frontend.mean", "frontend.std")}
    load_state(encoder, derived | {k: v.contiguous() for k, v in tensors.items()}, Path(source))
    return encoder.eval()


def blocks(state: OfficialState, prefix: str, depth: int) -> dict[str, torch.Tensor]:
    """The Transformer blocks `{prefix}{i}.*` of an official state, under earbench's names."""
    return {f"transformer.blocks.{i}.{ours}.{kind}": state.take(f"{prefix}{i}.{official}.{kind}")
            for i in range(depth) for official, ours in BLOCK.items() for kind in ("weight", "bias")}
