"""CREMA-D: 7,442 acted sentences by 91 actors, six emotions (16 kHz).

Layout (the GitHub repository with its Git LFS audio):
    AudioWAV/{actor}_{sentence}_{emotion}_{level}.wav    e.g. 1001_DFA_ANG_XX.wav
    VideoDemographics.csv   ActorID,Age,Sex,Race,Ethnicity
Task `crema-d`: emotion (ANG DIS FEA HAP NEU SAD), 5-fold cross-validation as in HEAR, with
speaker-disjoint folds (actor k of the sorted actor IDs goes to fold k mod 5), accuracy.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import LayoutError, TaskInfo, check_sample_rate, locate, read_table, write_folder_task
from tasks.datasets.download import DownloadError, manual_download

DESCRIPTION = "CREMA-D speech emotion recognition (6 classes, 5 speaker-disjoint folds)"
TASKS = ("crema-d",)
REPOSITORY = "https://github.com/CheyneyComputerScience/CREMA-D.git"
RESOURCES = ()  # a Git LFS repository: no archive, no published checksum (git verifies object hashes)
EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
FOLDS = 5
CITATION = ("H. Cao, D. G. Cooper, M. K. Keutmann, R. C. Gur, A. Nenkova and R. Verma. CREMA-D: Crowd-sourced "
            "Emotional Multimodal Actors Dataset. IEEE Transactions on Affective Computing, 5(4):377-390, 2014.")


def download_crema_d(target_dir: str | Path) -> Path:
    """`git clone` without LFS smudge, then `git lfs pull` of AudioWAV/ only (~600 MB)."""
    target = Path(target_dir) / "CREMA-D"
    if not (shutil.which("git") and subprocess.run(["git", "lfs", "version"], capture_output=True).returncode == 0):
        raise manual_download("CREMA-D", f"the audio is stored with Git LFS; install git and git-lfs, or run "
                                         f"`GIT_LFS_SKIP_SMUDGE=1 git clone {REPOSITORY} {target} && cd {target} && "
                                         f"git lfs pull --include 'AudioWAV/**'`")
    env = {"GIT_LFS_SKIP_SMUDGE": "1"}
    try:
        if not (target / ".git").is_dir():
            subprocess.run(["git", "clone", "--depth", "1", REPOSITORY, str(target)], check=True,
                           env={**os.environ, **env})
        subprocess.run(["git", "lfs", "pull", "--include", "AudioWAV/**"], cwd=target, check=True)
    except subprocess.CalledProcessError as err:
        raise DownloadError(f"CREMA-D: `{' '.join(map(str, err.cmd))}` failed (exit {err.returncode}); offline? "
                            f"Rerun to resume: git keeps what it fetched in {target}") from None
    return target


def prepare_crema_d(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "AudioWAV", "CREMA-D", "Expected the CREMA-D repository with its LFS audio pulled.")
    files = sorted((root / "AudioWAV").glob("*.wav"))
    if not files:
        raise LayoutError(f"CREMA-D: no .wav in {root / 'AudioWAV'} (Git LFS pointers not pulled?)")
    pointers = [f for f in files[:20] if f.stat().st_size < 200 and f.read_bytes().startswith(b"version https://git-lfs")]
    if pointers:
        raise LayoutError(f"CREMA-D: {pointers[0]} is a Git LFS pointer, not audio: run `git lfs pull` in {root}")
    parts = [f.stem.split("_") for f in files]
    bad = [f.name for f, p in zip(files, parts) if len(p) != 4 or p[2] not in EMOTIONS]
    if bad:
        raise LayoutError(f"CREMA-D: {len(bad)} file name(s) not of the form ACTOR_SENTENCE_EMOTION_LEVEL.wav with "
                          f"emotion in {', '.join(EMOTIONS)}, e.g. {bad[0]}")
    actors = sorted({p[0] for p in parts})
    if (root / "VideoDemographics.csv").is_file():
        demographics = read_table(root / "VideoDemographics.csv", ("ActorID",), "CREMA-D")
        unknown = sorted(set(actors) - set(demographics["ActorID"]))
        if unknown:
            raise LayoutError(f"CREMA-D: actor(s) {', '.join(unknown[:5])} absent from VideoDemographics.csv")
    if len(actors) < FOLDS:
        raise LayoutError(f"CREMA-D: {len(actors)} actors found, need at least {FOLDS} for speaker-disjoint folds")
    check_sample_rate(files, 16000, "CREMA-D")
    fold_of = {actor: f"fold{k % FOLDS:02d}" for k, actor in enumerate(actors)}
    data = pd.DataFrame({"path": [f"audio/{f.name}" for f in files], "label": [p[2] for p in parts],
                         "fold": [fold_of[p[0]] for p in parts]})
    info = TaskInfo(name="crema-d", family="classification", description=DESCRIPTION,
                    license="Open Database License 1.0 (contents: Database Contents License 1.0)", citation=CITATION,
                    source="https://github.com/CheyneyComputerScience/CREMA-D", version="CREMA-D (GitHub master, AudioWAV)",
                    metrics=("accuracy", "macro_f1"), main_metric="accuracy", sample_rate=16000)
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="crema_d", data=data,
                              links={"audio": root / "AudioWAV"})]
