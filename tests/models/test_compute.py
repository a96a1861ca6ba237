"""`earbench list recipes`; pre-training compute and display names recorded in checkpoints,
carried by `ckpt:` upstreams into result records and the leaderboard's compute column."""
from __future__ import annotations

import json

import pytest
from tests.support.tone_task import write_tone_task
from tests.support.helpers import run_cli
from tests.support.micro_recipes import micro_recipe, write_audio_folder

from benchmark.registry import Registry
from benchmark.run.evaluate import evaluate
from benchmark.upstream import load_upstream
from leaderboard.board import build_from
from models.checkpoint import CONFIG
from models.recipes import RECIPES
from models.trainer import TrainSettings, pretrain


def test_list_recipes_names_every_recipe_with_its_description(capsys):
    code, out, err = run_cli(capsys, "list", "recipes")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == len(RECIPES)
    listed = {line.split()[0]: line for line in lines}
    assert set(listed) == set(RECIPES)
    for name, recipe in RECIPES.items():
        assert recipe.description and recipe.description in listed[name]


def test_the_recipe_kind_holds_exactly_the_recipes():
    """A registry of the `earbench.recipes` kind (what the core lists) gets models' recipes from its plugin."""
    listed: Registry = Registry("recipe", "earbench.recipes")
    assert listed.names() == sorted(RECIPES)
    assert all(listed.get(name) is RECIPES[name] for name in ("eat-tiny", "clap-tiny", "ssm-matpac-tiny"))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 3-step EAT micro run (4 clips a step), then resumed for 2 more steps."""
    root = tmp_path_factory.mktemp("compute")
    audio = write_audio_folder(root / "audio")
    first = pretrain(TrainSettings(recipe=micro_recipe("eat-tiny", steps=5), data=str(audio), out=root / "eat",
                                   max_steps=3, workers=0, progress=False))
    facts_3 = json.loads((first.checkpoint / CONFIG).read_text())["pretraining"]
    second = pretrain(TrainSettings(recipe=micro_recipe("eat-tiny", steps=5), data=str(audio), out=root / "eat",
                                    max_steps=5, resume=True, workers=0, progress=False))
    return root, first, second, facts_3


def test_checkpoint_config_records_pretraining_compute(run):
    root, first, second, facts_3 = run
    assert facts_3["steps"] == 3 and facts_3["samples"] == 12 and facts_3["batch_size"] == 4
    assert facts_3["recipe"] == "eat-tiny" and facts_3["device"] == "cpu" and str(root / "audio") in facts_3["data"]
    assert facts_3["wall_seconds"] > 0
    config = json.loads((second.checkpoint / CONFIG).read_text())
    facts = config["pretraining"]
    assert config["name"] == "eat-tiny" and second.step == 5
    assert facts["steps"] == 5 and facts["samples"] == 20
    assert facts["wall_seconds"] > facts_3["wall_seconds"]  # a resumed run adds its time to the earlier session's
    init = json.loads((root / "eat" / "init" / CONFIG).read_text())
    assert init["name"] == "eat-tiny@init"
    assert init["pretraining"]["steps"] == 0 and init["pretraining"]["samples"] == 0 and init["pretraining"]["init"]


def test_ckpt_upstream_is_named_and_records_and_leaderboard_carry_compute(run, tmp_path):
    root, _, second, _ = run
    trained, init = load_upstream(f"ckpt:{root / 'eat'}"), load_upstream(f"ckpt:{root / 'eat' / 'init'}")
    assert trained.earbench_name == "eat-tiny" and init.earbench_name == "eat-tiny@init"
    assert trained.earbench_source == f"ckpt:{root / 'eat'}"
    assert load_upstream(f"ckpt:{root / 'eat'}", name="mine").earbench_name == "mine"  # an explicit name wins
    task = write_tone_task(tmp_path / "tones", per_class=8)
    results = tmp_path / "results"
    records = [r for spec in (f"ckpt:{root / 'eat'}", f"ckpt:{root / 'eat' / 'init'}")
               for r in evaluate(spec, [str(task)], seeds=1, results=results, progress=False)]
    by_name = {r["upstream"]["name"]: r for r in records}
    assert set(by_name) == {"eat-tiny", "eat-tiny@init"}
    assert by_name["eat-tiny"]["upstream"]["pretraining"]["steps"] == 5
    assert by_name["eat-tiny"]["upstream"]["pretraining"]["samples"] == 20
    assert by_name["eat-tiny@init"]["upstream"]["pretraining"]["steps"] == 0
    assert (results / "eat-tiny").is_dir() and (results / "eat-tiny_init").is_dir()  # slug of the name
    stored = [json.loads(p.read_text()) for p in results.rglob("*.json")]
    assert sorted(r["upstream"]["pretraining"]["steps"] for r in stored) == [0, 5]
    entries = build_from(results).entries
    assert entries.loc["eat-tiny", "compute"] == "5 steps, 20 samples"
    assert entries.loc["eat-tiny@init", "compute"] == "0 steps, 0 samples"


def test_checkpoints_without_recorded_compute_rebuild_it_from_the_train_state(run, tmp_path):
    """Checkpoints written before config.json recorded it: name and compute from the recipe and train state."""
    import shutil
    _, _, second, _ = run
    old = tmp_path / "old"
    shutil.copytree(second.checkpoint, old)
    config = json.loads((old / CONFIG).read_text())
    del config["name"], config["pretraining"]
    (old / CONFIG).write_text(json.dumps(config))
    upstream = load_upstream(f"ckpt:{old}")
    assert upstream.earbench_name == "eat-tiny"
    assert upstream.pretraining["steps"] == 5 and upstream.pretraining["samples"] == 20


def test_leaderboard_renders_entries_with_and_without_pretraining_compute(tmp_path):
    """A board mixing pre-trained checkpoints (upstream.pretraining) and baselines without it renders."""
    from leaderboard.markdown import render
    from tests.support.records import write_record
    write_record(tmp_path, "logmel", "mini-kws", 0.5)
    write_record(tmp_path, "eat-tiny", "mini-kws", 0.6, pretraining={"steps": 565, "samples": 4520})
    write_record(tmp_path, "eat-tiny@init", "mini-kws", 0.4, pretraining={"steps": 0, "samples": 0})
    text = render(build_from(tmp_path))
    lines = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| ") and " | " in line}
    assert "565 steps, 4.52e+03 samples" in lines["eat-tiny"] and "0 steps, 0 samples" in lines["eat-tiny@init"]
    assert "| — |" in lines["logmel"]
