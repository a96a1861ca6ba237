"""Shared by the tests of `models/`: micro recipes (seconds on a CPU) and a folder of audio.

(Named test_models_* so that it lives with the files it serves; it defines no tests.)
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from models.recipes import RECIPES, Recipe

OBJECTIVE_RECIPES = ("eat-tiny", "matpac-tiny", "audiomae-tiny", "byola-tiny")


def micro_recipe(name: str, steps: int = 6, lr: float = 1e-3) -> Recipe:
    """`name` (a tiny recipe) shrunk further: 64 wide, 2 deep, 0.64 s crops, 4 clips a step."""
    r = RECIPES[name]
    optim = dataclasses.replace(r.optim, steps=steps, batch_size=4, warmup_steps=1, lr=lr, final_lr=lr / 10)
    if r.objective == "byola":
        encoder = dataclasses.replace(r.encoder, channels=8, dim=32)
        params = dataclasses.replace(r.params, crop_frames=32, projection_hidden=64, projection_dim=32)
    else:
        encoder = dataclasses.replace(r.encoder, dim=64, depth=2, heads=2, max_frames=64)
        changes = {"eat": dict(clones=2, decoder_dim=64, decoder_layers=1, target_layers=2),
                   "matpac": dict(predictor_dim=32, predictor_depth=1, predictor_heads=2, head_hidden=64,
                                  head_bottleneck=32, classes=64),
                   "audiomae": dict(decoder_dim=32, decoder_depth=1, decoder_heads=2)}[r.objective]
        params = dataclasses.replace(r.params, **changes)
    return dataclasses.replace(r, encoder=encoder, params=params, optim=optim, save_every=3, log_every=1,
                               stats_clips=8)


def write_audio_folder(root: Path, count: int = 6, seed: int = 0) -> Path:
    """Chirps and noise bursts of 0.5-2 s at 16 and 22.05 kHz, wav and flac, in nested folders."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        rate = 16000 if i % 3 else 22050
        t = np.arange(int(rate * rng.uniform(0.5, 2.0))) / rate
        wave = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t * (1 + 0.3 * t)) + 0.05 * rng.standard_normal(len(t))
        folder = root / ("sub" if i % 2 else "")
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"clip{i}.{'flac' if i % 4 == 0 else 'wav'}", wave.astype(np.float32), rate)
    return root


def audio_batch(samples: int, batch: int = 4, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(samples) / 16000
    freqs = torch.linspace(200, 3000, batch)[:, None]
    return 0.3 * torch.sin(2 * torch.pi * freqs * t * (1 + 0.5 * t)) + 0.05 * torch.randn(batch, samples, generator=gen)
