"""The offline mini suite: deterministic, cached, atomic, and every folder valid and consistent."""
from __future__ import annotations

import csv
import time
import tomllib
from pathlib import Path

import pytest
import soundfile as sf

from benchmark.family import family_of
from benchmark.sources.folder import load_folder_task
from tasks.mini import MINI_CORPUS, MINI_TASKS, MissingSourceError, build_mini
from tasks.mini.build import plan_task
from tasks.mini.folder import CHECKSUMS, METRICS, verify_checksums
from tasks.mini.gm import Note
from tasks.mini.speech import Speech
from tasks.mini.words import VOCABULARY



@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    folders = build_mini(tmp_path_factory.mktemp("mini"), "tiny", workers=2, progress=False)
    return {f.name: f for f in folders}


def rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_builds_every_task_and_the_corpus(tiny):
    assert list(tiny) == [*MINI_TASKS, MINI_CORPUS]
    assert len(MINI_TASKS) == 11


def test_two_builds_are_identical_whatever_the_workers(tiny, tmp_path):
    again = build_mini(tmp_path, "tiny", workers=3, progress=False)
    for folder in again:
        assert (folder / CHECKSUMS).read_text() == (tiny[folder.name] / CHECKSUMS).read_text()


def test_second_build_is_cached(tiny):
    stamps = {n: (f / CHECKSUMS).stat().st_mtime_ns for n, f in tiny.items()}
    start = time.perf_counter()
    build_mini(next(iter(tiny.values())).parent, "tiny", workers=2, progress=False)
    assert time.perf_counter() - start < 2.0
    assert stamps == {n: (f / CHECKSUMS).stat().st_mtime_ns for n, f in tiny.items()}


def test_checksums_cover_every_file(tiny):
    for folder in tiny.values():
        listed = {line.split("  ", 1)[1] for line in (folder / CHECKSUMS).read_text().splitlines()}
        present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        assert listed == present - {CHECKSUMS}
        assert verify_checksums(folder) == []


@pytest.mark.parametrize("name", MINI_TASKS)
def test_task_folder_layout(tiny, name):
    folder = tiny[name]
    spec = tomllib.loads((folder / "task.toml").read_text())
    assert spec["name"] == name and spec["sample_rate"] == 16000
    assert {"description", "license", "source", "version"} <= set(spec)
    assert (tuple(spec["metrics"]), spec["main_metric"]) == METRICS[spec["family"]]
    assert (folder / "provenance.json").is_file()
    for split in ("train", "valid", "test"):
        table = rows(folder, f"{split}.csv")
        assert table and tuple(table[0]) == family_of(spec["family"]).columns  # what the folder loader reads
        for row in table:
            info = sf.info(folder / row["path"])
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    load_folder_task(folder)  # the harness's own validation


def test_sed_events_lie_inside_their_clips(tiny):
    folder = tiny["mini-sed"]
    for split in ("train", "valid", "test"):
        for row in rows(folder, f"{split}.csv"):
            duration = sf.info(folder / row["path"]).duration
            assert 0 <= float(row["onset"]) < float(row["offset"]) <= duration


def test_transcripts_use_only_vocabulary_words(tiny):
    for split in ("train", "valid", "test"):
        for row in rows(tiny["mini-asr"], f"{split}.csv"):
            assert set(row["transcript"].split()) <= VOCABULARY


def timbres(name: str, split: str) -> set[tuple[str, str]]:
    """The voice timbres (engine, espeak variant or flite voice) speaking in a split."""
    return {(layer.source.voice.engine, layer.source.voice.name.split("+")[-1])
            for clip in plan_task(name, "tiny", 0).clips if clip.split == split
            for layer in clip.scene.layers if isinstance(layer.source, Speech)}


@pytest.mark.parametrize("name", ["mini-kws", "mini-lid", "mini-asr", "mini-sv"])
def test_test_voices_never_speak_in_train(name):
    assert timbres(name, "test") and not timbres(name, "test") & timbres(name, "train")


def test_instrument_splits_play_different_instruments():
    programs = {split: {layer.source.program for clip in plan_task("mini-instrument", "tiny", 0).clips
                        if clip.split == split for layer in clip.scene.layers
                        if isinstance(layer.source, Note)} for split in ("train", "test")}
    assert programs["test"] and not programs["test"] & programs["train"]


def test_sv_trials_pair_test_files(tiny):
    folder = tiny["mini-sv"]
    test = {r["path"]: r["speaker"] for r in rows(folder, "test.csv")}
    train = {r["speaker"] for r in rows(folder, "train.csv")}
    trials = rows(folder, "trials.csv")
    assert {t["target"] for t in trials} == {"0", "1"}
    for t in trials:
        assert t["enroll"] in test and t["test"] in test
        assert (test[t["enroll"]] == test[t["test"]]) == (t["target"] == "1")
    assert not set(test.values()) & train


def test_pretrain_corpus_is_audio_with_manifests(tiny):
    folder = tiny[MINI_CORPUS]
    assert not (folder / "task.toml").exists()
    for split in ("train", "valid"):
        table = rows(folder, f"{split}.csv")
        assert table and list(table[0]) == ["path", "domain"]
        assert all((folder / r["path"]).is_file() for r in table)


def test_interrupted_build_leaves_nothing(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("tasks.mini.build.write_folder", crash)
    with pytest.raises(KeyboardInterrupt):
        build_mini(tmp_path, "tiny", workers=1, progress=False, names=["mini-kws"])
    assert list(tmp_path.iterdir()) == []


def test_missing_source_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingSourceError, match="apt-get install espeak-ng"):
        build_mini(tmp_path, "tiny", workers=1, progress=False, names=["mini-lid"])


def test_speaker_tasks_carry_speaker_metadata(tiny):
    for name, key in (("mini-speaker", "label"), ("mini-sv", "speaker")):
        speakers = {r["speaker"]: r for r in rows(tiny[name], "speakers.csv")}
        used = {r[key] for split in ("train", "valid", "test") for r in rows(tiny[name], f"{split}.csv")}
        assert used <= set(speakers)
        assert {r["engine"] for r in speakers.values()} <= {"espeak-ng", "flite"}
        assert {r["gender"] for r in speakers.values()} <= {"female", "male", ""}
        assert all(r["accent"] for r in speakers.values())


def test_a_built_folder_without_its_metadata_gets_it_without_a_re_render(tiny, tmp_path):
    import shutil
    folder = tmp_path / "mini-speaker"
    shutil.copytree(tiny["mini-speaker"], folder)
    expected = (folder / "speakers.csv").read_text()
    (folder / "speakers.csv").unlink()
    audio = {p: p.stat().st_mtime_ns for p in folder.rglob("*.wav")}
    build_mini(tmp_path, "tiny", workers=1, progress=False, names=["mini-speaker"])
    assert (folder / "speakers.csv").read_text() == expected
    assert audio == {p: p.stat().st_mtime_ns for p in folder.rglob("*.wav")}
    assert verify_checksums(folder) == [] and (folder / CHECKSUMS).read_text() == (
        tiny["mini-speaker"] / CHECKSUMS).read_text()
