"""The result record: what a run writes reads back as the same record at the path it names;
the planner reuses a record only for the same run; a bad file is one clear error naming it;
older schemas are migrated and newer ones refused."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import benchmark.record as record_module
from benchmark import evaluate
from benchmark.errors import EarbenchError
from benchmark.record import SCHEMA, UNKNOWN_DIGEST, Record, RecordError
from benchmark.run.plan import plan_suite
from benchmark.settings import RunSettings
from tests.support.records import write_record

COMMITTED = Path(__file__).parents[2] / "leaderboard" / "results"
ARCHIVE = Path(__file__).parents[2] / "docs" / "reports" / "records"  # older records, kept for the reports


@pytest.fixture
def written(tmp_path, tone_task):
    """A record that a run wrote, the file it wrote, and what evaluate() returned for it."""
    (returned,) = evaluate("logmel", [tone_task], results=tmp_path / "results", train_fraction=0.5,
                           options={"max_epochs": 40}, progress=False)
    (path,) = (tmp_path / "results").rglob("*.json")
    return path, returned


def test_a_written_record_reads_back_as_itself_at_its_own_path(written, tmp_path):
    path, returned = written
    on_disk = json.loads(path.read_text())
    record = Record.read(path)
    assert record.to_json() == on_disk == returned
    assert list(record.to_json())[:12] == ["schema", "upstream", "task", "protocol", "seed", "fold", "metrics",
                                           "main_metric", "timing", "env", "date", "command"]
    assert Record.from_json(record.to_json()) == record
    assert record.path(tmp_path / "results") == path
    assert path.parent.name == f"{record.variant}-layer_last-mean" and path.name == "seed0.json"
    assert record.variant.startswith("linear-frac_0.5-opt_") and record.label == "linear frac=0.5"
    assert record.protocol["options"] == {"max_epochs": 40} and record.protocol["train_fraction"] == 0.5
    assert record.schema == SCHEMA == 2 and record.task["digest"].startswith("blake2b:")
    assert record.score == on_disk["metrics"][on_disk["main_metric"]]


def test_to_json_is_a_copy(written):
    record = Record.read(written[0])
    record.to_json()["protocol"]["options"]["max_epochs"] = 1
    assert record.protocol["options"] == {"max_epochs": 40}


def test_same_run_needs_the_same_weights_task_version_data_and_settings(written):
    record = Record.read(written[0])
    settings = RunSettings(train_fraction=0.5, options={"max_epochs": 40}, pooling="mean")
    fingerprint, version, digest = record.upstream["fingerprint"], record.task["version"], record.task["digest"]
    assert record.same_run(fingerprint, version, digest, settings.identity())
    assert not record.same_run("sha256:other", version, digest, settings.identity())
    assert not record.same_run(fingerprint, version + "1", digest, settings.identity())
    assert not record.same_run(fingerprint, version, "blake2b:other", settings.identity())
    assert record.mismatch(fingerprint, version, "blake2b:other", settings.identity()) == \
        "the task's data (manifests or audio) changed"
    for other in (RunSettings(train_fraction=0.5), RunSettings(options={"max_epochs": 40}),
                  RunSettings(train_fraction=0.5, options={"max_epochs": 40}, layer=0),
                  RunSettings(train_fraction=0.5, options={"max_epochs": 40}, protocol="mlp")):
        assert not record.same_run(fingerprint, version, digest, other.identity())


def test_the_planner_reuses_only_the_same_run(written, tmp_path, tone_task):
    results = tmp_path / "results"
    same = plan_suite(["logmel"], [tone_task], RunSettings(results=results, train_fraction=0.5,
                                                            options={"max_epochs": 40}, progress=False))
    assert same.jobs == [] and [r.to_json() for r in same.reused.values()] == [written[1]]
    # the record at the path, but from other weights: planned again, not reused
    path, _ = written
    data = json.loads(path.read_text())
    data["upstream"]["fingerprint"] = "sha256:elsewhere"
    path.write_text(json.dumps(data))
    again = plan_suite(["logmel"], [tone_task], RunSettings(results=results, train_fraction=0.5,
                                                             options={"max_epochs": 40}, progress=False))
    assert [j.kind for j in again.jobs] == ["probe"] and again.reused == {}


def test_a_broken_record_in_the_way_of_a_run_is_set_aside_and_recomputed(written, tmp_path, tone_task):
    path, _ = written
    path.write_text('{"schema": 1, "upst')
    settings = RunSettings(results=tmp_path / "results", train_fraction=0.5, options={"max_epochs": 40}, progress=False)
    plan = plan_suite(["logmel"], [tone_task], settings)
    assert [j.kind for j in plan.jobs] == ["probe"] and plan.problems == []
    (why,) = plan.stale.values()
    assert why.startswith(f"{path}: unreadable or truncated JSON") and why.endswith(f"moved to {path.name}.bad-1")
    assert not path.exists() and path.with_name(f"{path.name}.bad-1").read_text() == '{"schema": 1, "upst'
    path.mkdir()  # a folder in its place goes the same way, beside the first
    assert "a directory" in next(iter(plan_suite(["logmel"], [tone_task], settings).stale.values()))
    assert path.with_name(f"{path.name}.bad-2").is_dir() and not path.exists()


def broken(tmp_path, how: str):
    path = tmp_path / "r" / "seed0.json"
    path.parent.mkdir(parents=True)
    if how == "directory":
        path.mkdir()
        return path
    good = json.loads(write_record(tmp_path / "good", "m", "kws", 0.5).read_text())
    text = {"truncated": json.dumps(good)[:40], "array": json.dumps([good]), "empty": "",
            "newer": json.dumps({**good, "schema": SCHEMA + 1}),
            "not a record": json.dumps({"hello": 1}),
            "metrics a list": json.dumps({**good, "metrics": [0.5]}),
            "seed text": json.dumps({**good, "seed": "zero"}),
            "score text": json.dumps({**good, "metrics": {"accuracy": "0.5"}}),
            "bad layer": json.dumps({**good, "protocol": {**good["protocol"], "layer": 1.5}})}[how]
    path.write_text(text)
    return path


@pytest.mark.parametrize("how, reason", [
    ("truncated", "unreadable or truncated JSON"),
    ("empty", "unreadable or truncated JSON"),
    ("directory", "a directory, not a record file"),
    ("array", "expected a JSON object, got list"),
    ("newer", f"schema {SCHEMA + 1} is newer than this earbench reads ({SCHEMA}); upgrade earbench"),
    ("not a record", "no integer 'schema' field"),
    ("metrics a list", "'upstream', 'task', 'protocol' and 'metrics' must be JSON objects"),
    ("seed text", "'seed' must be an integer or null, got 'zero'"),
    ("score text", "main metric 'accuracy' is '0.5', not a finite number"),
    ("bad layer", "'protocol.layer' must be a string or integer, got 1.5"),
])
def test_a_bad_file_is_one_line_naming_it(tmp_path, how, reason):
    path = broken(tmp_path, how)
    with pytest.raises(RecordError) as err:
        Record.read(path)
    assert isinstance(err.value, EarbenchError)  # the CLI prints it as one line
    assert str(err.value).startswith(f"{path}: ") and reason in str(err.value) and "\n" not in str(err.value)
    assert err.value.file == str(path) and reason in err.value.reason


def test_optional_fields_may_be_missing_or_malformed(tmp_path):
    data = json.loads(write_record(tmp_path, "m", "kws", 0.5, layer_weights=[0.5, "x"]).read_text())
    for key in ("timing", "env", "date"):
        del data[key]
    record = Record.from_json(data)
    assert (record.clips_per_s, record.device, record.date, record.layer_weights) == (None, None, None, None)
    assert record.label == "linear" and record.variant == "linear"  # no train_fraction, no options: defaults
    assert "layer_weights" in record.ignored()[0]


def test_a_schema_1_record_is_migrated_with_its_digest_unknown(tmp_path):
    path = write_record(tmp_path, "m", "kws", 0.5)
    on_disk = json.loads(path.read_text())
    assert on_disk["schema"] == 1 and "digest" not in on_disk["task"]
    record = Record.read(path)
    assert record.schema == 2 and record.task == {**on_disk["task"], "digest": UNKNOWN_DIGEST}
    assert record.command is None and record.score == 0.5
    migrated = record.to_json()
    assert {k: v for k, v in migrated.items() if k not in ("schema", "task", "command")} == \
        {k: v for k, v in on_disk.items() if k not in ("schema", "task")}
    assert json.loads(path.read_text()) == on_disk  # reading never rewrites the file
    fingerprint, version = on_disk["upstream"]["fingerprint"], on_disk["task"]["version"]
    for digest in ("blake2b:0123", UNKNOWN_DIGEST):  # unknown equals no digest, not even itself
        assert record.mismatch(fingerprint, version, digest, {}) == \
            "written before records were keyed on the task's data (schema 1)"


def test_a_schema_without_a_migration_is_refused_by_name(tmp_path):
    path = write_record(tmp_path, "m", "kws", 0.5)
    path.write_text(path.read_text().replace('"schema": 1', '"schema": 0'))
    with pytest.raises(RecordError, match=r"schema 0 is older than any this earbench reads \(it migrates 1 to 2\)"):
        Record.read(path)


def test_every_schema_before_the_current_one_has_a_migration():
    assert SCHEMA == 2 and sorted(record_module.MIGRATIONS) == list(range(1, SCHEMA))


@pytest.mark.parametrize("root", [COMMITTED, ARCHIVE / "before-fixes", ARCHIVE / "without-items"],
                         ids=["board", "before-fixes", "without-items"])
def test_the_committed_records_read_through_the_migration_unchanged_but_for_the_digest(root):
    """A schema-1 record (the older ones, docs/reports/records/) reads as schema 2 with its digest
    unknown (so a rerun recomputes it) and every field it had as it was; a schema-2 one (all of
    the board's) reads as written."""
    paths = sorted(root.rglob("*.json"))
    schemas = [json.loads(p.read_text())["schema"] for p in paths]
    assert (schemas.count(2) > 50 and 1 not in schemas) if root == COMMITTED else (schemas.count(1) >= 30)
    for path in paths:
        on_disk = json.loads(path.read_text())
        record = Record.read(path)
        assert record.schema == SCHEMA == 2 and on_disk["schema"] in (1, 2), path
        digest = UNKNOWN_DIGEST if on_disk["schema"] == 1 else on_disk["task"]["digest"]
        assert record.task == {**on_disk["task"], "digest": digest}, path
        assert {k: v for k, v in record.to_json().items() if k in on_disk and k not in ("schema", "task")} == \
            {k: v for k, v in on_disk.items() if k not in ("schema", "task")}, path
        assert record.path(root) == path
