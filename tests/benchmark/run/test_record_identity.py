"""A record is keyed on its task's content: a rerun into the same results folder after the
data changed (one test label, one WAV) makes a new record with the new score, or a clear
error, never the old record; an unchanged task is reused wherever its folder lies; a
schema-1 record (no digest) is recomputed, and the run says why. The record keeps how it was
asked for and the software it was made with."""
from __future__ import annotations

import json
import platform
import shlex
import shutil

import numpy as np
import pandas as pd
import pytest
import sklearn
import soundfile as sf

from benchmark import evaluate
from benchmark.run.plan import plan_suite
from benchmark.settings import RunSettings
from tests.support.helpers import run_cli
from tests.support.tone_task import write_tone_task


@pytest.fixture
def copied(tmp_path):
    """A copy of a tone task (the task keeps its name, `tones`, wherever its folder lies)."""
    original = write_tone_task(tmp_path / "original" / "tones", per_class=8)
    return shutil.copytree(original, tmp_path / "copy" / "tones")


def run(capsys, task, results, *args):
    code, out, err = run_cli(capsys, "run", "-m", "logmel", "-t", str(task), "--results", str(results), *args)
    return code, out, " ".join(err.split())


def the_record(results) -> dict:
    (path,) = results.rglob("*.json")
    return json.loads(path.read_text())


def test_one_changed_test_label_makes_a_new_record_with_the_new_score(copied, tmp_path, capsys):
    results = tmp_path / "results"
    assert run(capsys, copied, results)[0] == 0
    before = the_record(results)
    test = pd.read_csv(copied / "test.csv")
    assert before["metrics"]["accuracy"] == 1.0 and len(test) == before["task"]["n"]["test"] == 6
    test.loc[0, "label"] = next(x for x in ("low", "mid", "high") if x != test.loc[0, "label"])
    test.to_csv(copied / "test.csv", index=False)

    code, _, err = run(capsys, copied, results)
    assert code == 0, err
    assert (f"note: 1 record(s) in {results}/ recomputed, not reused: the task's data (manifests or audio) "
            f"changed") in err
    after = the_record(results)
    assert after["task"]["digest"] != before["task"]["digest"]
    assert after["metrics"]["accuracy"] == pytest.approx(5 / 6)  # the relabelled clip is now wrong
    assert run(capsys, copied, tmp_path / "fresh")[0] == 0  # the same data in an empty folder
    assert the_record(tmp_path / "fresh")["metrics"] == after["metrics"]


def test_a_replaced_wav_is_recomputed(copied, tmp_path, capsys):
    results = tmp_path / "results"
    assert run(capsys, copied, results)[0] == 0
    before = the_record(results)
    test, train = pd.read_csv(copied / "test.csv"), pd.read_csv(copied / "train.csv")
    other = train[train["label"] != test.loc[0, "label"]].iloc[0]
    shutil.copyfile(copied / other["path"], copied / test.loc[0, "path"])  # another class's tone, same name

    code, _, err = run(capsys, copied, results)
    assert code == 0 and "recomputed, not reused: the task's data (manifests or audio) changed" in err
    after = the_record(results)
    assert after["task"]["digest"] != before["task"]["digest"]
    assert before["metrics"]["accuracy"] == 1.0 and after["metrics"]["accuracy"] == pytest.approx(5 / 6)


def test_an_empty_wav_in_a_copy_is_an_error_not_the_previous_record(copied, tmp_path, capsys):
    results = tmp_path / "results"
    assert run(capsys, tmp_path / "original" / "tones", results)[0] == 0
    (path,) = results.rglob("*.json")
    written = path.read_text()
    empty = copied / pd.read_csv(copied / "test.csv").loc[0, "path"]
    sf.write(empty, np.zeros(0, dtype=np.float32), 16000)

    code, out, err = run(capsys, copied, results)
    assert code == 2 and f"{empty}: audio file is empty (0 samples)" in err
    assert "record(s) in" not in out and path.read_text() == written  # the original's record, untouched


def test_an_unchanged_task_is_reused_wherever_its_folder_lies(copied, tmp_path):
    settings = RunSettings(results=tmp_path / "results", progress=False)
    (record,) = evaluate("logmel", [tmp_path / "original" / "tones"], results=tmp_path / "results", progress=False)
    plan = plan_suite(["logmel"], [copied], settings)
    assert plan.jobs == [] and plan.stale == {}
    assert [r.to_json() for r in plan.reused.values()] == [record]


def test_a_schema_1_record_is_recomputed_and_the_run_says_why(copied, tmp_path, capsys):
    results = tmp_path / "results"
    assert run(capsys, copied, results)[0] == 0
    (path,) = results.rglob("*.json")
    current = json.loads(path.read_text())
    old = {key: value for key, value in current.items() if key != "command"}
    old["schema"], old["task"] = 1, {k: v for k, v in current["task"].items() if k != "digest"}
    path.write_text(json.dumps(old))

    code, _, err = run(capsys, copied, results)
    assert code == 0
    assert (f"note: 1 record(s) in {results}/ recomputed, not reused: written before records were keyed on the "
            f"task's data (schema 1)") in err
    again = the_record(results)
    assert again["schema"] == 2 and again["task"] == current["task"] and again["metrics"] == current["metrics"]
    code, _, err = run(capsys, copied, results)  # now it is reused, with nothing to say
    assert code == 0 and "recomputed" not in err and the_record(results)["date"] == again["date"]


def test_a_record_keeps_its_command_and_the_software_versions(copied, tmp_path, capsys):
    args = ["run", "-m", "logmel", "-t", str(copied), "--protocol", "mlp", "-o", "hidden=8", "-o", "max_epochs=2",
            "--results", str(tmp_path / "cli")]
    assert run_cli(capsys, *args)[0] == 0
    record = the_record(tmp_path / "cli")
    assert record["command"] == shlex.join(["earbench", *args])
    assert record["env"]["python"] == platform.python_version()
    assert record["env"]["numpy"] == np.__version__ and record["env"]["scikit-learn"] == sklearn.__version__
    assert record["env"]["torch"] and record["env"]["scipy"] and record["env"]["pandas"]
    (record,) = evaluate("logmel", [copied], protocol="mlp", options={"hidden": 8, "max_epochs": 2}, progress=False)
    assert record["command"] == (f"python: evaluate('logmel', ['{copied}'], protocol='mlp', "
                                 f"options={{'hidden': 8, 'max_epochs': 2}})")


def test_the_command_is_no_part_of_what_a_run_is():
    assert RunSettings(command="earbench run -m a").identity() == RunSettings(command="python: evaluate()").identity()
