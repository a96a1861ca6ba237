"""Music and captioning datasets: prepare on miniature real layouts, validate, probe; bad layouts."""
import json
import shutil

import pytest

import tests.support.dataset_layouts as fx
from benchmark.errors import TaskError
from benchmark.sources.folder import load_folder_task
from tasks.datasets import get_dataset


def test_gtzan_fault_filtered_split(tmp_path):
    fx.prepare_and_probe("gtzan", fx.gtzan(tmp_path / "dl"), tmp_path / "out", probe=False)
    m = load_folder_task(tmp_path / "out" / "gtzan").load()
    assert {k: len(v) for k, v in m.items()} == {"train": 443, "valid": 197, "test": 290}


def test_nsynth_pitch_and_instrument(tmp_path):
    fx.prepare_and_probe("nsynth", fx.nsynth(tmp_path / "dl"), tmp_path / "out")
    pitch = load_folder_task(tmp_path / "out" / "nsynth-pitch")
    assert pitch.family == "pitch" and pitch.main_metric == "pitch_acc"
    assert set(pitch.load()["test"]["pitch"]) == {48, 60, 72}
    family = load_folder_task(tmp_path / "out" / "nsynth-instrument").load()
    assert set(family["train"]["label"]) == {"keyboard", "guitar", "brass"}


def test_nsynth_training_cap(tmp_path):
    fx.nsynth(tmp_path / "dl")
    from tasks.datasets.nsynth import prepare_nsynth
    prepare_nsynth(tmp_path / "dl", tmp_path / "out", max_train_hours=12 * 4 / 3600)  # 12 notes
    assert len(load_folder_task(tmp_path / "out" / "nsynth-instrument").load()["train"]) == 12


def test_magnatagatune_top50_directory_split(tmp_path):
    fx.prepare_and_probe("magnatagatune", fx.magnatagatune(tmp_path / "dl"), tmp_path / "out")
    task = load_folder_task(tmp_path / "out" / "magnatagatune-top50")
    m = task.load()
    assert task.main_metric == "roc_auc"
    assert all(p.split("/")[-2] == "c" for p in m["valid"]["path"])
    assert all(p.split("/")[-2] in "def" for p in m["test"]["path"])


def test_openmic_relevance_threshold(tmp_path):
    fx.prepare_and_probe("openmic", fx.openmic(tmp_path / "dl"), tmp_path / "out")
    m = load_folder_task(tmp_path / "out" / "openmic-2018").load()
    assert all(len(labels) == 1 for labels in m["train"]["labels"])  # the 0.1-relevance instrument is absent


def test_clotho_five_captions_per_clip(tmp_path):
    fx.prepare_and_probe("clotho", fx.clotho(tmp_path / "dl"), tmp_path / "out")
    m = load_folder_task(tmp_path / "out" / "clotho-v2").load()
    assert len(m["test"]) == 6 and all(len(c) == 5 for c in m["test"]["captions"])


def test_audiocaps_skips_clips_without_audio(tmp_path):
    fx.prepare_and_probe("audiocaps", fx.audiocaps(tmp_path / "dl"), tmp_path / "out")
    assert "train: 6 of 7 clips have audio" in (tmp_path / "out" / "audiocaps" / "task.toml").read_text()


@pytest.mark.parametrize("dataset,make,breakage,message", [
    ("gtzan", fx.gtzan, lambda r: shutil.rmtree(r / "genres/reggae"), r"no directory with the 10 genre folders"),
    ("gtzan", fx.gtzan, lambda r: (r / "genres/jazz/jazz.00054.au").unlink() or
     (r / "genres/jazz/jazz.00054.wav").write_bytes(b"not audio"),  # the Kaggle copy's corrupt file
     r"jazz.00054.wav is unreadable .* use the original genres.tar.gz"),
    ("gtzan", fx.gtzan, lambda r: fx.sf.write(r / "genres/pop/pop.00010.au", [0.0] * 100, 16000, format="AU"),
     r"pop.00010.au is 16000 Hz but the published corpus is 22050 Hz"),
    ("gtzan", fx.gtzan, lambda r: (r / "genres/rock/rock.00001.au").unlink(missing_ok=True) or
     [p.unlink() for p in (r / "genres/blues").glob("blues.00029.*")], r"excerpt blues.00029 of the filtered train split is missing"),
    ("nsynth", fx.nsynth, lambda r: (r / "nsynth-valid/examples.json").unlink(), r"missing .*nsynth-valid/examples.json"),
    ("nsynth", fx.nsynth, lambda r: (r / "nsynth-train/examples.json").write_text(json.dumps({"x": {"velocity": 1}})),
     r"entry 'x' lacks 'pitch'"),
    ("magnatagatune", fx.magnatagatune, lambda r: (r / "annotations_final.csv").write_text("clip_id\tmp3_path\n1\t0/a.mp3\n"),
     r"has 0 tag columns, expected 188"),
    ("openmic", fx.openmic, lambda r: (r / "openmic-2018/partitions/split01_test.csv").unlink(),
     r"missing .*split01_test.csv \(official split\)"),
    ("clotho", fx.clotho, lambda r: (r / "clotho_captions_evaluation.csv").write_text("file_name,caption\na.wav,x\n"),
     r"lacks column\(s\) caption_1"),
    ("audiocaps", fx.audiocaps, lambda r: shutil.rmtree(r / "audio/test"), r"no audio found under .* for the 4 clips of test"),
])
def test_bad_music_and_caption_layouts(tmp_path, dataset, make, breakage, message):
    corpus = make(tmp_path / "dl")
    breakage(corpus)
    with pytest.raises(TaskError, match=message):
        get_dataset(dataset).prepare(corpus, tmp_path / "out")
