"""Speech datasets: prepare on miniature real layouts, validate, probe; bad layouts."""
import shutil

import pytest
import soundfile as sf

import tests.support.dataset_layouts as fx
from benchmark.errors import TaskError
from benchmark.sources.folder import load_folder_task
from tasks.datasets import get_dataset


def test_speech_commands_ks12_and_35(tmp_path):
    fx.prepare_and_probe("speech_commands", fx.speech_commands(tmp_path / "dl"), tmp_path / "out")
    ks = load_folder_task(tmp_path / "out" / "speech-commands-ks12").load()
    assert set(ks["train"]["label"]) == {*fx.KS_WORDS, "_unknown_", "_silence_"}
    assert set(ks["test"]["label"]) == {*fx.KS_WORDS, "_unknown_", "_silence_"}
    assert all("speech_commands_test_set_v0.02" in p for p in ks["test"]["path"])  # SUPERB tests on the test set
    silence = ks["train"][ks["train"]["label"] == "_silence_"]
    assert len(silence) + (ks["valid"]["label"] == "_silence_").sum() == 24  # 2 noise files x 12 one-second cuts
    assert all(sf.info(p).frames == 16000 for p in silence["path"])
    words = load_folder_task(tmp_path / "out" / "speech-commands-35").load()
    assert words["train"]["label"].nunique() == 35 and len(words["valid"]) == 35 and len(words["test"]) == 35


def test_librispeech_clean_and_other(tmp_path):
    fx.prepare_and_probe("librispeech", fx.librispeech(tmp_path / "dl"), tmp_path / "out")
    test = load_folder_task(tmp_path / "out" / "librispeech-100h").load()["test"]
    assert test["transcript"].iloc[0] == "HELLO WORLD" and "test-clean" in test["path"].iloc[0]
    assert "test-other" in load_folder_task(tmp_path / "out" / "librispeech-100h-other").load()["test"]["path"].iloc[0]


def test_librispeech_without_other_subsets_prepares_clean_only(tmp_path):
    paths = get_dataset("librispeech").prepare(fx.librispeech(tmp_path / "dl", other=False), tmp_path / "out")
    assert [p.name for p in paths] == ["librispeech-100h"]


def test_voxceleb1_identification_and_verification(tmp_path):
    fx.prepare_and_probe("voxceleb1", fx.voxceleb1(tmp_path / "dl"), tmp_path / "out")
    sv = load_folder_task(tmp_path / "out" / "voxceleb1-sv").load()
    assert list(sv["trials"]["target"]) == [1, 0, 1, 0]
    assert not set(sv["train"]["speaker"]) & {"id10270", "id10271"}  # test speakers never trained on
    sid = load_folder_task(tmp_path / "out" / "voxceleb1-sid").load()
    assert sid["train"]["label"].nunique() == 7
    assert sv["valid"]["speaker"].nunique() == 2 and not set(sv["valid"]["speaker"]) & set(sv["train"]["speaker"])


def test_crema_d_speaker_disjoint_folds(tmp_path):
    fx.prepare_and_probe("crema_d", fx.crema_d(tmp_path / "dl"), tmp_path / "out")
    m = load_folder_task(tmp_path / "out" / "crema-d").load()
    actors = {fold: {p.split("/")[-1].split("_")[0] for p in frame["path"]} for fold, frame in m.items()}
    assert len(actors) == 5
    for a in actors:
        for b in actors:
            assert a == b or not actors[a] & actors[b]


def test_fsdd_official_split(tmp_path):
    fx.prepare_and_probe("fsdd", fx.fsdd(tmp_path / "dl"), tmp_path / "out")
    m = load_folder_task(tmp_path / "out" / "fsdd").load()
    assert all(p.rsplit("_", 1)[1] in ("0.wav", "1.wav") for p in m["test"]["path"])


@pytest.mark.parametrize("dataset,make,breakage,message", [
    ("speech_commands", fx.speech_commands, lambda r: (r / "speech_commands_v0.02/testing_list.txt").unlink(),
     r"missing .*testing_list.txt \(testing file list\)"),
    ("speech_commands", fx.speech_commands, lambda r: shutil.rmtree(r / "speech_commands_v0.02/marvin"),
     r"lacks word folder\(s\) marvin: not Speech Commands v0.02"),
    ("speech_commands", lambda p: fx.speech_commands(p, with_test_set=False), lambda r: None,
     r"the official test set \(speech_commands_test_set_v0.02.tar.gz"),
    ("speech_commands", fx.speech_commands,
     lambda r: shutil.copytree(r / "speech_commands_test_set_v0.02/_silence_", r / "speech_commands_v0.02/_silence_"),
     r"the test-set archive was unpacked over the main one"),
    ("speech_commands", fx.speech_commands,
     lambda r: sf.write(r / "speech_commands_v0.02/backward/0a7c2a8d_nohash_0.wav", [0.0] * 800, 8000),
     r"is 8000 Hz but the published corpus is 16000 Hz"),
    ("librispeech", fx.librispeech, lambda r: shutil.rmtree(r / "LibriSpeech/dev-clean"),
     r"missing subset .*dev-clean"),
    ("librispeech", fx.librispeech, lambda r: next((r / "LibriSpeech/test-clean").rglob("*.flac")).unlink(),
     r"trans.txt line \d names .* but .*flac is missing"),
    ("voxceleb1", fx.voxceleb1, lambda r: (r / "veri_test2.txt").unlink(), r"missing .*veri_test.txt"),
    ("voxceleb1", fx.voxceleb1, lambda r: (r / "iden_split.txt").write_text("1 id10001/x/1.wav extra\n"),
     r"iden_split.txt line 1: expected 2 fields"),
    ("crema_d", fx.crema_d, lambda r: (r / "CREMA-D/AudioWAV/1001_DFA_ANG_XX.wav").rename(r / "CREMA-D/AudioWAV/1001_DFA_XYZ_XX.wav"),
     r"not of the form ACTOR_SENTENCE_EMOTION_LEVEL.wav"),
    ("crema_d", fx.crema_d,
     lambda r: (r / "CREMA-D/AudioWAV/1001_DFA_ANG_XX.wav").write_bytes(b"version https://git-lfs.github.com/spec/v1\n"),
     r"is a Git LFS pointer, not audio"),
    ("fsdd", fx.fsdd, lambda r: shutil.rmtree(r / "free-spoken-digit-dataset-1.0.9/recordings"), r"recordings not found"),
])
def test_bad_speech_layouts(tmp_path, dataset, make, breakage, message):
    corpus = make(tmp_path / "dl")
    breakage(corpus)
    with pytest.raises(TaskError, match=message):
        get_dataset(dataset).prepare(corpus, tmp_path / "out")
