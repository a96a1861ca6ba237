"""VoxCeleb1: 153,516 utterances of 1,251 celebrities from YouTube interviews (16 kHz).

Layout (vox1_dev_wav.zip and vox1_test_wav.zip unpacked together, plus the meta files):
    wav/{speaker id}/{YouTube id}/{nnnnn}.wav
    iden_split.txt   "1|2|3 id10001/1zcIwhmdeo4/00001.wav"   (1 train, 2 valid, 3 test)
    veri_test2.txt   "1|0 id10270/x6uYqmx31kE/00001.wav id10270/8jEAjG6SegY/00008.wav"
                     (VoxCeleb1-O cleaned; veri_test.txt, the original list, is used if absent)
Tasks:
  `voxceleb1-sid`  speaker identification on the official split (accuracy; SUPERB SID)
  `voxceleb1-sv`   verification: train on the 1,211 development speakers (2% of them, by
                   hash, held out whole for validation, so validation is open-set like the
                   test), score the VoxCeleb1-O trials on the 40 test speakers (EER, minDCF;
                   SUPERB ASV)
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import (LayoutError, TaskInfo, check_files, check_sample_rate, hold_out, locate,
                                   read_lines, write_folder_task)
from tasks.datasets.download import Resource, concatenate, download_all, extract, fetch

DESCRIPTION = "VoxCeleb1 speaker identification and verification (VoxCeleb1-O)"
TASKS = ("voxceleb1-sid", "voxceleb1-sv")
META = "https://www.robots.ox.ac.uk/~vgg/data/voxceleb/meta/"
AUDIO = "https://thor.robots.ox.ac.uk/~vgg/data/voxceleb/vox1a/"
# audio sha256 as pinned by torchaudio; the meta lists carry no published checksum
DEV_PARTS = tuple(Resource(AUDIO + f"vox1_dev_wav_part{p}", sha256=s, extract=False) for p, s in (
    ("aa", "21ec6ca843659ebc2fdbe04b530baa4f191ad4b0971912672d92c158f32226a0"),
    ("ab", "311d21e0c8cbf33573a4fce6c80e5a279d80736274b381c394319fc557159a04"),
    ("ac", "92b64465f2b2a3dc0e4196ae8dd6828cbe9ddd1f089419a11e4cbfe2e1750df0"),
    ("ad", "00e6190c770b27f27d2a3dd26ee15596b17066b715ac111906861a7d09a211a5"),
))
TEST_ZIP = Resource(AUDIO + "vox1_test_wav.zip", sha256="8de57f347fe22b2c24526e9f444f689ecf5096fc2a92018cf420ff6b5b15eaea",
                     extract=False)
META_FILES = tuple(Resource(META + name, extract=False) for name in ("iden_split.txt", "veri_test2.txt", "vox1_meta.csv"))
RESOURCES = (*META_FILES, *DEV_PARTS, TEST_ZIP)
CITATION = "A. Nagrani, J. S. Chung and A. Zisserman. VoxCeleb: a large-scale speaker identification dataset. Interspeech 2017."
VALID_FRACTION = 0.02


def download_voxceleb1(target_dir: str | Path) -> Path:
    """The meta lists and the audio zips (the audio server may ask for the credentials that
    the VoxCeleb site gives on registration; a 401/403 says so)."""
    target = Path(target_dir)
    download_all(META_FILES, target)
    parts = [fetch(r, target) for r in DEV_PARTS]
    extract(concatenate(parts, target / "vox1_dev_wav.zip"), target)
    extract(fetch(TEST_ZIP, target), target)
    return target


def _parse(lines: list[str], fields: int, path: Path) -> list[list[str]]:
    rows = []
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if len(parts) != fields:
            raise LayoutError(f"VoxCeleb1: {path} line {number}: expected {fields} fields, got {line!r}")
        rows.append(parts)
    return rows


def prepare_voxceleb1(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "iden_split.txt", "VoxCeleb1",
                  "Expected wav/ (vox1_dev_wav.zip + vox1_test_wav.zip unpacked) next to iden_split.txt and veri_test2.txt.")
    wav = root / "wav"
    if not wav.is_dir():
        raise LayoutError(f"VoxCeleb1: missing {wav} (unpack vox1_dev_wav.zip and vox1_test_wav.zip into {root})")
    out = out_dir or default_out_dir()
    iden = _parse(read_lines(root / "iden_split.txt", "VoxCeleb1", "identification split"), 2, root / "iden_split.txt")
    bad = sorted({s for s, _ in iden} - {"1", "2", "3"})
    if bad:
        raise LayoutError(f"VoxCeleb1: {root / 'iden_split.txt'} uses set number(s) {', '.join(bad)}; expected 1, 2, 3")
    files = [wav / f for _, f in iden]
    check_files(files, "VoxCeleb1", "iden_split.txt")
    check_sample_rate(files, 16000, "VoxCeleb1")
    sid = pd.DataFrame({"path": [f"wav/{f}" for _, f in iden], "label": [f.split("/")[0] for _, f in iden],
                        "set": [s for s, _ in iden]})
    sid_splits = {name: sid[sid["set"] == s][["path", "label"]] for name, s in (("train", "1"), ("valid", "2"), ("test", "3"))}
    info = TaskInfo(name="voxceleb1-sid", family="classification", description="VoxCeleb1 speaker identification (1,251 speakers)",
                    license="CC BY 4.0", citation=CITATION, source="https://www.robots.ox.ac.uk/~vgg/data/voxceleb/vox1.html",
                    version="VoxCeleb1 (iden_split.txt)", metrics=("accuracy",), main_metric="accuracy",
                    sample_rate=16000, checksums={r.name: r.published for r in RESOURCES if r.published})
    written = [write_folder_task(out, info, dataset="voxceleb1", splits=sid_splits, links={"wav": wav})]

    trials_path = root / "veri_test2.txt" if (root / "veri_test2.txt").is_file() else root / "veri_test.txt"
    trials = _parse(read_lines(trials_path, "VoxCeleb1", "verification trials (veri_test2.txt)"), 3, trials_path)
    bad = sorted({t for t, _, _ in trials} - {"0", "1"})
    if bad:
        raise LayoutError(f"VoxCeleb1: {trials_path} first field must be 0 or 1, found {', '.join(bad)}")
    trial_files = sorted({f for _, a, b in trials for f in (a, b)})
    check_files([wav / f for f in trial_files], "VoxCeleb1", trials_path.name)
    test_speakers = {f.split("/")[0] for f in trial_files}
    dev = sid[~sid["label"].isin(test_speakers)]
    dev_speakers = sorted(set(dev["label"]))
    held_speakers = {s for s, h in zip(dev_speakers, hold_out(dev_speakers, VALID_FRACTION, "vox1-sv-valid", 2)) if h}
    held = dev["label"].isin(held_speakers)
    sv_splits = {"train": dev[~held].rename(columns={"label": "speaker"})[["path", "speaker"]],
                 "valid": dev[held].rename(columns={"label": "speaker"})[["path", "speaker"]],
                 "test": pd.DataFrame({"path": [f"wav/{f}" for f in trial_files],
                                       "speaker": [f.split("/")[0] for f in trial_files]})}
    trial_table = pd.DataFrame({"enroll": [f"wav/{a}" for _, a, _ in trials], "test": [f"wav/{b}" for _, _, b in trials],
                                "target": [int(t) for t, _, _ in trials]})
    info = TaskInfo(name="voxceleb1-sv", family="speaker_verification",
                    description=f"VoxCeleb1-O speaker verification ({trials_path.name}, {len(trials)} trials)",
                    license="CC BY 4.0", citation=CITATION, source="https://www.robots.ox.ac.uk/~vgg/data/voxceleb/vox1.html",
                    version=f"VoxCeleb1 ({trials_path.name})", metrics=("eer", "min_dcf"), main_metric="eer",
                    sample_rate=16000, checksums={r.name: r.published for r in RESOURCES if r.published})
    written.append(write_folder_task(out, info, dataset="voxceleb1", splits=sv_splits, trials=trial_table,
                                     links={"wav": wav}))
    return written
