"""A small text encoder trained from scratch: the text tower for audio-only upstreams.

Retrieval with an upstream that has no text tower aligns its frozen audio embeddings with
captions through this encoder, trained only on the task's training captions: lower-cased
word tokens, a mean of learned word embeddings, and a projection. Small on purpose: the
audio representation, not the text model, is under test.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

import torch

UNK = 0
TOKEN = re.compile(r"[\w']+")


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


class WordVocabulary:
    """Words seen at least `min_count` times in training captions; the rest map to UNK."""

    def __init__(self, texts: Sequence[str], min_count: int = 1) -> None:
        counts = Counter(w for t in texts for w in tokenize(t))
        self.words = sorted(w for w, c in counts.items() if c >= min_count)
        self.index = {w: i + 1 for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words) + 1

    def encode(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Flat token ids and per-text offsets, as nn.EmbeddingBag takes them."""
        ids, offsets = [], []
        for text in texts:
            offsets.append(len(ids))
            ids += [self.index.get(w, UNK) for w in tokenize(text)] or [UNK]
        return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)


class BagOfWordsEncoder(torch.nn.Module):
    """Mean of word embeddings -> Linear -> ReLU -> Linear: a text embedding of `out` dims."""

    def __init__(self, vocabulary: int, out: int, dim: int = 256) -> None:
        super().__init__()
        self.embed = torch.nn.EmbeddingBag(vocabulary, dim, mode="mean")
        self.project = torch.nn.Sequential(torch.nn.Linear(dim, dim), torch.nn.ReLU(), torch.nn.Linear(dim, out))

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.project(self.embed(ids, offsets))
