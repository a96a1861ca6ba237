from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmark.errors import TaskError
from benchmark.sources.folder import load_folder_task

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
