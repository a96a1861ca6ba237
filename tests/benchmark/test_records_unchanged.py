"""The safety net of a refactor: records written today equal those written before it.

`tests/data/records_before/` holds records that earbench wrote (at commit 6c0aeb6, before
the core was re-laid out) on the tiny mini suite, by these commands:

    earbench data build mini --size tiny --out M
    earbench run -m logmel -m random-cnn -t M/mini-{asr,instrument,...,tagging} --results linear
    earbench run -m logmel -t M/mini-{kws,speaker,scenes,tagging} --protocol knn --results knn
    earbench run -m random-transformer -t M/mini-{scenes,tagging,sed} --layer weighted --seeds 2 --results weighted
    earbench run -m logmel -t M/mini-{scenes,pitch} --protocol mlp -o hidden=64 --train-fraction 0.5 --results mlp

Each test reruns a group and compares every field a record written before has, as this
earbench reads it (schema 1, migrated to the current schema), except those that describe the
machine or the moment (timing, env, date): same files, same upstream, task, sizes, protocol
settings, chosen hyper-parameters and metrics (to 1e-6, for BLAS differences between
machines). Fields the records have gained since (the task's digest, the command, ...) are
new and not compared; nothing that existed may change. The default run covers the quick
groups; `make test-slow` all of them.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmark import evaluate
from benchmark.record import SCHEMA, Record

BEFORE = Path(__file__).parents[1] / "data" / "records_before"
TASKS = ("asr", "instrument", "kws", "lid", "pitch", "retrieval", "scenes", "sed", "speaker", "sv", "tagging")
#: group -> (models, tasks, evaluate() settings): the commands that wrote tests/data/records_before
GROUPS = {
    "linear": (("logmel", "random-cnn"), TASKS, {}),
    "knn": (("logmel",), ("kws", "speaker", "scenes", "tagging"), {"protocol": "knn"}),
    "weighted": (("random-transformer",), ("scenes", "tagging", "sed"), {"layer": "weighted", "seeds": 2}),
    "mlp": (("logmel",), ("scenes", "pitch"), {"protocol": "mlp", "options": {"hidden": 64}, "train_fraction": 0.5}),
}
VOLATILE = ("timing", "env", "date")
#: group -> upstream fields a deliberate change has altered since the records were written
CHANGED = {"weighted": ("fingerprint",)}  # random-transformer's declared window (max_seconds) joined its fingerprint
#: (group, task) -> record fields (dotted) a deliberate change of that task's head has altered
RETRAINED = {("linear", "mini-sv"): ("metrics", "protocol.chosen")}  # the speaker projection's patience and batch


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    pytest.importorskip("tasks.mini")
    from tasks.mini import MissingSourceError
    from tasks.mini.build import build_mini
    out = tmp_path_factory.mktemp("mini-tiny")
    try:
        build_mini(out, size="tiny", seed=0, progress=False, names=[f"mini-{t}" for t in TASKS])
    except MissingSourceError as err:  # the Debian sound sources `make test` installs
        pytest.skip(f"mini suite sources missing: {err}")
    return out


def close(a: object, b: object, where: str) -> None:
    """`a` has every field of `b`, equal (text, structure; numbers to 1e-6, NaN equals NaN);
    a field only `a` has is new and not compared."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert set(b) <= set(a), f"{where}: fields {sorted(set(b) - set(a))} are gone"
        for key in b:
            close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{where}: lengths {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            close(x, y, f"{where}[{i}]")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-6), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def existing(record: object, shape: object) -> object:
    """The fields of `record` that `shape` has (recursively through objects)."""
    if isinstance(record, dict) and isinstance(shape, dict):
        return {key: existing(record[key], shape[key]) for key in shape if key in record}
    return record


def before_fields(path: Path) -> dict:
    """A record written before, read as this earbench reads it (migrated to the current schema),
    with the fields it has on disk: the migration adds fields (the digest, unknown) and keeps
    every one that existed, and it is those that a rerun must reproduce."""
    on_disk = json.loads(path.read_text())
    read = existing(Record.read(path).to_json(), on_disk)
    assert on_disk["schema"] == 1 and read["schema"] == SCHEMA
    close({**read, "schema": 1}, on_disk, f"{path} (migrated)")
    return {key: value for key, value in read.items() if key not in VOLATILE}


def rerun_and_compare(group: str, mini: Path, tmp_path: Path) -> None:
    models, tasks, settings = GROUPS[group]
    out = tmp_path / group
    for model in models:
        evaluate(model, [mini / f"mini-{t}" for t in tasks], results=out, progress=False, **settings)
    before = {p.relative_to(BEFORE / group): p for p in (BEFORE / group).rglob("*.json")}
    after = {p.relative_to(out): p for p in out.rglob("*.json")}
    assert sorted(after) == sorted(before)
    for rel, path in before.items():
        expected = before_fields(path)
        expected["upstream"] = {k: v for k, v in expected["upstream"].items() if k not in CHANGED.get(group, ())}
        for field in RETRAINED.get((group, expected["task"]["name"]), ()):
            *parents, last = field.split(".")
            holder = expected
            for key in parents:
                holder = holder[key]
            holder.pop(last)
        close(json.loads(after[rel].read_text()), expected, str(rel))


@pytest.mark.parametrize("group", ["knn", "mlp"])
def test_quick_records_are_unchanged(group, mini, tmp_path):
    rerun_and_compare(group, mini, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("group", ["linear", "weighted"])
def test_all_records_are_unchanged(group, mini, tmp_path):
    rerun_and_compare(group, mini, tmp_path)
