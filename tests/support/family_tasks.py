"""Tiny synthetic folder tasks of every family, learnable from log-mel in seconds.

Each writer draws everything from `seed` and writes 16 kHz WAVs plus the family's CSVs,
in the folder task format (train/valid/test), so tests exercise the real loading path.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000
TONES = {"low": 300.0, "mid": 900.0, "high": 2400.0}
SPLIT_SHARES = {"train": 0.5, "valid": 0.25, "test": 0.25}


def sine(freq: float, seconds: float, rng: np.random.Generator, amp: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * freq * (1 + rng.uniform(-0.02, 0.02)) * t)).astype(np.float32)


def noise(seconds: float, rng: np.random.Generator, level: float = 0.03) -> np.ndarray:
    return (level * rng.standard_normal(int(seconds * RATE))).astype(np.float32)


def write_toml(root: Path, family: str, **extra: str) -> None:
    lines = [f'name = "{root.name}"', f'family = "{family}"', 'description = "synthetic"', 'license = "CC0"',
             'source = "tests"'] + [f"{k} = {v}" for k, v in extra.items()]
    (root / "task.toml").write_text("\n".join(lines) + "\n")


def split_of(i: int, n: int) -> str:
    if i < n * SPLIT_SHARES["train"]:
        return "train"
    return "valid" if i < n * (SPLIT_SHARES["train"] + SPLIT_SHARES["valid"]) else "test"


def write_split_csvs(root: Path, header: str, rows: dict[str, list[str]]) -> None:
    for split in ("train", "valid", "test"):
        (root / f"{split}.csv").write_text(header + "\n" + "".join(r + "\n" for r in rows[split]))


def save(root: Path, rel: str, wave: np.ndarray) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    sf.write(root / rel, np.clip(wave, -1, 1), RATE)


def write_tagging_task(root: Path, n: int = 48, seed: int = 0) -> Path:
    """1 s clips holding a non-empty subset of three tones; labels joined by ';'."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    names = list(TONES)
    for i in range(n):
        present = [t for t in names if rng.random() < 0.45] or [names[i % 3]]
        wave = noise(1.0, rng) + sum(sine(TONES[t], 1.0, rng, 0.25) for t in present)
        rel = f"audio/{i:03d}.wav"
        save(root, rel, wave)
        rows[split_of(i, n)].append(f"{rel},{';'.join(present)}")
    write_toml(root, "tagging")
    write_split_csvs(root, "path,labels", rows)
    return root


def write_sed_task(root: Path, n: int = 24, seed: int = 0, seconds: float = 2.0) -> Path:
    """Clips with 1-2 tone events at random times (and a few without events)."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    names = list(TONES)
    for i in range(n):
        wave = noise(seconds, rng)
        rel = f"audio/{i:03d}.wav"
        split = split_of(i, n)
        count = 0 if i % 8 == 7 else 1 + int(rng.random() < 0.5)
        for k in range(count):
            label = names[(i + k) % 3]
            length = rng.uniform(0.3, 0.7)
            onset = round(rng.uniform(0.0, seconds - length), 2)
            offset = round(onset + length, 2)
            start = int(onset * RATE)
            tone = sine(TONES[label], offset - onset, rng)
            wave[start: start + len(tone)] += tone[: len(wave) - start]
            rows[split].append(f"{rel},{onset},{offset},{label}")
        if count == 0:
            rows[split].append(f"{rel},,,")
        save(root, rel, wave)
    write_toml(root, "sed")
    write_split_csvs(root, "path,onset,offset,label", rows)
    return root


LETTERS = {"a": 400.0, "b": 1100.0, "c": 2600.0}


def write_asr_task(root: Path, n: int = 48, seed: int = 0) -> Path:
    """'Speech' where each letter is a 90 ms tone and a space is 150 ms of silence."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    letters = list(LETTERS)
    for i in range(n):
        words = ["".join(rng.choice(letters, size=rng.integers(1, 4))) for _ in range(rng.integers(1, 3))]
        text = " ".join(words)
        pieces = [noise(0.1, rng)]
        for ch in text:
            pieces.append(noise(0.15, rng) if ch == " " else sine(LETTERS[ch], 0.09, rng) + noise(0.09, rng))
            pieces.append(noise(0.04, rng))
        pieces.append(noise(0.1, rng))
        rel = f"audio/{i:03d}.wav"
        save(root, rel, np.concatenate(pieces))
        rows[split_of(i, n)].append(f"{rel},{text}")
    write_toml(root, "asr")
    write_split_csvs(root, "path,transcript", rows)
    return root


