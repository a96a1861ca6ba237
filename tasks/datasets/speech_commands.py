"""Speech Commands v0.02: 105,829 one-second utterances of 35 words (16 kHz).

Layout (`speech_commands_v0.02.tar.gz` unpacked into `speech_commands_v0.02/`, and the
separate test set `speech_commands_test_set_v0.02.tar.gz` into its own directory):
    speech_commands_v0.02/{word}/{speaker}_nohash_{n}.wav     35 word folders
    speech_commands_v0.02/_background_noise_/*.wav            6 long noise recordings
    speech_commands_v0.02/validation_list.txt, testing_list.txt   "word/file.wav" lines
    speech_commands_test_set_v0.02/{10 words,_unknown_,_silence_}/*.wav
Tasks:
  `speech-commands-35`   all 35 words; train = files in neither list, valid/test = the lists.
  `speech-commands-ks12` SUPERB's keyword spotting: yes no up down left right on off stop go,
                         `_unknown_` (the other 25 words) and `_silence_` (1 s segments cut
                         from `_background_noise_`, 10% of them for validation, by hash);
                         tested on the official v0.02 test set, as SUPERB does.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import soundfile as sf

from tasks.datasets import default_out_dir
from tasks.datasets.common import (LayoutError, TaskInfo, check_files, check_sample_rate, fraction, locate,
                                   read_lines, rel, write_folder_task)
from tasks.datasets.download import Resource, extract, fetch

DESCRIPTION = "Speech Commands v0.02 keyword spotting (SUPERB KS 12-class, and 35 words)"
TASKS = ("speech-commands-ks12", "speech-commands-35")
# sha256 as pinned by torchaudio and TFDS
MAIN = Resource("http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
                sha256="af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58", size=2428923189)
TEST = Resource("http://download.tensorflow.org/data/speech_commands_test_set_v0.02.tar.gz",
                sha256="cc2a00c1147c2254e9be3fa0f779d8c17421dc349b86366567a8edfa9acd51df", size=112563277)
RESOURCES = (MAIN, TEST)
WORDS35 = ("backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four", "go",
           "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right", "seven",
           "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero")
KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN, SILENCE = "_unknown_", "_silence_"
RATE = 16000
CITATION = "P. Warden. Speech Commands: A Dataset for Limited-Vocabulary Speech Recognition. arXiv:1804.03209, 2018."
SUPERB = ("S. Yang et al. SUPERB: Speech processing Universal PERformance Benchmark. Interspeech 2021. "
          "arXiv:2105.01051")


def download_speech_commands(target_dir: str | Path) -> Path:
    target = Path(target_dir)
    extract(fetch(MAIN, target), target / "speech_commands_v0.02")
    extract(fetch(TEST, target), target / "speech_commands_test_set_v0.02")
    return target


def _find_test_set(corpus_dir: Path, main_root: Path) -> Path:
    if (main_root / SILENCE).is_dir() or (main_root / UNKNOWN).is_dir():
        raise LayoutError(f"Speech Commands: {main_root} holds {SILENCE}/ or {UNKNOWN}/: the test-set archive was "
                          f"unpacked over the main one. Unpack speech_commands_test_set_v0.02.tar.gz into its own "
                          f"directory (e.g. {main_root.parent / 'speech_commands_test_set_v0.02'})")
    for base in (Path(corpus_dir).resolve(), main_root.parent):
        for candidate in [base, *sorted(p for p in base.iterdir() if p.is_dir())]:
            if candidate != main_root and (candidate / SILENCE).is_dir() and (candidate / UNKNOWN).is_dir():
                return candidate
    raise LayoutError(f"Speech Commands: the official test set (speech_commands_test_set_v0.02.tar.gz, with "
                      f"{SILENCE}/ and {UNKNOWN}/ folders) was not found next to {main_root}; SUPERB's KS12 task "
                      f"is tested on it. `earbench data download speech_commands --target DIR` fetches both.")


def _silence_clips(noise_dir: Path, tmp: Path) -> tuple[dict[str, Path], pd.DataFrame]:
    """Cut every background noise recording into 1 s clips; 10% (by hash) go to valid."""
    files, rows = {}, []
    noises = sorted(noise_dir.glob("*.wav"))
    if not noises:
        raise LayoutError(f"Speech Commands: no recordings in {noise_dir} to cut {SILENCE} clips from")
    for noise in noises:
        audio, rate = sf.read(noise, dtype="float32", always_2d=True)
        if rate != RATE:
            raise LayoutError(f"Speech Commands: {noise} is {rate} Hz, expected {RATE}")
        for i in range(len(audio) // RATE):
            name = f"generated/silence/{noise.stem}_{i:03d}.wav"
            out = tmp / name.replace("/", "__")
            sf.write(out, audio[i * RATE:(i + 1) * RATE, 0], RATE, subtype="PCM_16")
            files[name] = out
            split = "valid" if fraction(f"{noise.name}:{i}", "sc-silence") < 0.1 else "train"
            rows.append((name, SILENCE, split))
    return files, pd.DataFrame(rows, columns=["path", "label", "split"])


def prepare_speech_commands(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "validation_list.txt", "Speech Commands",
                  "Expected the unpacked speech_commands_v0.02.tar.gz (word folders + validation_list.txt).")
    missing = [w for w in WORDS35 if not (root / w).is_dir()]
    if missing:
        raise LayoutError(f"Speech Commands: {root} lacks word folder(s) {', '.join(missing)}: "
                          f"not Speech Commands v0.02 (35 words)")
    valid = set(read_lines(root / "validation_list.txt", "Speech Commands", "validation file list"))
    test = set(read_lines(root / "testing_list.txt", "Speech Commands", "testing file list"))
    files = sorted(f"{w}/{p.name}" for w in WORDS35 for p in (root / w).glob("*.wav"))
    listed = valid | test
    unknown_listed = sorted(listed - set(files))
    if unknown_listed:
        raise LayoutError(f"Speech Commands: {len(unknown_listed)} file(s) of validation_list.txt/testing_list.txt "
                          f"are missing, e.g. {root / unknown_listed[0]}")
    check_sample_rate([root / f for f in files], RATE, "Speech Commands")
    words = pd.DataFrame({"path": [f"audio/{f}" for f in files], "word": [f.split("/")[0] for f in files],
                          "split": ["valid" if f in valid else "test" if f in test else "train" for f in files]})
    out = out_dir or default_out_dir()
    info35 = TaskInfo(name="speech-commands-35", family="classification", description="Speech Commands v0.02, 35 words",
                      license="CC BY 4.0", citation=CITATION, source="https://arxiv.org/abs/1804.03209",
                      version="v0.02", metrics=("accuracy", "macro_f1"), main_metric="accuracy", sample_rate=RATE,
                      checksums={MAIN.name: MAIN.published})
    splits35 = {s: words[words["split"] == s].rename(columns={"word": "label"})[["path", "label"]]
                for s in ("train", "valid", "test")}
    written = [write_folder_task(out, info35, dataset="speech_commands", splits=splits35, links={"audio": root})]

    test_root = _find_test_set(Path(corpus_dir), root)
    test_labels = (*KEYWORDS, UNKNOWN, SILENCE)
    missing = [w for w in test_labels if not (test_root / w).is_dir()]
    if missing:
        raise LayoutError(f"Speech Commands test set {test_root}: missing folder(s) {', '.join(missing)}")
    test_files = [p for w in test_labels for p in sorted((test_root / w).glob("*.wav"))]
    check_files(test_files, "Speech Commands", str(test_root))
    ks_test = pd.DataFrame({"path": [rel(p, test_root, "test_audio") for p in test_files],
                            "label": [p.parent.name for p in test_files]})
    with tempfile.TemporaryDirectory() as tmp:
        silence_files, silence = _silence_clips(root / "_background_noise_", Path(tmp))
        ks = words[words["split"] != "test"].assign(
            label=[w if w in KEYWORDS else UNKNOWN for w in words.loc[words["split"] != "test", "word"]])
        ks = pd.concat([ks[["path", "label", "split"]], silence], ignore_index=True)
        splits12 = {"train": ks[ks["split"] == "train"][["path", "label"]],
                    "valid": ks[ks["split"] == "valid"][["path", "label"]], "test": ks_test}
        info12 = TaskInfo(name="speech-commands-ks12", family="classification",
                          description="SUPERB keyword spotting: 10 words + unknown + silence (Speech Commands v0.02)",
                          license="CC BY 4.0", citation=f"{CITATION} {SUPERB}", source="https://arxiv.org/abs/1804.03209",
                          version="v0.02 + test set v0.02 (SUPERB KS)", metrics=("accuracy", "macro_f1"),
                          main_metric="accuracy", sample_rate=RATE,
                          checksums={r.name: r.published for r in RESOURCES})
        written.append(write_folder_task(out, info12, dataset="speech_commands", splits=splits12,
                                         links={"audio": root, "test_audio": test_root}, files=silence_files))
    return written
