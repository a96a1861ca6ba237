"""Shared by the tests of the waveform / discrete / audio-text / SSM paradigms (defines no tests)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import soundfile as sf

from models.recipes import RECIPES, Recipe

PARADIGM_RECIPES = ("wav2vec2-tiny", "hubert-tiny", "bestrq-tiny", "ssm-matpac-tiny", "clap-tiny")


def micro6(name: str, steps: int = 6, lr: float = 1e-3) -> Recipe:
    """A tiny recipe of this family shrunk to seconds on a CPU (64 wide, 2 deep, short crops)."""
    r = RECIPES[name]
    optim = dataclasses.replace(r.optim, steps=steps, batch_size=4, warmup_steps=1, lr=lr, final_lr=lr / 10)
    p, e = r.params, r.encoder
    if r.objective in ("wav2vec2", "hubert"):
        encoder = dataclasses.replace(e, conv_channels=(32,) * 7, dim=64, depth=2, heads=2, pos_conv=9, pos_groups=4)
        if r.objective == "wav2vec2":
            params = dataclasses.replace(p, crop_samples=16000, negatives=10, entries=16, code_dim=32, final_dim=32)
        else:
            params = dataclasses.replace(p, crop_samples=16000, clusters=8, final_dim=32, kmeans_iterations=10)
    elif r.objective == "bestrq":
        encoder = dataclasses.replace(e, dim=64, depth=2, heads=2, conformer_kernel=7)
        params = dataclasses.replace(p, crop_frames=64, codebook=64, mask_span=4)
    elif r.objective == "ssm-matpac":
        encoder = dataclasses.replace(e, dim=64, depth=2, heads=2, max_frames=64)
        params = dataclasses.replace(p, predictor_dim=32, predictor_depth=1, predictor_heads=2, head_hidden=64,
                                     head_bottleneck=32, classes=64)
    elif r.objective == "clap":
        encoder = dataclasses.replace(e, audio=dataclasses.replace(e.audio, dim=64, depth=2, heads=2, max_frames=64),
                                      text=dataclasses.replace(e.text, dim=32, depth=1, heads=2), embed_dim=32)
        params = dataclasses.replace(p, crop_frames=64)
    else:
        raise KeyError(name)
    return dataclasses.replace(r, encoder=encoder, params=params, optim=optim, save_every=3, log_every=1,
                               stats_clips=8)


CAPTIONS = {"a low hum": 220.0, "a whistle": 1800.0, "a buzz": 600.0, "a high beep": 3200.0}


def write_caption_task(root: Path, per_caption: int = 3, column: str = "caption") -> Path:
    """A folder task whose clips are tones, one pitch per caption (or per label)."""
    rng = np.random.default_rng(0)
    rows = []
    (root / "audio").mkdir(parents=True, exist_ok=True)
    for c, (caption, freq) in enumerate(CAPTIONS.items()):
        for k in range(per_caption):
            t = np.arange(16000) / 16000
            wave = 0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(len(t))
            name = f"audio/{c}_{k}.wav"
            sf.write(root / name, wave.astype(np.float32), 16000)
            text = caption if column == "caption" else caption.split()[-1] + ";tone"
            rows.append(f"{name},{text}")
    (root / "train.csv").write_text(f"path,{column}\n" + "\n".join(rows) + "\n")
    (root / "task.toml").write_text(f'name = "captions"\nfamily = "{"retrieval" if column == "caption" else "tagging"}"\n')
    return root