def voice(f0: float, profile: np.ndarray, seconds: float, rng: np.random.Generator,
          detune: float = 0.03) -> np.ndarray:
    """A harmonic 'voice': speaker identity is its pitch and harmonic profile."""
    t = np.arange(int(seconds * RATE)) / RATE
    f = f0 * (1 + rng.uniform(-detune, detune)) * (1 + 0.01 * np.sin(2 * np.pi * rng.uniform(3, 6) * t))
    phase = 2 * np.pi * np.cumsum(f) / RATE
    wave = sum(a * np.sin((h + 1) * phase) for h, a in enumerate(profile))
    return (0.3 * wave / np.abs(wave).max() + noise(seconds, rng, 0.02)).astype(np.float32)


def write_sv_task(root: Path, speakers: tuple[int, int, int] = (8, 4, 4), clips: int = 4, seed: int = 0,
                  detune: float = 0.03) -> Path:
    """Disjoint train / valid / test speakers; trials are all pairs of test clips. A larger
    `detune` (each clip's pitch off its speaker's by up to that fraction) makes voices overlap."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    test_paths: list[tuple[str, str]] = []
    spk = 0
    for split, count in zip(("train", "valid", "test"), speakers):
        for _ in range(count):
            f0, profile = rng.uniform(100, 300), rng.uniform(0, 1, 8)
            for c in range(clips):
                rel = f"audio/spk{spk:02d}_{c}.wav"
                save(root, rel, voice(f0, profile, rng.uniform(0.6, 1.0), rng, detune))
                rows[split].append(f"{rel},spk{spk:02d}")
                if split == "test":
                    test_paths.append((rel, f"spk{spk:02d}"))
            spk += 1
    write_toml(root, "speaker_verification")
    write_split_csvs(root, "path,speaker", rows)
    trials = [f"{a},{b},{int(sa == sb)}" for i, (a, sa) in enumerate(test_paths) for b, sb in test_paths[i + 1:]]
    (root / "trials.csv").write_text("enroll,test,target\n" + "\n".join(trials) + "\n")
    return root


def write_retrieval_task(root: Path, n: int = 48, seed: int = 0) -> Path:
    """Two tones in a row, each clip with two captions that name them in different words."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    names = list(TONES)
    synonyms = {"low": "deep", "mid": "middle", "high": "shrill"}
    for i in range(n):
        first, second = names[i % 3], names[(i // 3 + 1 + i) % 3]
        wave = np.concatenate([sine(TONES[first], 0.4, rng), sine(TONES[second], 0.4, rng)]) + noise(0.8, rng)
        rel = f"audio/{i:03d}.wav"
        save(root, rel, wave)
        split = split_of(i, n)
        rows[split].append(f"{rel},a {first} tone then a {second} tone")
        rows[split].append(f"{rel},{synonyms[first]} beep followed by a {synonyms[second]} beep")
    write_toml(root, "retrieval")
    write_split_csvs(root, "path,caption", rows)
    return root


def write_pitch_task(root: Path, pitches: range = range(60, 66), per_pitch: int = 8, seed: int = 0) -> Path:
    """Harmonic notes with random timbre, labelled with their MIDI pitch."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    items = [(p, k) for k in range(per_pitch) for p in pitches]
    for i, (pitch, k) in enumerate(items):
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        rel = f"audio/{pitch}_{k}.wav"
        save(root, rel, voice(f0, rng.uniform(0, 1, 5), 0.5, rng, detune=0.005))
        rows[split_of(i, len(items))].append(f"{rel},{pitch}")
    write_toml(root, "pitch")
    write_split_csvs(root, "path,pitch", rows)
    return root


WRITERS = {"tagging": write_tagging_task, "sed": write_sed_task, "asr": write_asr_task,
           "speaker_verification": write_sv_task, "retrieval": write_retrieval_task, "pitch": write_pitch_task}
