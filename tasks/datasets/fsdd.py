"""Free Spoken Digit Dataset: 3,000 recordings of the digits 0-9 by 6 speakers (8 kHz).

Layout (the GitHub release archive):
    free-spoken-digit-dataset-1.0.9/recordings/{digit}_{speaker}_{index}.wav
Task `fsdd`: the official split (index 0-4 of each digit and speaker = test), index 5-9
for validation, the rest (10-49) for training; accuracy.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import LayoutError, TaskInfo, check_sample_rate, locate, write_folder_task
from tasks.datasets.download import Resource, download_all

DESCRIPTION = "Free Spoken Digit Dataset (10 digits, 6 speakers)"
TASKS = ("fsdd",)
VERSION = "1.0.9"
RESOURCES = (  # sha256 as pinned by TFDS
    Resource(f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/v{VERSION}.tar.gz",
             f"free-spoken-digit-dataset-{VERSION}.tar.gz",
             sha256="8bc44cde129d505cbbb6b365c09f80c663f2aa77578afc634e6141a2f87100c0", size=11975353),
)
NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)$")
CITATION = "Z. Jackson et al. Free Spoken Digit Dataset (FSDD), v1.0.9. Zenodo, doi:10.5281/zenodo.1342401, 2018."


def download_fsdd(target_dir: str | Path) -> Path:
    download_all(RESOURCES, target_dir)
    return Path(target_dir) / f"free-spoken-digit-dataset-{VERSION}"


def prepare_fsdd(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "recordings", "FSDD", "Expected the unpacked free-spoken-digit-dataset release.")
    files = sorted((root / "recordings").glob("*.wav"))
    if not files:
        raise LayoutError(f"FSDD: no .wav files in {root / 'recordings'}")
    parsed = [NAME.match(f.stem) for f in files]
    bad = [f.name for f, m in zip(files, parsed) if m is None]
    if bad:
        raise LayoutError(f"FSDD: {len(bad)} file name(s) not of the form DIGIT_SPEAKER_INDEX.wav, e.g. {bad[0]}")
    check_sample_rate(files, 8000, "FSDD")
    index = [int(m.group(3)) for m in parsed]
    frame = pd.DataFrame({"path": [f"audio/{f.name}" for f in files], "label": [m.group(1) for m in parsed],
                          "split": ["test" if i < 5 else "valid" if i < 10 else "train" for i in index]})
    splits = {s: frame[frame["split"] == s][["path", "label"]] for s in ("train", "valid", "test")}
    info = TaskInfo(name="fsdd", family="classification", description=DESCRIPTION, license="CC BY-SA 4.0",
                    citation=CITATION, source="https://github.com/Jakobovski/free-spoken-digit-dataset",
                    version=f"v{VERSION}", metrics=("accuracy", "macro_f1"), main_metric="accuracy", sample_rate=8000,
                    checksums={r.name: r.published for r in RESOURCES})
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="fsdd", splits=splits,
                              links={"audio": root / "recordings"})]
