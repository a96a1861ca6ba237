"""The `hf:` task scheme, offline: datasets saved with save_to_disk and an audiofolder."""
import io

import datasets
import numpy as np
import pytest
import soundfile as sf

from benchmark import evaluate
from benchmark.errors import TaskError
from benchmark.sources.load import load_task
from tests.support.dataset_layouts import tone, wav
from tasks.hf import load_hf_task, parse_spec

LABELS = ["dog", "rain", "siren"]
# audio built as a {bytes, path} struct then cast to Audio: datasets >= 4 needs torchcodec to *encode* Audio values
STRUCT = {"bytes": datasets.Value("binary"), "path": datasets.Value("string")}


def as_audio(dataset):
    return dataset.cast_column("audio", datasets.Audio())


def encoded(label: str, k: int, fmt: str = "FLAC") -> dict:
    buffer = io.BytesIO()
    sf.write(buffer, tone(label, 0.3, 16000, str(k)), 16000, format=fmt)
    return {"bytes": buffer.getvalue(), "path": f"{label}_{k}.{fmt.lower()}"}


def saved_dataset(root, splits=("train", "validation", "test"), per_class=4):
    features = datasets.Features({"audio": STRUCT, "label": datasets.ClassLabel(names=LABELS),
                                  "tags": datasets.Sequence(datasets.Value("string")), "text": datasets.Value("string"),
                                  "captions": datasets.Sequence(datasets.Value("string")), "fold": datasets.Value("int32")})
    parts = {}
    for s, split in enumerate(splits):
        rows = {"audio": [], "label": [], "tags": [], "text": [], "captions": [], "fold": []}
        for i, label in enumerate(LABELS):
            for k in range(per_class):
                rows["audio"].append(encoded(label, 100 * s + k, "FLAC" if k % 2 else "WAV"))
                rows["label"].append(i)
                rows["tags"].append([label, "outdoor"] if k % 2 else [label])
                rows["text"].append(f"the {label} sound")
                rows["captions"].append([f"a {label}", f"some {label} noise"])
                rows["fold"].append(k % 3)
        parts[split] = as_audio(datasets.Dataset.from_dict(rows, features=features))
    datasets.DatasetDict(parts).save_to_disk(str(root))
    return root


def test_spec_parsing():
    spec = parse_spec("owner/name@v1.0?label=category&valid=dev&name=my-task")
    assert (spec.source, spec.revision, spec.family, spec.target, spec.name) == \
        ("owner/name", "v1.0", "classification", ("label", "category"), "my-task")
    assert parse_spec("owner/name?transcript=text").family == "asr"
    with pytest.raises(TaskError, match=r"unknown key\(s\) colour"):
        parse_spec("owner/name?colour=red")
    with pytest.raises(TaskError, match=r"give one target column, not label, transcript"):
        parse_spec("owner/name?label=a&transcript=b")


def test_saved_dataset_classification_runs_a_probe(tmp_path):
    root = saved_dataset(tmp_path / "ds")
    task = load_task(f"hf:{root}")  # the `hf` task scheme, declared by tasks/plugin.py
    m = task.load()
    assert task.family == "classification" and task.version.startswith("fingerprint-")
    assert set(m["train"]["label"]) == set(LABELS) and len(m["valid"]) == 12
    assert all(sf.info(p).format == "WAV" for p in m["test"]["path"])  # bytes decoded by soundfile, cached as WAV
    [record] = evaluate("logmel", tasks=[task], progress=False)
    assert record["metrics"]["accuracy"] > 0.5
    again = load_hf_task(str(root))  # built once: the cached folder is reused
    assert list(again.load()["train"]["path"]) == list(m["train"]["path"])


@pytest.mark.parametrize("query,family,column,check", [
    ("labels=tags", "tagging", "labels", lambda v: v in (["dog"], ["dog", "outdoor"])),
    ("transcript=text", "asr", "transcript", lambda v: v == "the dog sound"),
    ("caption=captions", "retrieval", "captions", lambda v: v == ["a dog", "some dog noise"]),
])
def test_column_mapping_selects_the_family(tmp_path, query, family, column, check):
    task = load_task(f"hf:{saved_dataset(tmp_path / 'ds')}?{query}")
    first = task.load()["train"].iloc[0]
    assert task.family == family and check(first[column])


