"""A port of `hearbaseline.naive` (PyPI hearbaseline==2021.1.1): log-mel (256 bands,
4096-point frames) followed by a fixed random projection to 4096 dimensions.

Why a port: the original calls `librosa.filters.mel(sr, ...)` positionally, which
librosa >= 0.10 (earbench's environment) rejects; this module passes the same
arguments by keyword and is otherwise line-for-line the same computation, so it gives
the same embeddings (checked against the original in the HEAR kit's own environment by
`scripts/hear_parity.py`).

`HOP_MS` is the hop of `get_timestamp_embeddings`. The original uses 50 ms for timestamp
embeddings and 250 ms inside `get_scene_embeddings` (the mean of the 250 ms frames). The
earbench HEAR adapter pools the module's timestamp frames, so setting `HOP_MS = 250`
(`hear:hear_naive` does, through the environment variable `HEAR_NAIVE_HOP_MS`) makes
earbench's pooled clip embedding exactly the kit's scene embedding.
"""
from __future__ import annotations

import math
import os
from typing import Tuple

import librosa
import torch
import torch.nn.functional as F
from torch import Tensor

HOP_MS = float(os.environ.get("HEAR_NAIVE_HOP_MS", "50"))
SCENE_HOP_MS = 250.0
BATCH_SIZE = 512


class RandomProjectionMelEmbedding(torch.nn.Module):
    sample_rate = 44100
    embedding_size = 4096
    scene_embedding_size = embedding_size
    timestamp_embedding_size = embedding_size
    n_fft = 4096
    n_mels = 256
    seed = 0
    epsilon = 1e-4

    def __init__(self) -> None:
        super().__init__()
        torch.random.manual_seed(self.seed)
        self.register_buffer("window", torch.hann_window(self.n_fft))
        mel_scale = torch.tensor(librosa.filters.mel(sr=self.sample_rate, n_fft=self.n_fft, n_mels=self.n_mels))
        self.register_buffer("mel_scale", mel_scale)
        self.projection = torch.nn.Parameter(torch.rand(self.n_mels, self.embedding_size) / math.sqrt(self.n_mels))

    def forward(self, x: Tensor) -> Tensor:
        x = torch.fft.rfft(x * self.window)
        x = torch.abs(x) ** 2.0
        x = torch.matmul(x, self.mel_scale.transpose(0, 1))
        x = torch.log(x + self.epsilon)
        return x.matmul(self.projection)


def frame_audio(audio: Tensor, frame_size: int, hop_size: float, sample_rate: int) -> Tuple[Tensor, Tensor]:
    """hearbaseline.util.frame_audio: centred frames every `hop_size` ms."""
    audio = F.pad(audio, (frame_size // 2, frame_size - frame_size // 2))
    num_padded_samples = audio.shape[1]
    frame_step = hop_size / 1000.0 * sample_rate
    frame_number, frames, timestamps = 0, [], []
    frame_start, frame_end = 0, frame_size
    while True:
        frames.append(audio[:, frame_start:frame_end])
        timestamps.append(frame_number * frame_step / sample_rate * 1000.0)
        frame_number += 1
        frame_start = int(round(frame_number * frame_step))
        frame_end = frame_start + frame_size
        if not frame_end <= num_padded_samples:
            break
    stamps = torch.tensor(timestamps, dtype=torch.float32).expand(audio.shape[0], -1)
    return torch.stack(frames, dim=1), stamps


def load_model(model_file_path: str = "") -> torch.nn.Module:
    model = RandomProjectionMelEmbedding()
    if model_file_path:
        model.load_state_dict(torch.load(model_file_path, weights_only=True))
    return model


def get_timestamp_embeddings(audio: Tensor, model: torch.nn.Module, hop_size: float | None = None) -> Tuple[Tensor, Tensor]:
    if audio.ndim != 2:
        raise ValueError("audio input tensor must be 2D with shape (n_sounds, num_samples)")
    model = model.to(audio.device)
    frames, timestamps = frame_audio(audio, frame_size=model.n_fft, hop_size=hop_size or HOP_MS,
                                     sample_rate=RandomProjectionMelEmbedding.sample_rate)
    audio_batches, num_frames, _ = frames.shape
    frames = frames.flatten(end_dim=1)
    model.eval()
    with torch.no_grad():
        embeddings = torch.cat([model(frames[i:i + BATCH_SIZE]) for i in range(0, len(frames), BATCH_SIZE)])
    return embeddings.unflatten(0, (audio_batches, num_frames)), timestamps


def get_scene_embeddings(audio: Tensor, model: torch.nn.Module) -> Tensor:
    embeddings, _ = get_timestamp_embeddings(audio, model, hop_size=SCENE_HOP_MS)
    return torch.mean(embeddings, dim=1)
