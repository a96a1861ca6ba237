"""Per-item helpers shared by the adapters: batch independence by construction.

Adapters whose models would see other items' padding encode equal-length groups
(`length_groups`) or fixed windows (`windows`) and gather each item's frames back into
the contract's padded `[B, T, D]` layers (`pad_items`).
"""
from __future__ import annotations

from typing import Iterator

import torch

from benchmark.upstream import Encoded


def length_groups(lengths: torch.Tensor) -> Iterator[tuple[int, list[int]]]:
    """(length, the rows of that length), for each distinct length."""
    for length in lengths.unique().tolist():
        yield int(length), (lengths == length).nonzero().flatten().tolist()


def waves(audio: torch.Tensor, lengths: torch.Tensor) -> list:
    """The valid samples of each item as float32 numpy arrays (what feature extractors take)."""
    return [audio[b, :n].detach().float().cpu().numpy() for b, n in enumerate(lengths.tolist())]


def windows(audio: torch.Tensor, lengths: torch.Tensor, size: int) -> tuple[list, list[int]]:
    """Each item's valid samples cut into consecutive windows of at most `size` samples:
    (the windows, the item each belongs to), items in order."""
    pieces, owners = [], []
    for b, wave in enumerate(waves(audio, lengths)):
        for start in range(0, max(len(wave), 1), size):
            pieces.append(wave[start: start + size])
            owners.append(b)
    return pieces, owners


def pad_items(items: list[list[torch.Tensor]]) -> Encoded:
    """Per item, per layer `[T_i, D]` frames -> one zero-padded `[B, T, D]` tensor per layer."""
    lengths = torch.tensor([layers[0].shape[0] for layers in items])
    total = int(lengths.max())
    states = []
    for k in range(len(items[0])):
        first = items[0][k]
        batch = first.new_zeros(len(items), total, first.shape[-1], dtype=torch.float32)
        for b, layers in enumerate(items):
            batch[b, : layers[k].shape[0]] = layers[k].float()
        states.append(batch)
    return Encoded(states, lengths)