def test_kfold_from_a_fold_column(tmp_path):
    task = load_task(f"hf:{saved_dataset(tmp_path / 'ds', splits=('train',))}?fold=fold&name=kf")
    assert task.name == "kf" and task.folds == ("0", "1", "2")


def test_missing_validation_split_is_held_out_from_train(tmp_path):
    task = load_task(f"hf:{saved_dataset(tmp_path / 'ds', splits=('train', 'test'), per_class=6)}")
    m = task.load()
    assert len(m["train"]) + len(m["valid"]) == 18 and len(m["valid"]) > 0


def test_audiofolder_with_metadata_csv(tmp_path):
    for k in range(6):
        wav(tmp_path / "af" / "train" / f"{k}.wav", "dog" if k % 2 else "rain")
    (tmp_path / "af" / "train" / "metadata.csv").write_text(
        "file_name,text\n" + "".join(f"{k}.wav,{'dog' if k % 2 else 'rain'} sound\n" for k in range(6)))
    task = load_task(f"hf:{tmp_path / 'af'}?transcript=text&test=train")
    assert task.family == "asr" and set(task.load()["test"]["transcript"]) == {"dog sound", "rain sound"}


def test_audiofolder(tmp_path):
    for split, n in (("train", 4), ("validation", 2), ("test", 2)):
        for label in LABELS:
            for k in range(n):
                wav(tmp_path / "af" / split / label / f"{label}{k}.wav", label)
    task = load_task(f"hf:{tmp_path / 'af'}")
    m = task.load()
    assert set(m["test"]["label"]) == set(LABELS)
    assert m["train"]["path"].iloc[0].startswith(str(tmp_path / "af"))  # local files are used in place


@pytest.mark.parametrize("query,message", [
    ("label=category", r"no column 'category' in split 'train' \(columns: audio, label, .*\); map it with e.g. label=COLUMN"),
    ("audio=sound", r"no column 'sound' .* map it with e.g. audio=COLUMN"),
    ("test=eval", r"no split 'eval' for test \(the dataset has train, validation, test\); name it with test=SPLIT"),
])
def test_bad_mappings_are_explained(tmp_path, query, message):
    with pytest.raises(TaskError, match=message):
        load_task(f"hf:{saved_dataset(tmp_path / 'ds')}?{query}")


def test_undecodable_audio_names_the_item(tmp_path):
    features = datasets.Features({"audio": STRUCT, "label": datasets.Value("string")})
    rows = {"audio": [{"bytes": b"not audio", "path": "broken.wav"}], "label": ["x"]}
    datasets.DatasetDict({"train": as_audio(datasets.Dataset.from_dict(rows, features=features))}).save_to_disk(str(tmp_path / "ds"))
    with pytest.raises(TaskError, match=r"audio item 'broken.wav': soundfile cannot decode it"):
        load_task(f"hf:{tmp_path / 'ds'}?test=train")


def test_hub_dataset_offline_is_a_clear_error(monkeypatch):
    import huggingface_hub.constants
    for module in (datasets.config, huggingface_hub.constants):  # read at import time: set the flags themselves
        monkeypatch.setattr(module, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    with pytest.raises(TaskError, match=r"hf:nobody/no-such-dataset: cannot load the dataset"):
        load_task("hf:nobody/no-such-dataset@main")


def test_numpy_is_not_needed_in_labels(tmp_path):
    # integer label columns that are not ClassLabel become strings
    features = datasets.Features({"audio": STRUCT, "digit": datasets.Value("int64")})
    rows = {"audio": [encoded(str(d), k) for d in range(2) for k in range(3)], "digit": [d for d in range(2) for _ in range(3)]}
    part = as_audio(datasets.Dataset.from_dict(rows, features=features))
    datasets.DatasetDict({"train": part, "test": part}).save_to_disk(str(tmp_path / "ds"))
    task = load_task(f"hf:{tmp_path / 'ds'}?label=digit")
    assert set(task.load()["test"]["label"]) == {"0", "1"} and np.issubdtype(np.int64, np.integer)
