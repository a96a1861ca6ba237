"""LibriSpeech (OpenSLR 12): read English audiobooks, 16 kHz FLAC, for the CTC probe.

Layout (the `*.tar.gz` subsets unpacked into one directory):
    LibriSpeech/{subset}/{speaker}/{chapter}/{speaker}-{chapter}-{utt}.flac
    LibriSpeech/{subset}/{speaker}/{chapter}/{speaker}-{chapter}.trans.txt   "ID WORDS..."
Tasks (SUPERB's ASR setting: train-clean-100, dev-clean for selection):
  `librispeech-100h`        test on test-clean  (WER, CER)
  `librispeech-100h-other`  dev-other / test-other (prepared when those subsets are present)
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import LayoutError, TaskInfo, check_sample_rate, locate, rel, write_folder_task
from tasks.datasets.download import Resource, download_all

DESCRIPTION = "LibriSpeech ASR with a CTC probe (train-clean-100; test-clean / test-other)"
TASKS = ("librispeech-100h", "librispeech-100h-other")
SUBSETS = ("train-clean-100", "dev-clean", "test-clean", "dev-other", "test-other")
# sha256 as pinned by torchaudio
SHA256 = {
    "train-clean-100": "d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2",
    "dev-clean": "76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3",
    "test-clean": "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
    "dev-other": "12661c48e8c3fe1de2c1caa4c3e135193bfb1811584f11f569dd12645aa84365",
    "test-other": "d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29",
}
RESOURCES = tuple(Resource(f"https://www.openslr.org/resources/12/{s}.tar.gz", sha256=SHA256[s]) for s in SUBSETS)
CITATION = ("V. Panayotov, G. Chen, D. Povey and S. Khudanpur. Librispeech: an ASR corpus based on public domain "
            "audio books. ICASSP 2015.")


def download_librispeech(target_dir: str | Path) -> Path:
    download_all(RESOURCES, target_dir)
    return Path(target_dir) / "LibriSpeech"


def read_subset(root: Path, subset: str) -> pd.DataFrame:
    base = root / subset
    if not base.is_dir():
        raise LayoutError(f"LibriSpeech: missing subset {base} (download {subset}.tar.gz from "
                          f"https://www.openslr.org/12 and unpack it next to the others)")
    rows = []
    for trans in sorted(base.glob("*/*/*.trans.txt")):
        for number, line in enumerate(trans.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            utt, _, text = line.partition(" ")
            audio = trans.parent / f"{utt}.flac"
            if not audio.is_file():
                raise LayoutError(f"LibriSpeech: {trans} line {number} names {utt} but {audio} is missing")
            if not text.strip():
                raise LayoutError(f"LibriSpeech: {trans} line {number}: empty transcript for {utt}")
            rows.append((rel(audio, root, "audio"), text.strip(), audio))
    if not rows:
        raise LayoutError(f"LibriSpeech: no {{speaker}}/{{chapter}}/*.trans.txt under {base}")
    check_sample_rate([r[2] for r in rows], 16000, "LibriSpeech")
    return pd.DataFrame([r[:2] for r in rows], columns=["path", "transcript"])


def prepare_librispeech(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "train-clean-100", "LibriSpeech",
                  "Expected LibriSpeech/train-clean-100, dev-clean, test-clean (unpacked OpenSLR 12 archives).")
    out = out_dir or default_out_dir()
    train, dev = read_subset(root, "train-clean-100"), read_subset(root, "dev-clean")
    written = []
    for name, valid_subset, test_subset in (("librispeech-100h", "dev-clean", "test-clean"),
                                            ("librispeech-100h-other", "dev-other", "test-other")):
        if name.endswith("other") and not all((root / s).is_dir() for s in (valid_subset, test_subset)):
            continue
        splits = {"train": train, "valid": dev if valid_subset == "dev-clean" else read_subset(root, valid_subset),
                  "test": read_subset(root, test_subset)}
        info = TaskInfo(name=name, family="asr", description=f"LibriSpeech train-clean-100 -> {test_subset} (CTC probe)",
                        license="CC BY 4.0", citation=CITATION, source="https://www.openslr.org/12",
                        version="OpenSLR 12", metrics=("wer", "cer"), main_metric="wer", sample_rate=16000,
                        checksums={f"{s}.tar.gz": f"sha256:{SHA256[s]}" for s in ("train-clean-100", valid_subset, test_subset)})
        written.append(write_folder_task(out, info, dataset="librispeech", splits=splits, links={"audio": root}))
    return written
