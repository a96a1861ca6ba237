"""CTC over characters: the vocabulary, the loss of a grid of heads, greedy decoding, and
SUPERB's 2-layer BiLSTM head.

The alphabet is every character of the training transcripts (index 0 is the blank);
transcripts are modelled as given, so the task decides case and punctuation.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.heads.bilstm import BiLSTM

BLANK = 0


class CharVocabulary:
    def __init__(self, transcripts: Sequence[str]) -> None:
        self.chars = sorted({c for text in transcripts for c in text})
        self.index = {c: i + 1 for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars) + 1  # + blank

    def encode(self, text: str) -> list[int]:
        """Character ids (characters never seen in training are dropped)."""
        return [self.index[c] for c in text if c in self.index]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[i - 1] for i in ids if i != BLANK)


def greedy(logits: torch.Tensor, lengths: Sequence[int]) -> list[list[int]]:
    """Best path: argmax per frame, merge repeats, drop blanks. logits [b, T, C]."""
    best = logits.argmax(-1).cpu().numpy()
    out = []
    for row, n in zip(best, lengths):
        path = row[: int(n)]
        keep = np.ones(len(path), dtype=bool)
        keep[1:] = path[1:] != path[:-1]
        out.append([int(i) for i in path[keep] if i != BLANK])
    return out


def targets_of(texts: Sequence[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenated targets and their lengths, as F.ctc_loss takes them."""
    lengths = torch.tensor([len(t) for t in texts], dtype=torch.long)
    flat = torch.tensor([i for t in texts for i in t], dtype=torch.long)
    return flat, lengths


def grid_ctc_loss(logits: torch.Tensor, mask: torch.Tensor, targets: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Mean CTC loss (per target character) of each grid point, [G]; logits [G, b, T, C].

    A target longer than its input gives zero loss (zero_infinity), not NaN.
    """
    G, b, T, C = logits.shape
    flat, lengths = targets
    log_probs = logits.float().log_softmax(-1).permute(2, 0, 1, 3).reshape(T, G * b, C)
    input_lengths = mask.sum(1).repeat(G)
    per_item = F.ctc_loss(log_probs, flat.repeat(G), input_lengths, lengths.repeat(G), blank=BLANK,
                          reduction="none", zero_infinity=True)
    return (per_item / lengths.repeat(G).clamp_min(1)).view(G, b).mean(1)


def stack_frames(x: torch.Tensor, mask: torch.Tensor, stack: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate every `stack` consecutive frames: [b, T, D] -> [b, ceil(T/stack), stack*D].

    An output frame is valid when its first input frame is; the padding is zeros.
    """
    if stack == 1:
        return x, mask
    b, T, D = x.shape
    pad = -T % stack
    x = torch.nn.functional.pad(x * mask[..., None], (0, 0, 0, pad))
    return x.reshape(b, (T + pad) // stack, stack * D), mask[:, ::stack]


def ctc_infeasible(targets: Sequence[Sequence[int]], frames: Sequence[int]) -> float:
    """The fraction of items whose CTC path cannot fit: a blank must separate repeated
    characters, so a target needs len + repeats frames. Such items contribute no gradient."""
    short = [len(t) + sum(a == b for a, b in zip(t, t[1:])) > n for t, n in zip(targets, frames)]
    return sum(short) / max(len(short), 1)


class BiLSTMHead(torch.nn.Module):
    """SUPERB's ASR downstream: 2 bidirectional LSTM layers, linear to characters.

    SUPERB uses 1024 units per direction; the protocol's default (128) keeps a CPU run of a
    small task within minutes (`-o hidden=1024` restores SUPERB's). With `layers=L` the input is
    all hidden states and a softmax weighting of them is learned (SUPERB's Featurizer).
    The LSTM reads SUPERB's 20 ms frame rate: `stack` concatenates consecutive frames of a
    finer upstream (half the LSTM steps at 10 ms; characters still fit), `upsample` repeats
    each frame of a coarser one (a 160 ms patch encoder has fewer frames than an utterance has
    characters, which no CTC path can spell; the LSTM's state tells the repeats apart).
    """

    def __init__(self, dim: int, out: int, hidden: int = 128, num_layers: int = 2, dropout: float = 0.2,
                 layers: int | None = None, stack: int = 1, upsample: int = 1) -> None:
        super().__init__()
        if stack > 1 and upsample > 1:
            raise ValueError(f"BiLSTMHead: stack={stack} and upsample={upsample}; a frame rate is changed one way")
        self.stack, self.upsample = stack, upsample
        self.mix = torch.nn.Parameter(torch.zeros(layers)) if layers else None
        self.lstm = BiLSTM(stack * dim, hidden, num_layers, dropout if num_layers > 1 else 0.0)
        self.out = torch.nn.Linear(2 * hidden, out)

    def output_mask(self, mask: torch.Tensor) -> torch.Tensor:
        """The valid output frames of inputs with `mask`."""
        return mask[:, ::self.stack].repeat_interleave(self.upsample, dim=1)

    def layer_weights(self) -> list[float] | None:
        return None if self.mix is None else [round(float(w), 4) for w in self.mix.detach().softmax(0)]

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.mix is not None:  # [b, T, L, D] -> [b, T, D]
            x = torch.einsum("l,btld->btd", self.mix.softmax(0), x)
        lengths = self.output_mask(mask).sum(1)
        x = stack_frames(x, mask, self.stack)[0].repeat_interleave(self.upsample, dim=1)
        return self.out(self.lstm(x, lengths))
