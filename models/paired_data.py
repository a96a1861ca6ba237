"""(clip, caption) pairs for audio-text pre-training, from a folder task's CSVs.

A retrieval task's `path,caption` rows are pairs as they are (several captions per clip
give several pairs); a tagging task's `path,labels` (`;`-joined) and a classification
task's `path,label` become captions through a template ("the sound of dog bark, rain").
Batch `i` is a pure function of (seed, i), like `models.data.CropBatches`. Each clip is read
whole when it fits the crop (shorter clips are repeated to fill it, LAION-CLAP's
"repeatpad"), so every captioned event is heard; only clips longer than the crop are cut at a
random offset (`PairedBatches.longer` counts them, so a run can say so).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from models.data import DataError, built_folder, read_crop, scan


def label_caption(labels: str, template: str = "the sound of {}", separator: str = ";") -> str:
    names = [x.strip().replace("_", " ") for x in str(labels).split(separator) if x.strip()]
    return template.format(", ".join(names))


def find_pairs_folder(spec: str) -> Path:
    """A folder task by path, or by name under $EARBENCH_HOME (e.g. `mini-retrieval`)."""
    from benchmark.storage import home
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    built = built_folder(spec)
    if built is not None:
        return built
    raise DataError(f"caption pairs {spec!r}: not a folder, nor a folder named so under {home()} "
                    f"(build the mini suite with `earbench data build mini`, or give a folder task)")


def has_captions(spec: str, split: str = "train") -> bool:
    """Whether `spec` (a folder task, or a name under $EARBENCH_HOME) gives (clip, caption) pairs:
    its `{split}.csv` (or `data.csv`) has a `caption`, `labels` or `label` column."""
    import pandas as pd
    try:
        folder = find_pairs_folder(spec)
    except DataError:
        return False
    for csv in (folder / f"{split}.csv", folder / "data.csv"):
        if csv.exists():
            try:
                columns = set(pd.read_csv(csv, nrows=0).columns)
            except (OSError, ValueError):
                return False
            return "path" in columns and bool(columns & {"caption", "labels", "label"})
    return False


def read_pairs(folder: Path, split: str = "train", template: str = "the sound of {}") -> list[tuple[Path, str]]:
    """(audio path, caption) rows of `folder/{split}.csv` (or `data.csv`)."""
    import pandas as pd
    folder = Path(folder)
    csv = folder / f"{split}.csv"
    if not csv.exists():
        csv = folder / "data.csv"
    if not csv.exists():
        raise DataError(f"{folder}: no {split}.csv or data.csv to read captions from")
    frame = pd.read_csv(csv)
    if "caption" in frame.columns:
        texts = frame["caption"].astype(str)
    elif "labels" in frame.columns:
        texts = frame["labels"].map(lambda x: label_caption(x, template))
    elif "label" in frame.columns:
        texts = frame["label"].map(lambda x: label_caption(x, template))
    else:
        raise DataError(f"{csv}: needs a `caption`, `labels` or `label` column to make captions")
    return [(folder / p, t) for p, t in zip(frame["path"].astype(str), texts)]


class PairedBatches:
    """`batches[i]` -> (audio [B, samples] float32, B captions)."""

    def __init__(self, pairs: list[tuple[Path, str]], batch: int, samples: int, rate: int, seed: int = 0) -> None:
        files, problems = scan(sorted({p for p, _ in pairs}))
        readable = {Path(f.path): f for f in files}
        self.pairs = [(readable[p], t) for p, t in pairs if p in readable]
        if not self.pairs:
            raise DataError(f"no readable audio among {len(pairs)} caption pairs ({problems[:3]})")
        self.batch, self.samples, self.rate, self.seed = batch, samples, rate, seed
        clips = {f.path: f for f, _ in self.pairs}.values()
        #: clips longer than a crop (by more than 10 ms): their captioned events may be cut
        self.longer = sum(f.frames * rate / f.rate > samples + rate // 100 for f in clips)
        self.clips = len(clips)

    def __len__(self) -> int:
        return 2 ** 62

    def __getitem__(self, index: int) -> tuple[torch.Tensor, list[str]]:
        rng = np.random.default_rng([self.seed, index])
        picks = rng.integers(0, len(self.pairs), size=self.batch)
        audio = torch.stack([read_crop(self.pairs[i][0], self.samples, self.rate, rng) for i in picks])
        return audio, [self.pairs[i][1] for i in picks]
