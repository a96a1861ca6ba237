"""Pre-training data: any folder of audio (or a task's training split), as random crops.

Batch `i` of a run is a pure function of (seed, rank, i): the files and crop offsets come
from a generator seeded with those three numbers, so a resumed run reads exactly the
batches it would have read, whatever the number of DataLoader workers. Files shorter than
a crop are repeated (wrapped) to fill it.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from benchmark.features.audio import resample
from benchmark.errors import AudioError, EarbenchError
from benchmark.storage import home

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


class DataError(EarbenchError):
    """The pre-training data cannot be found or read."""


@dataclass(frozen=True)
class AudioFile:
    path: str
    frames: int
    rate: int


def find_audio(root: Path) -> list[Path]:
    """Audio files under `root`, recursively, in a stable order."""
    return sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def _manifest_paths(root: Path) -> list[Path] | None:
    """The `path` column of `root/train.csv` (folder tasks, mini-pretrain), if there is one."""
    csv = root / "train.csv"
    if not csv.exists():
        return None
    import pandas as pd
    frame = pd.read_csv(csv)
    if "path" not in frame.columns:
        return None
    return [root / p for p in dict.fromkeys(frame["path"].astype(str))]


def resolve_data(spec: str) -> tuple[list[Path], str]:
    """Audio files for `--data SPEC` and a description of where they came from.

    SPEC is a folder (its `train.csv` if it has one, else every wav/flac/ogg below it), a
    registered or folder task (its training split), or the name of a folder built under
    `$EARBENCH_HOME` (e.g. `mini-pretrain`).
    """
    path = Path(spec).expanduser()
    if path.is_dir():
        listed = _manifest_paths(path)
        if listed is not None:
            return listed, f"{path}/train.csv ({len(listed)} files)"
        files = find_audio(path)
        if not files:
            raise DataError(f"--data {spec}: no {'/'.join(AUDIO_SUFFIXES)} files under {path}")
        return files, f"{path} ({len(files)} audio files)"
    task_files = _task_files(spec)
    if task_files is not None:
        return task_files, f"task {spec} training split ({len(task_files)} files)"
    built = built_folder(spec)
    if built is not None:
        return resolve_data(str(built))
    raise DataError(f"--data {spec}: not a folder, a registered task, nor a folder named so under {home()} "
                    f"(build the mini corpus with `earbench data build mini`, or give a folder of audio)")


def built_folder(name: str) -> Path | None:
    """The folder called `name` built under `$EARBENCH_HOME`, if any: the mini suite's build for
    `$EARBENCH_MINI_SIZE` (`data/mini/<size>/<name>`, default size small) first, then any depth up to 3."""
    if Path(name).is_absolute():  # a path that is not there, not a name
        return None
    size = os.environ.get("EARBENCH_MINI_SIZE", "small")
    patterns = (f"data/mini/{size}/{name}", name, f"*/{name}", f"*/*/{name}", f"*/*/*/{name}")
    built = [p for pattern in patterns for p in sorted(home().glob(pattern)) if p.is_dir()]
    return built[0] if built else None


def _task_files(spec: str) -> list[Path] | None:
    from benchmark.task import TASKS
    from benchmark.sources.load import load_task
    if spec not in TASKS:
        return None
    task = load_task(spec)
    manifests = task.load()
    splits = ["train"] if "train" in manifests else list(manifests)
    return [Path(p) for s in splits for p in dict.fromkeys(manifests[s]["path"].astype(str))]


def scan(paths: list[Path]) -> tuple[list[AudioFile], list[str]]:
    """Headers of every file (cheap); unreadable or empty files are returned as problems."""
    files, problems = [], []
    for p in paths:
        try:
            info = sf.info(str(p))
        except (sf.LibsndfileError, RuntimeError, OSError) as err:
            problems.append(f"{p}: {err}")
            continue
        if info.frames <= 0:
            problems.append(f"{p}: empty")
            continue
        files.append(AudioFile(str(p), int(info.frames), int(info.samplerate)))
    return files, problems


def read_crop(file: AudioFile, samples: int, rate: int, rng: np.random.Generator) -> torch.Tensor:
    """A random `samples`-long mono crop at `rate`, wrapping files that are too short."""
    need = math.ceil(samples * file.rate / rate) + (0 if file.rate == rate else 64)
    start = int(rng.integers(0, file.frames - need + 1)) if file.frames > need else 0
    try:
        data, _ = sf.read(file.path, start=start, frames=min(need, file.frames), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise AudioError(f"{file.path}: cannot read audio ({err})") from None
    mono = data.mean(axis=1)
    if len(mono) == 0:
        raise AudioError(f"{file.path}: no samples read")
    if len(mono) < need:
        mono = np.resize(mono, need)  # wraps around
    wave = resample(torch.from_numpy(np.ascontiguousarray(mono)), file.rate, rate)
    if wave.shape[0] < samples:
        wave = torch.nn.functional.pad(wave, (0, samples - wave.shape[0]))
    return wave[:samples]


class CropBatches(torch.utils.data.Dataset):
    """`dataset[i]` is micro-batch `i` of this rank: `[batch, samples]` float32."""

    def __init__(self, files: list[AudioFile], batch: int, samples: int, rate: int, seed: int = 0,
                 rank: int = 0) -> None:
        if not files:
            raise DataError("no readable audio files to pre-train on")
        self.files, self.batch, self.samples, self.rate = files, batch, samples, rate
        self.seed, self.rank = seed, rank

    def __len__(self) -> int:
        return 2 ** 62

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, self.rank, index])
        picks = rng.integers(0, len(self.files), size=self.batch)
        return torch.stack([read_crop(self.files[i], self.samples, self.rate, rng) for i in picks])


def sample_clips(files: list[AudioFile], count: int, samples: int, rate: int, seed: int = 0) -> torch.Tensor:
    """`count` crops for normalisation statistics (the same on every rank)."""
    return CropBatches(files, count, samples, rate, seed=seed, rank=2 ** 31 - 1)[0]
