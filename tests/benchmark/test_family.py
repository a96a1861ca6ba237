"""Task families (`benchmark.family`): each family's attributes agree with what the folder
loader accepts, an unknown family is one clear error, and every protocol reads from the
embedding cache exactly what its `needs(task, settings)` declares."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from benchmark.errors import ProtocolError, TaskError
from benchmark.family import FAMILIES, Family, Head, families_with, family_of
from benchmark.features.cache import EmbeddingCache
from benchmark.protocols import PROTOCOLS, Protocol, RunContext
from benchmark.run.plan import plan_suite
from benchmark.scoring.metrics import METRICS
from benchmark.settings import RunSettings
from benchmark.sources.folder import load_folder_task
from benchmark.task import TaskSpec
from benchmark.upstream import load_upstream
from models.baselines import LogMel
from tests.support.family_tasks import (write_asr_task, write_pitch_task, write_retrieval_task, write_sed_task,
                                        write_sv_task, write_tagging_task)
from tests.support.tone_task import write_tone_task

WRITERS = {
    "classification": lambda root: write_tone_task(root, per_class=6),
    "tagging": lambda root: write_tagging_task(root, n=24),
    "sed": lambda root: write_sed_task(root, n=12),
    "asr": lambda root: write_asr_task(root, n=24),
    "speaker_verification": write_sv_task,
    "retrieval": lambda root: write_retrieval_task(root, n=24),
    "pitch": lambda root: write_pitch_task(root, pitches=range(60, 63), per_pitch=6),
}
#: the CSV column a test row's label is written in (independent of the family objects)
LABEL_CSV_COLUMN = {"classification": "label", "tagging": "labels", "sed": "label", "asr": "transcript",
                    "speaker_verification": "speaker", "retrieval": "caption", "pitch": "pitch"}
#: short schedules: these tests look at what is read, not at scores
QUICK = {"max_epochs": 2, "patience": 1}


@pytest.fixture(scope="module")
def family_tasks(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    tasks = {name: writer(root / name) for name, writer in WRITERS.items()}
    tasks["folds"] = write_tone_task(root / "folds", per_class=4, seed=1, kfold=True)
    return tasks


def test_the_families_are_the_ones_the_tests_write():
    assert set(FAMILIES) == set(WRITERS) == set(LABEL_CSV_COLUMN)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_each_family_is_consistent_in_itself(name):
    family = family_of(name)
    assert family.name == name and family.main_metric in family.metrics
    assert all(metric in METRICS for metric in family.metrics)
    assert family.columns[0] == "path" and set(family.blank_columns) <= set(family.columns)
    assert not (family.frames and family.pooled)  # a head reads frames or one pooled embedding per clip
    assert family.stratify in (None, family.label_column)
    for protocol, head in family.heads.items():
        assert protocol in PROTOCOLS and callable(head.function), (name, protocol)


def test_each_builtin_protocol_handles_exactly_the_families_that_name_a_head_for_it():
    for name in PROTOCOLS.names():
        assert PROTOCOLS.get(name).families == families_with(name), name
    assert families_with("bilstm") == ("asr",) and "sed" not in families_with("qbe")


@pytest.mark.parametrize("name", list(FAMILIES))
def test_the_folder_loader_reads_the_familys_columns_into_its_label_column(family_tasks, name):
    family, root = family_of(name), family_tasks[name]
    assert tuple(pd.read_csv(root / "train.csv", nrows=0).columns) == family.columns
    task = load_folder_task(root)
    assert (task.metrics, task.main_metric, task.prediction_type) == (family.metrics, family.main_metric,
                                                                       family.prediction_type)
    manifests = task.load()
    assert all(family.label_column in manifests[split] for split in ("train", "valid", "test"))
    assert ("trials" in manifests) == family.trials
    if family.closed_vocabulary:
        assert family.labels(manifests["test"]) <= family.labels(manifests["train"])
        assert family.vocabulary(manifests["train"]) == sorted(family.labels(manifests["train"]))
    for column in family.columns[1:]:  # every column is required
        csv = root / "valid.csv"
        original = csv.read_text()
        try:
            pd.read_csv(csv, dtype=str, keep_default_na=False).drop(columns=column).to_csv(csv, index=False)
            with pytest.raises(TaskError, match=f"valid.csv: missing column\\(s\\) {column}"):
                load_folder_task(root)
        finally:
            csv.write_text(original)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_unseen_test_labels_are_refused_exactly_for_closed_vocabulary_families(family_tasks, name):
    family, root = family_of(name), family_tasks[name]
    csv = root / "test.csv"
    original = csv.read_text()
    column = LABEL_CSV_COLUMN[name]
    try:
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        row = frame.index[frame[column] != ""][-1]
        frame.loc[row, column] = "777"  # a label (and a MIDI number) no training clip has
        frame.to_csv(csv, index=False)
        if family.closed_vocabulary:
            with pytest.raises(TaskError, match="never seen in training: 777"):
                load_folder_task(root)
        else:
            load_folder_task(root)
    finally:
        csv.write_text(original)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_only_the_familys_blank_columns_may_be_blank(family_tasks, name):
    family, root = family_of(name), family_tasks[name]
    csv = root / "train.csv"
    original = csv.read_text()
    try:
        for column in family.columns[1:]:
            frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
            if column in family.blank_columns:
                frame.loc[0, list(family.blank_columns)] = ""  # e.g. a clip without events
                frame.to_csv(csv, index=False)
                load_folder_task(root)
            else:
                frame.loc[0, column] = ""
                frame.to_csv(csv, index=False)
                with pytest.raises(TaskError, match=f"train.csv line 2: empty {column!r}"):
                    load_folder_task(root)
            csv.write_text(original)
    finally:
        csv.write_text(original)


def test_an_unknown_family_is_one_line_naming_it_and_listing_the_known(tmp_path):
    with pytest.raises(TaskError) as err:
        family_of("dance")
    assert str(err.value) == ("unknown family 'dance'; expected one of classification, tagging, sed, asr, "
                              "speaker_verification, retrieval, pitch")
    with pytest.raises(TaskError, match="^task 'moves': unknown family 'dance'; expected one of classification"):
        TaskSpec("moves", "dance", load=dict)
    root = write_tone_task(tmp_path / "moves", per_class=2)
    (root / "task.toml").write_text('name = "moves"\nfamily = "dance"\n')
    with pytest.raises(TaskError, match=r"task.toml: unknown family 'dance'; expected one of .*, pitch$"):
        load_folder_task(root)


def test_a_family_added_to_family_py_alone_is_loaded_checked_and_probed(tmp_path, monkeypatch):
    """What the module docstring promises: a new family (here: clips labelled with an emotion,
    a CSV column of its own) needs one `Family(...)` entry and nothing else."""
    emotion = Family("emotion", "multiclass", ("accuracy",), "accuracy", columns=("path", "emotion"),
                     label_column="emotion", closed_vocabulary=True, pooled=True, stratify="emotion",
                     heads={"linear": Head("benchmark.protocols.clip:run_clip", "linear")})
    monkeypatch.setitem(FAMILIES, "emotion", emotion)
    root = write_tone_task(tmp_path / "moods", per_class=6)
    (root / "task.toml").write_text('name = "moods"\nfamily = "emotion"\n')
    for split in ("train", "valid", "test"):
        csv = root / f"{split}.csv"
        csv.write_text(csv.read_text().replace("path,label", "path,emotion", 1))
    task = load_folder_task(root)
    linear = Protocol("linear")  # the registered one was built before the family existed
    assert linear.families[-1] == "emotion" and "emotion" not in Protocol("knn").families
    linear.check(task)
    settings = RunSettings(progress=False)
    ctx = RunContext(load_upstream("logmel"), task, task.load(), settings, cache=EmbeddingCache(tmp_path / "cache"))
    ((_, roles),) = task.runs()
    metrics, _, _ = linear.run(ctx, roles, 0)
    assert set(metrics) == {"accuracy"} and metrics["accuracy"] > 0.5  # three separable tones; chance is 1/3
    with pytest.raises(ProtocolError, match="does not apply to task 'moods' \\(family 'emotion'\\); it handles"):
        Protocol("knn").check(task)


class TextTower(LogMel):
    """Log-mel frames plus a toy shared audio-text space (for `zeroshot`)."""

    def embed_audio(self, audio: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return audio[:, :16].abs() + 1e-3

    def embed_text(self, texts: list[str]) -> torch.Tensor:
        return torch.tensor([[float(len(t) % (k + 2)) + 1.0 for k in range(16)] for t in texts])


CASES = [(protocol, name, "mean") for name, family in FAMILIES.items() for protocol in family.heads]
CASES += [("linear", "classification", "attention"), ("knn", "tagging", "max"), ("qbe", "folds", "mean"),
          ("linear", "folds", "mean")]


@pytest.mark.parametrize("protocol,task_name,pooling", CASES)
def test_a_protocol_reads_from_the_cache_exactly_what_it_needs(family_tasks, tmp_path, protocol, task_name, pooling):
    """Run the protocol on every run of the task and record each (split, pooling) entry it asks
    the context for: that set is what `needs` told the planner to extract."""
    upstream = load_upstream(TextTower() if protocol == "zeroshot" else "logmel")
    task = load_folder_task(family_tasks[task_name])
    settings = RunSettings(protocol=protocol, pooling=pooling, options=QUICK, progress=False)
    proto = PROTOCOLS.get(protocol)
    proto.check(task, settings.layer, settings.pooling)
    ctx = RunContext(upstream, task, task.load(), settings, cache=EmbeddingCache(tmp_path / "cache"))
    read = []
    embeddings = ctx.embeddings

    def spy(split: str, pooling: str | None = None):
        read.append((split, pooling or settings.pooling))
        return embeddings(split, pooling)

    ctx.embeddings = spy
    for _, roles in task.runs():
        metrics, _, items = proto.run(ctx, roles, 0)
        assert metrics and len(items) > 0
    needs = proto.needs(task, settings)
    assert set(read) == set(needs) and len(needs) == len(set(needs))
    assert (needs == ()) == proto.encodes


def test_the_planner_extracts_what_the_protocol_needs_and_no_more(family_tasks, tmp_path):
    task = family_tasks["classification"]
    qbe = plan_suite(["logmel"], [task], RunSettings(protocol="qbe", progress=False, cache_root=tmp_path))
    (extract,) = [job for job in qbe.jobs if job.kind == "extract"]
    assert extract.needs == (("test", "mean"), ("train", "mean"))  # query-by-example never reads valid
    finetune = plan_suite(["random-cnn"], [task], RunSettings(protocol="finetune", progress=False, cache_root=tmp_path))
    assert [job.kind for job in finetune.jobs] == ["probe"] and finetune.jobs[0].device


def test_a_task_spec_from_any_source_is_refused_a_metric_its_family_cannot_feed():
    """Registered tasks and plugins build TaskSpecs directly: the family's metric check is theirs too."""
    with pytest.raises(TaskError, match=r"^task 'words': metric 'accuracy' does not apply to an asr task; "
                                        r"metrics that apply: cer, wer$"):
        TaskSpec(name="words", family="asr", load=lambda: {"train": pd.DataFrame()}, metrics=("wer", "accuracy"))
    with pytest.raises(TaskError, match=r"^task 'words': main_metric 'cer' is not among the task's metrics \(wer\)$"):
        TaskSpec(name="words", family="asr", load=dict, metrics=("wer",), main_metric="cer")
    assert TaskSpec(name="words", family="asr", load=dict).main_metric == "wer"
