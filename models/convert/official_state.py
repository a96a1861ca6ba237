"""An official state dict being mapped: each tensor is taken once, and at the end every tensor
was taken or belongs to a known training-only part (decoders, teachers, heads).

So a converter never drops a weight it does not know about: an unknown key means a layout it
was not written for, and is an error naming the file and the keys.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable

import torch

from models.checkpoint import CheckpointError


class OfficialState:
    def __init__(self, tensors: dict[str, torch.Tensor], source: str,
                 rename: Callable[[str], str] = lambda key: key) -> None:
        """`rename` maps the file's keys to one naming (a checkpoint saved by another wrapper)."""
        self.source = source
        self.tensors: dict[str, torch.Tensor] = {}
        self.original: dict[str, str] = {}
        for key, tensor in tensors.items():
            name = rename(key)
            if name in self.tensors:
                raise CheckpointError(f"{source}: keys {self.original[name]!r} and {key!r} both mean {name!r}")
            self.tensors[name], self.original[name] = tensor, key
        self.taken: list[str] = []

    def __contains__(self, key: str) -> bool:
        return key in self.tensors

    def take(self, key: str, shape: tuple[int, ...] | None = None) -> torch.Tensor:
        """The tensor `key` as float32 (once), checked against `shape` where given."""
        if key not in self.tensors:
            raise CheckpointError(f"{self.source}: missing tensor {key!r} (not an official checkpoint of this model, "
                                  f"or another version of it)")
        if key in self.taken:
            raise CheckpointError(f"{self.source}: tensor {key!r} mapped twice (a converter bug)")
        tensor = self.tensors[key]
        if shape is not None and tuple(tensor.shape) != tuple(shape):
            raise CheckpointError(f"{self.source}: tensor {key!r} has shape {tuple(tensor.shape)}, expected {tuple(shape)}")
        self.taken.append(key)
        return tensor.detach().float()

    def shape(self, key: str) -> tuple[int, ...]:
        if key not in self.tensors:
            raise CheckpointError(f"{self.source}: missing tensor {key!r} (not an official checkpoint of this model)")
        return tuple(self.tensors[key].shape)

    def count(self, prefix: str, suffix: str) -> int:
        """How many `prefix{i}suffix` keys there are for i = 0, 1, ... (a model's depth)."""
        i = 0
        while f"{prefix}{i}{suffix}" in self.tensors:
            i += 1
        return i

    def finish(self, training_only: tuple[str, ...]) -> dict[str, int]:
        """Tensors left out, by training-only prefix; any other leftover is an error."""
        left = [k for k in self.tensors if k not in set(self.taken)]
        unknown = [self.original[k] for k in left if not k.startswith(training_only)]
        if unknown:
            raise CheckpointError(f"{self.source}: {len(unknown)} tensor(s) of no known part of the model, e.g. "
                                  f"{unknown[:5]}; refusing to drop them silently")
        return dict(Counter(next(p for p in training_only if k.startswith(p)).rstrip(".") for k in left))
