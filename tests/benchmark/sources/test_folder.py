import re
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf

from benchmark.errors import TaskError
from benchmark.family import FAMILIES, applies
from benchmark.scoring.metrics import METRICS
from benchmark.sources.folder import TaskWarning, load_folder_task
from tests.support.tone_task import TONES, write_tone_task

RATE = 16000


def make(root: Path, family: str, rows: dict[str, str], extra: dict[str, str] | None = None,
         clips: int = 4, seconds: float = 1.0) -> Path:
    (root / "audio").mkdir(parents=True, exist_ok=True)
    for i in range(clips):
        sf.write(root / f"audio/{i}.wav", np.zeros(int(seconds * RATE), np.float32), RATE)
    (root / "task.toml").write_text(f'name = "{root.name}"\nfamily = "{family}"\nlicense = "CC0"\nsource = "test"\n')
    for name, text in {**rows, **(extra or {})}.items():
        (root / name).write_text(text)
    return root


def splits(header: str, body: str) -> dict[str, str]:
    return {f"{s}.csv": f"{header}\n{body}\n" for s in ("train", "valid", "test")}


@pytest.mark.parametrize("family,header,body,column,check", [
    ("classification", "path,label", "audio/0.wav,dog\naudio/1.wav,cat", "label", lambda v: v == "dog"),
    ("tagging", "path,labels", "audio/0.wav,dog;cat\naudio/1.wav,cat", "labels", lambda v: v == ["cat", "dog"]),
    ("asr", "path,transcript", "audio/0.wav,hello world", "transcript", lambda v: v == "hello world"),
    ("pitch", "path,pitch", "audio/0.wav,60\naudio/1.wav,61", "pitch", lambda v: v == 60),
    ("retrieval", "path,caption", "audio/0.wav,a dog barks\naudio/0.wav,barking\naudio/1.wav,rain",
     "captions", lambda v: v == ["a dog barks", "barking"]),
    ("sed", "path,onset,offset,label", "audio/0.wav,0.1,0.5,dog\naudio/0.wav,0.2,0.9,cat\naudio/1.wav,,,",
     "events", lambda v: v == [(0.1, 0.5, "dog"), (0.2, 0.9, "cat")]),
])
def test_every_family_parses(tmp_path, family, header, body, column, check):
    task = load_folder_task(make(tmp_path / family, family, splits(header, body)))
    manifests = task.load()
    assert task.family == family and set(manifests) >= {"train", "valid", "test"}
    first = manifests["train"].iloc[0]
    assert check(first[column]) and Path(first["path"]).is_absolute()


def test_speaker_verification_reads_trials(tmp_path):
    rows = splits("path,speaker", "audio/0.wav,alice\naudio/1.wav,bob")
    trials = {"trials.csv": "enroll,test,target\naudio/2.wav,audio/3.wav,1\naudio/2.wav,audio/1.wav,0\n"}
    task = load_folder_task(make(tmp_path / "sv", "speaker_verification", rows, trials))
    t = task.load()["trials"]
    assert list(t["target"]) == [1, 0] and Path(t["enroll"][0]).name == "2.wav"


def test_kfold_from_data_csv(tmp_path):
    body = "\n".join(f"audio/{i}.wav,{'ab'[i % 2]},f{i % 3}" for i in range(4)) + "\naudio/0.wav,b,f2\naudio/1.wav,a,f0"
    root = make(tmp_path / "kf", "classification", {"data.csv": "path,label,fold\n" + body + "\n"})
    task = load_folder_task(root)
    assert task.folds == ("f0", "f1", "f2")
    fold, plan = task.runs()[0]
    assert fold == "f0" and plan == {"train": ["f2"], "valid": ["f1"], "test": ["f0"]}


@pytest.mark.parametrize("family,files,message", [
    ("classification", splits("path,lab", "audio/0.wav,dog"), r"train.csv: missing column\(s\) label"),
    ("classification", splits("path,label", "audio/9.wav,dog"), r"train.csv line 2: audio file 'audio/9.wav' not found"),
    ("classification", {**splits("path,label", "audio/0.wav,dog"), "valid.csv": "path,label\n"},
     r"valid.csv: no rows \(empty split\)"),
    ("classification", {**splits("path,label", "audio/0.wav,dog"), "test.csv": "path,label\naudio/1.wav,cow\n"},
     r"split 'test' has label\(s\) never seen in training: cow"),
    ("sed", splits("path,onset,offset,label", "audio/0.wav,0.5,1.5,dog"),
     r"train.csv line 2: event 'dog' \[0.5, 1.5\] s lies outside the clip \(0 to 1.000 s\)"),
    ("sed", splits("path,onset,offset,label", "audio/0.wav,0.5,0.2,dog"), r"ends before it starts"),
    ("classification", splits("path,label", "audio/0.wav,"), r"train.csv line 2: empty 'label'"),
    ("speaker_verification", {**splits("path,speaker", "audio/0.wav,a"),
                              "trials.csv": "enroll,test,target\naudio/0.wav,audio/7.wav,1\n"},
     r"trials.csv line 2: test file 'audio/7.wav' not found"),
    ("tagging", {"train.csv": "path,labels\naudio/0.wav,a\n"}, r"missing valid.csv"),
])
def test_bad_folder_tasks_name_file_and_row(tmp_path, family, files, message):
    root = make(tmp_path / "bad", family, files)
    with pytest.raises(TaskError, match=message):
        load_folder_task(root)


