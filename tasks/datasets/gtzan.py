"""GTZAN genre collection: 1,000 thirty-second excerpts (22.05 kHz), 10 genres.

Layout (the original `genres.tar.gz` from marsyas.info; the Kaggle re-upload's
`genres_original/` with .wav files is accepted too):
    genres/{genre}/{genre}.{nnnnn}.au
Task `gtzan`: the fault-filtered split (Kereliuk, Sturm & Larsen 2015; 443 / 197 / 290
excerpts, repeated, distorted and mislabelled excerpts removed, artists kept apart), accuracy.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import soundfile as sf

from tasks.datasets import default_out_dir
from tasks.datasets.common import LayoutError, TaskInfo, check_sample_rate, rel, write_folder_task
from tasks.datasets.download import Resource, download_all
from tasks.datasets.gtzan_split import TEST, TRAIN, VALID

DESCRIPTION = "GTZAN music genre classification (fault-filtered split)"
TASKS = ("gtzan",)
RESOURCES = (  # sha256 as pinned by torchaudio and TFDS
    Resource("http://opihi.cs.uvic.ca/sound/genres.tar.gz",
             sha256="24347e0223d2ba798e0a558c4c172d9d4a19c00bb7963fe055d183dadb4ef2c6", size=1225571541),
)
GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
CITATION = ("G. Tzanetakis and P. Cook. Musical genre classification of audio signals. IEEE Transactions on Speech "
            "and Audio Processing, 10(5):293-302, 2002. Split: C. Kereliuk, B. L. Sturm and J. Larsen. Deep learning "
            "and music adversaries. IEEE Transactions on Multimedia, 17(11):2059-2071, 2015.")


def download_gtzan(target_dir: str | Path) -> Path:
    download_all(RESOURCES, target_dir)
    return Path(target_dir) / "genres"


def find_genres(corpus_dir: Path) -> Path:
    corpus_dir = Path(corpus_dir).expanduser().resolve()
    for base in (corpus_dir, *sorted(p for p in corpus_dir.glob("*") if p.is_dir()),
                 *sorted(p for p in corpus_dir.glob("*/*") if p.is_dir())):
        if all((base / g).is_dir() for g in GENRES):
            return base
    raise LayoutError(f"GTZAN: no directory with the 10 genre folders ({', '.join(GENRES)}) in or below {corpus_dir}; "
                      f"expected the unpacked genres.tar.gz (genres/blues/blues.00000.au, ...)")


def prepare_gtzan(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = find_genres(Path(corpus_dir))
    splits = {}
    for split, ids in (("train", TRAIN), ("valid", VALID), ("test", TEST)):
        files = []
        for excerpt in ids:
            genre = excerpt.split(".")[0]
            candidates = [root / genre / f"{excerpt}{ext}" for ext in (".au", ".wav")]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise LayoutError(f"GTZAN: excerpt {excerpt} of the filtered {split} split is missing "
                                  f"(looked for {candidates[0]} and .wav)")
            try:
                sf.info(str(found))
            except RuntimeError as err:
                raise LayoutError(f"GTZAN: {found} is unreadable ({err}); the Kaggle copy's jazz.00054.wav is known "
                                  f"to be corrupt: use the original genres.tar.gz") from None
            files.append(found)
        check_sample_rate(files, 22050, "GTZAN", probe=len(files))
        splits[split] = pd.DataFrame({"path": [rel(f, root, "audio") for f in files],
                                      "label": [f.parent.name for f in files]})
    info = TaskInfo(name="gtzan", family="classification", description=DESCRIPTION,
                    license="unknown: copyrighted recordings distributed for research", citation=CITATION,
                    source="http://marsyas.info/downloads/datasets.html", version="GTZAN genres.tar.gz, fault-filtered split",
                    metrics=("accuracy", "macro_f1"), main_metric="accuracy", sample_rate=22050,
                    checksums={r.name: r.published for r in RESOURCES})
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="gtzan", splits=splits, links={"audio": root})]
