"""`earbench analyse checkpoints RUN`: the probe on a run's init and on every checkpoint, named
so that the curve's ends are the records `earbench run --model ckpt:RUN[/init]` writes."""
from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.helpers import run_cli
from tests.support.micro_recipes import micro_recipe, write_audio_folder
from tests.support.tone_task import write_tone_task

from benchmark import evaluate
from benchmark.record import Record
from models.learning_curve import run_checkpoints
from models.trainer import TrainSettings, pretrain


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("curve")
    out = root / "run"
    pretrain(TrainSettings(recipe=micro_recipe("byola-tiny", steps=6), data=str(write_audio_folder(root / "audio")),
                           out=out, keep=0, workers=0, progress=False))
    return out


def test_a_runs_checkpoints_are_its_init_and_every_step_named_as_ckpt_names_them(run):
    recipe, found = run_checkpoints(run)
    assert recipe == "byola-tiny"
    assert [(c.step, c.name) for c in found] == [(0, "byola-tiny@init"), (3, "byola-tiny@3"), (6, "byola-tiny")]
    assert found[0].spec == f"ckpt:{run / 'init'}" and found[-1].spec == f"ckpt:{run / 'step-00000006'}"


def test_points_keep_the_init_and_the_newest_evenly_spaced(run):
    from models.learning_curve import evenly
    assert evenly(list(range(11)), 4) == [0, 3, 7, 10] and evenly([0, 1], 5) == [0, 1]
    _, two = run_checkpoints(run, points=2)
    assert [c.name for c in two] == ["byola-tiny@init", "byola-tiny"]


def test_the_curve_has_a_point_per_checkpoint_and_its_ends_are_the_ordinary_runs(run, tmp_path, capsys):
    tones = write_tone_task(tmp_path / "tones", per_class=6)
    results, out = tmp_path / "results", tmp_path / "analyses"
    code, stdout, err = run_cli(capsys, "analyse", "checkpoints", str(run), "-t", str(tones), "--reference", "logmel",
                                "--layer", "last", "--results", str(results), "--out", str(out))
    assert code == 0, err
    assert (out / "checkpoints.md").is_file() and (out / "checkpoints.svg").is_file() and "wrote" in stdout
    records = {Record.read(p).model: Record.read(p) for p in results.rglob("seed*.json")}
    assert set(records) == {"byola-tiny@init", "byola-tiny@3", "byola-tiny", "logmel"}
    assert records["byola-tiny@init"].fingerprint != records["byola-tiny"].fingerprint
    table = (out / "checkpoints.md").read_text()
    for name in records:
        assert f"| {name} |" in table
    # the ends are what `earbench run --model ckpt:RUN` and `ckpt:RUN/init` compute, scored independently
    for spec, name in ((f"ckpt:{run}", "byola-tiny"), (f"ckpt:{run / 'init'}", "byola-tiny@init")):
        (fresh,) = evaluate(spec, [str(tones)], results=tmp_path / "fresh", progress=False)
        assert fresh["upstream"]["name"] == name and fresh["metrics"] == records[name].metrics


def test_a_folder_without_checkpoints_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capsys, "analyse", "checkpoints", str(tmp_path / "empty"), "-t", "mini-kws")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no checkpoints" in err