def test_bad_task_toml(tmp_path):
    root = make(tmp_path / "t", "classification", splits("path,label", "audio/0.wav,a"))
    (root / "task.toml").write_text('name = "t"\nfamily = "dance"\n')
    with pytest.raises(TaskError, match="unknown family 'dance'"):
        load_folder_task(root)
    (root / "task.toml").write_text('name = "t"\nfamily = \n')
    with pytest.raises(TaskError, match="task.toml: invalid TOML"):
        load_folder_task(root)


# --- bad input caught before any work (issue 20) ----------------------------------------

def tone_task(tmp_path: Path, **keys: str) -> Path:
    """A good tone task, its task.toml keys replaced by `keys` (raw TOML values)."""
    root = write_tone_task(tmp_path / "tones")
    config = {"name": '"tones"', "family": '"classification"', **keys}
    (root / "task.toml").write_text("".join(f"{k} = {v}\n" for k, v in config.items()))
    return root


def loaded_warnings(root: Path) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_folder_task(root)
    return [str(w.message) for w in caught if issubclass(w.category, TaskWarning)]


@pytest.mark.parametrize("kfold", [False, True])
def test_a_good_task_loads_without_a_warning(tmp_path, kfold):
    root = write_tone_task(tmp_path / "tones", kfold=kfold)
    assert loaded_warnings(root) == []


@pytest.mark.parametrize("keys,message", [
    ({"name": "42"}, r"task.toml: key 'name' must be a string, got integer 42$"),
    ({"name": '"  "'}, r"task.toml: key 'name' is empty"),
    ({"family": "[]"}, r"task.toml: key 'family' must be a string, got array \[\]"),
    ({"metrics": '"accuracy"'}, r"task.toml: key 'metrics' must be an array, got string 'accuracy'"),
    ({"metrics": "[]"}, r"task.toml: key 'metrics' must be a non-empty array of metric names, got \[\]"),
    ({"metrics": '["accuracy", 3]'}, r"task.toml: key 'metrics' must be a non-empty array .*got 3 in it"),
    ({"sample_rate": '"16k"'}, r"task.toml: key 'sample_rate' must be an integer, got string '16k'"),
    ({"sample_rate": "true"}, r"task.toml: key 'sample_rate' must be an integer, got boolean True"),
    ({"sample_rate": "-16000"}, r"task.toml: key 'sample_rate' must be a positive number of Hz, got -16000"),
    ({"version": "true"}, r"task.toml: key 'version' must be a string or integer or float, got boolean True"),
    ({"description": "{ a = 1 }"}, r"task.toml: key 'description' must be a string, got table"),
    ({"metrics": '["accuracy"]', "main_metric": '"macro_f1"'},
     r"task.toml: main_metric 'macro_f1' is not among the task's metrics \(accuracy\)"),
    ({"main_metric": '"mAP"'}, r"task.toml: main_metric 'mAP' is not among the task's metrics \(accuracy, macro_f1\)"),
])
def test_task_toml_fields_of_the_wrong_type(tmp_path, keys, message):
    with pytest.raises(TaskError, match=message):
        load_folder_task(tone_task(tmp_path, **keys))


@pytest.mark.parametrize("family,metric", [("classification", "wer"), ("classification", "chroma_acc"),
                                           ("classification", "r@1"), ("tagging", "accuracy"),
                                           ("speaker_verification", "mAP")])
def test_a_metric_the_family_cannot_feed(tmp_path, family, metric):
    applying = ", ".join(sorted(m for m in METRICS.names() if applies(METRICS.get(m), FAMILIES[family])))
    with pytest.raises(TaskError, match=rf"task.toml: metric {re.escape(repr(metric))} does not apply to a "
                                        rf"{family} task; metrics that apply: {re.escape(applying)}$"):
        load_folder_task(tone_task(tmp_path, family=f'"{family}"', metrics=f'["{metric}"]'))


def test_the_metrics_that_apply_to_classification(tmp_path):
    """Written out, not derived: top-1 and ranking metrics, not the pitch ones (MIDI values)."""
    with pytest.raises(TaskError, match=r"metrics that apply: accuracy, d_prime, mAP, macro_f1, roc_auc$"):
        load_folder_task(tone_task(tmp_path, metrics='["wer"]'))
    assert load_folder_task(tone_task(tmp_path, metrics='["mAP", "accuracy"]')).main_metric == "mAP"


