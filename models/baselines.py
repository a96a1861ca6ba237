"""The floors every learned encoder must beat: log-mel, and random-init CNN / Transformer.

All three are batch independent by construction: the STFT is not centred (a frame sees only
samples of its own clip), and every layer masks frames past an item's length, so an item
embeds the same alone or padded inside a batch. The Transformer attends over all the frames
it is given, so its memory grows with the square of a clip's length: it declares a 30 s
window (`max_seconds`), and extraction encodes longer clips window by window.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torchaudio

from benchmark.upstream import Encoded

SEED = 1234


class LogMel(nn.Module):
    """Parameter-free log-mel frames: 25 ms windows, 10 ms hop, 64 bands (HEAR's naive baseline family)."""

    def __init__(self, sample_rate: int = 16000, n_mels: int = 64, win_ms: float = 25.0, hop_ms: float = 10.0) -> None:
        super().__init__()
        self.sample_rate, self.hop_ms = sample_rate, hop_ms
        self.win = int(round(sample_rate * win_ms / 1000))
        self.hop = int(round(sample_rate * hop_ms / 1000))
        self.config = {"n_mels": n_mels, "win_ms": win_ms, "hop_ms": hop_ms, "sample_rate": sample_rate}
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate, n_fft=self.win, win_length=self.win, hop_length=self.hop, n_mels=n_mels,
            center=False, power=2.0)

    def frames(self, lengths: torch.Tensor) -> torch.Tensor:
        return 1 + torch.div((lengths.clamp_min(self.win) - self.win), self.hop, rounding_mode="floor")

    def features(self, audio: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if audio.shape[-1] < self.win:
            audio = nn.functional.pad(audio, (0, self.win - audio.shape[-1]))
        spec = self.mel(audio.float()).clamp_min(1e-10).log10().mul(10.0)  # dB, [B, M, T]
        return spec.transpose(1, 2), self.frames(lengths)

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        feats, n = self.features(audio, lengths)
        return Encoded([feats], n)


def valid_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """[B, T] True on the frames that belong to the clip."""
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]


class RandomCNN(nn.Module):
    """Log-mel -> 4 random 1-D conv blocks over time (fixed seed); one hidden state per block."""

    def __init__(self, channels: int = 256, blocks: int = 4, seed: int = SEED) -> None:
        super().__init__()
        self.frontend = LogMel()
        self.sample_rate, self.hop_ms = self.frontend.sample_rate, self.frontend.hop_ms
        self.config = {"channels": channels, "blocks": blocks, "seed": seed}
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            dims = [self.frontend.config["n_mels"]] + [channels] * blocks
            self.blocks = nn.ModuleList(
                nn.Sequential(nn.Conv1d(a, b, 3, padding=1), nn.GELU()) for a, b in zip(dims, dims[1:]))

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        feats, n = self.frontend.features(audio, lengths)
        mask = valid_mask(n, feats.shape[1])[:, None, :]
        x = (feats + 100.0) / 100.0  # dB to roughly unit scale
        x = x.transpose(1, 2) * mask
        states = []
        for block in self.blocks:
            x = block(x) * mask
            states.append(x.transpose(1, 2))
        return Encoded(states, n)


class RandomTransformer(nn.Module):
    """Log-mel -> linear -> 4 random Transformer layers with padding masks (fixed seed).

    `max_seconds`: with full attention, a 10-minute clip in one forward would need 57.6 GB of
    attention scores per layer (60 000 frames squared x 4 heads x 4 bytes); 30 s windows
    (longer than every clip of the mini suite) need 144 MB each.
    """

    max_seconds = 30.0

    def __init__(self, dim: int = 256, layers: int = 4, heads: int = 4, seed: int = SEED) -> None:
        super().__init__()
        self.frontend = LogMel()
        self.sample_rate, self.hop_ms = self.frontend.sample_rate, self.frontend.hop_ms
        self.config = {"dim": dim, "layers": layers, "heads": heads, "seed": seed}
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.project = nn.Linear(self.frontend.config["n_mels"], dim)
            self.layers = nn.ModuleList(
                nn.TransformerEncoderLayer(dim, heads, dim * 4, dropout=0.0, batch_first=True, norm_first=True)
                for _ in range(layers))
        self.dim = dim

    def positions(self, frames: int) -> torch.Tensor:
        pos = torch.arange(frames).float()[:, None]
        freq = torch.exp(torch.arange(0, self.dim, 2).float() * (-math.log(10000.0) / self.dim))
        table = torch.zeros(frames, self.dim)
        table[:, 0::2], table[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
        return table

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        feats, n = self.frontend.features(audio, lengths)
        mask = valid_mask(n, feats.shape[1])
        x = self.project((feats + 100.0) / 100.0) + self.positions(feats.shape[1]).to(feats.device)
        states = [x]
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=~mask) * mask[..., None]
            states.append(x)
        return Encoded(states, n)


def logmel() -> nn.Module:
    return LogMel()


def random_cnn() -> nn.Module:
    return RandomCNN()


def random_transformer() -> nn.Module:
    return RandomTransformer()
