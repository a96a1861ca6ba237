"""Environmental-sound datasets: prepare on miniature real layouts, validate, probe; bad layouts."""
import shutil

import pytest
import soundfile as sf

import tests.support.dataset_layouts as fx
from benchmark.errors import TaskError
from benchmark.sources.folder import load_folder_task
from tasks.datasets import get_dataset


def test_esc50_five_published_folds(tmp_path):
    records = fx.prepare_and_probe("esc50", fx.esc50(tmp_path / "dl"), tmp_path / "out")
    task = load_folder_task(tmp_path / "out" / "esc50")
    assert task.folds == ("fold1", "fold2", "fold3", "fold4", "fold5")
    assert (tmp_path / "out" / "esc50" / "audio").is_symlink()  # the corpus is linked, not copied
    assert len(records) == 5 and {r["fold"] for r in records} == set(task.folds)


def test_esc50_corpus_dir_may_be_the_archive_parent_or_the_dataset(tmp_path):
    fx.esc50(tmp_path / "dl")
    [a] = get_dataset("esc50").prepare(tmp_path / "dl", tmp_path / "a")
    [b] = get_dataset("esc50").prepare(tmp_path / "dl" / "ESC-50-master", tmp_path / "b")
    assert (a / "data.csv").read_text() == (b / "data.csv").read_text()


def test_urbansound8k_ten_folds(tmp_path):
    fx.prepare_and_probe("urbansound8k", fx.urbansound8k(tmp_path / "dl"), tmp_path / "out", probe=False)
    task = load_folder_task(tmp_path / "out" / "urbansound8k")
    assert len(task.folds) == 10 and task.folds[0] == "fold01"


def test_fsd50k_dev_val_eval(tmp_path):
    fx.prepare_and_probe("fsd50k", fx.fsd50k(tmp_path / "dl"), tmp_path / "out")
    manifests = load_folder_task(tmp_path / "out" / "fsd50k").load()
    assert manifests["train"]["labels"].iloc[0] == ["Animal", "Bark", "Dog"]
    assert len(manifests["test"]) == 6


def test_audioset_finds_audio_by_youtube_id(tmp_path):
    corpus = fx.audioset(tmp_path / "dl")
    (corpus / "audio" / "eval" / "Yev006_xyzwq.wav").unlink()  # one clip whose audio is missing
    fx.prepare_and_probe("audioset", corpus, tmp_path / "out")
    toml = (tmp_path / "out" / "audioset-balanced" / "task.toml").read_text()
    assert "eval: 8 of 9 clips have audio" in toml


def test_tau2020_keeps_locations_apart(tmp_path):
    fx.prepare_and_probe("tau2020", fx.tau2020(tmp_path / "dl"), tmp_path / "out")
    m = load_folder_task(tmp_path / "out" / "tau-urban-2020-mobile").load()
    city = lambda p: p.split("-")[-4]  # noqa: E731 - scene-city-loc-segment-device.wav
    assert not {city(p) for p in m["train"]["path"]} & {city(p) for p in m["valid"]["path"]}


def test_desed_keeps_clips_without_events(tmp_path):
    fx.prepare_and_probe("desed", fx.desed(tmp_path / "dl"), tmp_path / "out")
    test = load_folder_task(tmp_path / "out" / "desed").load()["test"]
    assert len(test) == 4 and sum(not e for e in test["events"]) == 1


def test_dcase2016_task2_pools_and_repartitions(tmp_path):
    fx.prepare_and_probe("dcase2016_task2", fx.dcase2016_task2(tmp_path / "dl"), tmp_path / "out")
    m = load_folder_task(tmp_path / "out" / "dcase2016-task2").load()
    assert sum(len(x) for x in m.values()) == 15 and m["train"]["events"].iloc[0][0][2] in {"clearthroat", "cough", "doorslam"}


@pytest.mark.parametrize("dataset,make,breakage,message", [
    ("esc50", fx.esc50, lambda r: (r / "ESC-50-master/meta/esc50.csv").unlink(),
     r"ESC-50: meta/esc50.csv not found in .*dl \(nor one or two levels below\)"),
    ("esc50", fx.esc50, lambda r: (r / "ESC-50-master/meta/esc50.csv").write_text("file,fold,label\na.wav,1,dog\n"),
     r"esc50.csv lacks column\(s\) filename, target, category"),
    ("esc50", fx.esc50, lambda r: [p.unlink() for p in (r / "ESC-50-master/audio").glob("3-*.wav")] and
     (r / "ESC-50-master/meta/esc50.csv").write_text("\n".join(
         l for l in (r / "ESC-50-master/meta/esc50.csv").read_text().splitlines() if not l.startswith("3-")) + "\n"),
     r"has no clip in fold\(s\) 3; the published corpus has folds 1, 2, 3, 4, 5"),
    ("esc50", fx.esc50, lambda r: sf.write(next((r / "ESC-50-master/audio").glob("1-*.wav")), [0.0] * 1600, 16000),
     r"is 16000 Hz but the published corpus is 44100 Hz"),
    ("esc50", fx.esc50, lambda r: next((r / "ESC-50-master/audio").glob("2-*.wav")).unlink(),
     r"1 audio file\(s\) listed in meta/esc50.csv are missing"),
    ("urbansound8k", fx.urbansound8k, lambda r: shutil.rmtree(r / "UrbanSound8K/metadata"),
     r"metadata/UrbanSound8K.csv not found"),
    ("fsd50k", fx.fsd50k, lambda r: (r / "FSD50K.ground_truth/eval.csv").unlink(),
     r"FSD50K: missing .*eval.csv \(metadata file\)"),
    ("audioset", fx.audioset, lambda r: shutil.rmtree(r / "audio"),
     r"none of the 30 clips of balanced_train_segments.csv has an audio file"),
    ("audioset", fx.audioset, lambda r: (r / "eval_segments.csv").write_text("YTID,start,end,labels\nabc,0,10,x\n"),
     r"lacks the header comment"),
    ("tau2020", fx.tau2020, lambda r: (r / "TAU-urban-acoustic-scenes-2020-mobile-development/meta.csv").unlink(),
     r"TAU 2020 Mobile: missing .*meta.csv"),
    ("desed", fx.desed, lambda r: shutil.rmtree(r / "dcase/dataset/audio/validation/validation_16k"),
     r"neither .*audio/validation/validation nor .*_16k exists"),
    ("dcase2016_task2", fx.dcase2016_task2,
     lambda r: next((r / "dcase2016_task2_test_public/annotation").glob("*.txt")).write_text("0.5 cough\n"),
     r"line 1: expected onset offset label"),
])
def test_bad_environment_layouts(tmp_path, dataset, make, breakage, message):
    corpus = make(tmp_path / "dl")
    breakage(corpus)
    with pytest.raises(TaskError, match=message):
        get_dataset(dataset).prepare(corpus, tmp_path / "out")
    assert not list((tmp_path / "out").glob("*/task.toml")) if (tmp_path / "out").exists() else True
