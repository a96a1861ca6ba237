"""The tests' staple: a folder task of three separable tone classes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000
TONES = {"low": 300.0, "mid": 900.0, "high": 2400.0}


def tone(freq: float, seconds: float, rng: np.random.Generator, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.4 * np.sin(2 * np.pi * freq * (1 + rng.uniform(-0.03, 0.03)) * t)
    return (wave + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


def write_tone_task(root: Path, per_class: int = 12, seed: int = 0, shuffle_labels: bool = False,
                    rate: int = RATE, kfold: bool = False) -> Path:
    """Three separable tone classes of varying length; optionally with labels shuffled."""
    rng = np.random.default_rng(seed)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    rows = []
    for label, freq in TONES.items():
        for i in range(per_class):
            rel = f"audio/{label}_{i:03d}.wav"
            sf.write(root / rel, tone(freq, rng.uniform(0.4, 1.2), rng, rate), rate)
            rows.append((rel, label))
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    if shuffle_labels:
        labels = [r[1] for r in rows]
        rng.shuffle(labels)
        rows = [(r[0], l) for r, l in zip(rows, labels)]
    name = root.name
    (root / "task.toml").write_text(
        f'name = "{name}"\nfamily = "classification"\ndescription = "tones"\nlicense = "CC0"\nsource = "tests"\n')
    if kfold:
        lines = ["path,label,fold"] + [f"{p},{l},fold{k % 4}" for k, (p, l) in enumerate(rows)]
        (root / "data.csv").write_text("\n".join(lines) + "\n")
        return root
    n = len(rows)
    cuts = {"train": rows[: n // 2], "valid": rows[n // 2: 3 * n // 4], "test": rows[3 * n // 4:]}
    for split, part in cuts.items():
        (root / f"{split}.csv").write_text("path,label\n" + "".join(f"{p},{l}\n" for p, l in part))
    return root