def test_an_unknown_metric(tmp_path):
    with pytest.raises(TaskError, match=r"task.toml: unknown metric 'acuracy'; did you mean 'accuracy'"):
        load_folder_task(tone_task(tmp_path, metrics='["acuracy"]'))


def test_every_family_can_feed_its_default_metrics():
    for family in FAMILIES.values():
        assert all(applies(METRICS.get(m), family) for m in family.metrics), family.name
    assert applies(METRICS.get("chroma_acc"), FAMILIES["pitch"])
    assert not applies(METRICS.get("onset_fms"), FAMILIES["sed"])


@pytest.mark.parametrize("target,kind", [("1", "target"), ("0", "non-target")])
def test_trials_of_one_kind(tmp_path, target, kind):
    rows = splits("path,speaker", "audio/0.wav,alice\naudio/1.wav,bob")
    trials = {"trials.csv": f"enroll,test,target\naudio/2.wav,audio/3.wav,{target}\naudio/2.wav,audio/1.wav,{target}\n"}
    with pytest.raises(TaskError, match=rf"trials.csv: all 2 trials are {kind} \({target}\); EER and minDCF need both"):
        load_folder_task(make(tmp_path / "sv", "speaker_verification", rows, trials))


def test_a_one_class_classification_task_is_an_error(tmp_path):
    root = make(tmp_path / "one", "classification", splits("path,label", "audio/0.wav,dog\naudio/1.wav,dog"))
    with pytest.raises(TaskError, match=r"train.csv: the training data hold 1 class\(es\) \('dog'\); "
                                        r"a one-class classification task has nothing to learn"):
        load_folder_task(root)


def edit(root: Path, name: str, change: Callable[[list[str]], list[str]]) -> Path:
    """Rewrite `root/name`'s lines (header first) as `change(lines)` returns them."""
    text = (root / name).read_text().splitlines()
    (root / name).write_text("\n".join(change(text)) + "\n")
    return root


def test_duplicate_rows_are_a_warning(tmp_path):
    root = edit(write_tone_task(tmp_path / "tones"), "test.csv", lambda rows: rows + [rows[1], rows[3], rows[1]])
    n = len((root / "test.csv").read_text().splitlines())
    assert loaded_warnings(root) == [f"{root / 'test.csv'}: 3 duplicate row(s) at line(s) {n - 2}, {n - 1}, {n}; "
                                     f"each counts again"]


def test_a_file_in_train_and_test_is_a_warning(tmp_path):
    root = write_tone_task(tmp_path / "tones")
    trained = (root / "train.csv").read_text().splitlines()[1]
    root = edit(root, "test.csv", lambda rows: rows + [trained])
    n = len((root / "test.csv").read_text().splitlines())
    assert loaded_warnings(root) == [f"{root / 'test.csv'} line(s) {n}: 1 file(s) of 'test' also in 'train', "
                                     f"e.g. {trained.split(',')[0]!r}"]


def test_conflicting_labels_are_a_warning(tmp_path):
    root = write_tone_task(tmp_path / "tones")
    path, label = (root / "train.csv").read_text().splitlines()[1].split(",")
    other = next(t for t in TONES if t != label)
    root = edit(root, "train.csv", lambda rows: rows + [f"{path},{other}"])
    n = len((root / "train.csv").read_text().splitlines())
    assert loaded_warnings(root) == [f"{root / 'train.csv'}: 1 file(s) with conflicting labels, e.g. {path!r} "
                                     f"at line(s) 2, {n} ({label!r}, {other!r})"]


def test_a_label_set_in_another_order_is_no_conflict(tmp_path):
    body = "audio/0.wav,dog;cat\naudio/0.wav,cat;dog\naudio/1.wav,cat"
    assert loaded_warnings(make(tmp_path / "tag", "tagging", {
        "train.csv": f"path,labels\n{body}\n", "valid.csv": "path,labels\naudio/2.wav,dog\naudio/3.wav,cat\n",
        "test.csv": "path,labels\naudio/2.wav,dog\naudio/3.wav,cat\n"})) == [
        f"{tmp_path / 'tag' / 'test.csv'} line(s) 2, 3: 2 file(s) of 'test' also in 'valid', e.g. 'audio/2.wav'"]


def test_one_class_splits_are_warnings(tmp_path):
    root = make(tmp_path / "tag", "tagging", {"train.csv": "path,labels\naudio/0.wav,dog\naudio/1.wav,dog\n",
                                              "valid.csv": "path,labels\naudio/2.wav,dog\n",
                                              "test.csv": "path,labels\naudio/3.wav,dog\n"})
    undefined = "per-class metrics are undefined or trivial on it"
    assert loaded_warnings(root) == [
        f"{root / 'train.csv'}: the training data hold 1 class(es) ('dog'); a one-class tagging task has nothing "
        f"to learn",
        f"{root / 'valid.csv'}: split 'valid' holds 1 class(es) ('dog'); {undefined}",
        f"{root / 'test.csv'}: split 'test' holds 1 class(es) ('dog'); {undefined}"]
