"""Writes HEAR 2021 task directories (the layout hearpreprocess produces), for the tests
and for the parity run against the HEAR evaluation kit (`scripts/hear_parity.py`).

The scene task has classes of harmonic tones whose pitch ranges overlap, buried in noise
at a random SNR, so a probe scores clearly above chance but below 100%: a score that can
disagree between two harnesses.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

SPLITS = ("train", "valid", "test")


def tone_clip(label_index: int, seconds: float, rate: int, rng: np.random.Generator,
              jitter_octaves: float = 0.35, snr_db: tuple[float, float] = (-6.0, 8.0)) -> np.ndarray:
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    base = 220.0 * 2.0 ** (0.5 * label_index + rng.uniform(-jitter_octaves, jitter_octaves))
    wave = sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi)) / k for k in (1, 2, 3))
    attack = rng.uniform(0.0, 0.4 * seconds)
    envelope = np.clip((t - attack) / 0.02, 0, 1) * np.exp(-rng.uniform(0.5, 3.0) * np.clip(t - attack, 0, None))
    signal = wave * envelope
    noise = np.cumsum(rng.standard_normal(n)) * 0.02 + rng.standard_normal(n)  # reddish noise
    snr = rng.uniform(*snr_db)
    noise *= np.sqrt(np.mean(signal**2) + 1e-9) / np.sqrt(np.mean(noise**2)) / 10 ** (snr / 20)
    mix = signal + noise
    return (0.5 * mix / (np.abs(mix).max() + 1e-9)).astype(np.float32)


def write_audio(root: Path, split: str, name: str, audio: np.ndarray, source_rate: int, rates: tuple[int, ...]) -> None:
    for rate in rates:
        out = root / str(rate) / split / name
        out.parent.mkdir(parents=True, exist_ok=True)
        data = audio if rate == source_rate else AF.resample(torch.from_numpy(audio), source_rate, rate).numpy()
        sf.write(out, data, rate, subtype="PCM_16")


def write_hear_scene_task(root: Path, *, per_class: dict[str, int] | None = None, classes: int = 4,
                          seconds: float = 1.0, rates: tuple[int, ...] = (16000,), folds: int = 0,
                          seed: int = 0, name: str | None = None, pitch: bool = False) -> Path:
    """A HEAR scene multiclass task: trainvaltest (per_class clips per split) or `folds` folds."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    labels = [str(60 + 2 * i) for i in range(classes)] if pitch else [f"class{i}" for i in range(classes)]
    splits = tuple(f"fold{i:02d}" for i in range(folds)) if folds else SPLITS
    per_class = per_class or {s: 4 for s in splits}
    source_rate = max(rates)
    for split in splits:
        entries = {}
        for index, label in enumerate(labels):
            for k in range(per_class.get(split, per_class.get("fold", 4))):
                file = f"{label}_{split}_{k:04d}.wav"
                write_audio(root, split, file, tone_clip(index, seconds, source_rate, rng), source_rate, rates)
                entries[file] = [label]
        order = rng.permutation(len(entries))
        keys = list(entries)
        (root / f"{split}.json").write_text(json.dumps({keys[i]: entries[keys[i]] for i in order}, indent=1))
    with (root / "labelvocabulary.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["idx", "label"])
        writer.writerows(enumerate(labels))
    metadata = {
        "task_name": name or root.name, "version": "earbench-test-1", "embedding_type": "scene",
        "prediction_type": "multiclass", "split_mode": "new_split_kfold" if folds else "trainvaltest",
        "sample_duration": seconds, "evaluation": ["pitch_acc", "chroma_acc"] if pitch else ["top1_acc"],
        "download_urls": [], "default_mode": "full", "mode": "full", "splits": list(splits),
    }
    if folds:
        metadata["nfolds"] = folds
    (root / "task_metadata.json").write_text(json.dumps(metadata, indent=2))
    return root


def write_hear_event_task(root: Path, *, clips: int = 3, seconds: float = 4.0, rate: int = 16000) -> Path:
    """A HEAR event (timestamp) task: tone bursts of two labels, times in milliseconds."""
    rng = np.random.default_rng(1)
    for split in SPLITS:
        entries = {}
        for k in range(clips):
            audio = 0.01 * rng.standard_normal(int(seconds * rate)).astype(np.float32)
            events = []
            for label, freq in (("beep", 800.0), ("boop", 300.0)):
                start = rng.uniform(0.2, seconds - 1.2)
                span = slice(int(start * rate), int((start + 0.8) * rate))
                t = np.arange(span.stop - span.start) / rate
                audio[span] += (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
                events.append({"label": label, "start": round(start * 1000, 1), "end": round((start + 0.8) * 1000, 1)})
            file = f"{split}_{k}.wav"
            write_audio(root, split, file, audio, rate, (rate,))
            entries[file] = events
        (root / f"{split}.json").write_text(json.dumps(entries))
    (root / "labelvocabulary.csv").write_text("idx,label\n0,beep\n1,boop\n")
    (root / "task_metadata.json").write_text(json.dumps({
        "task_name": root.name, "version": "t", "embedding_type": "event", "prediction_type": "multilabel",
        "split_mode": "trainvaltest", "splits": list(SPLITS), "sample_duration": seconds,
        "evaluation": ["event_onset_200ms_fms", "segment_1s_er"],
        "evaluation_params": {"event_postprocessing_grid": {"median_filter_ms": [250], "min_duration": [125, 250]}}}))
    return root
