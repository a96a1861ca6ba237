"""The pre-training loop: run folder contents, resume, data resolution, the CLI command."""
from __future__ import annotations

import json

import pytest
import torch
from tests.support.helpers import run_cli
from tests.support.micro_recipes import micro_recipe, write_audio_folder

from benchmark.errors import EarbenchError
from models.data import DataError, resolve_data
from models.trainer import TrainSettings, pretrain


def _settings(recipe, data, out, **kw) -> TrainSettings:
    return TrainSettings(recipe=recipe, data=str(data), out=out, workers=0, progress=False, **kw)


@pytest.fixture
def audio_dir(tmp_path):
    return write_audio_folder(tmp_path / "audio")


def test_a_run_writes_checkpoints_logs_plot_and_init(audio_dir, tmp_path):
    recipe = micro_recipe("eat-tiny", steps=6)
    result = pretrain(_settings(recipe, audio_dir, tmp_path / "run", keep=0))
    out = tmp_path / "run"
    assert result.step == 6 and result.checkpoint == out / "step-00000006"
    assert sorted(p.name for p in out.glob("step-*")) == ["step-00000003", "step-00000006"]
    for name in ("model.safetensors", "config.json", "train_state.safetensors", "train_state.json"):
        assert (result.checkpoint / name).is_file()
    assert (out / "init" / "model.safetensors").is_file()  # the random-init baseline
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    rows = [r for r in lines if "loss" in r]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in lines if "diagnostics" in r] == [0, 5, 6]  # step 0, every 5 x log_every, the end
    assert {"loss", "lr", "ema", "samples_per_s", "steps_per_s"} <= set(rows[0])
    assert set(rows[0]["parts"]) == {"frame", "utterance"}
    assert (out / "loss.png").stat().st_size > 1000 and "step 6/6" in (out / "train.log").read_text()
    assert json.loads((out / "run.json").read_text())["files"] == 6
    stats = result.objective.encoder.frontend
    assert float(stats.std) != 1.0 and float(stats.mean) != 0.0  # estimated from the data


def test_keep_prunes_old_checkpoints(audio_dir, tmp_path):
    pretrain(_settings(micro_recipe("audiomae-tiny", steps=6), audio_dir, tmp_path / "run", keep=1, save_every=2))
    assert [p.name for p in (tmp_path / "run").glob("step-*")] == ["step-00000006"]


@pytest.mark.parametrize("name", ["matpac-tiny", "byola-tiny"])
def test_resume_continues_step_count_schedule_and_gives_the_same_model(name, audio_dir, tmp_path):
    recipe = micro_recipe(name, steps=5)
    straight = pretrain(_settings(recipe, audio_dir, tmp_path / "straight"))
    # the same run stopped after its first step, then resumed
    first = pretrain(_settings(recipe, audio_dir, tmp_path / "resumed", stop_after=1))
    assert first.step == 1 and first.checkpoint.name == "step-00000001"
    resumed = pretrain(_settings(recipe, audio_dir, tmp_path / "resumed", resume=True))
    assert resumed.step == 5 and [r["step"] for r in resumed.history] == [2, 3, 4, 5]
    assert [r["lr"] for r in resumed.history] == [r["lr"] for r in straight.history[1:]]
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in straight.history[1:]]
    a, b = straight.objective.state_dict(), resumed.objective.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_existing_run_needs_resume_and_the_same_recipe(audio_dir, tmp_path):
    pretrain(_settings(micro_recipe("eat-tiny", steps=1), audio_dir, tmp_path / "run"))
    with pytest.raises(EarbenchError, match="--resume"):
        pretrain(_settings(micro_recipe("eat-tiny", steps=1), audio_dir, tmp_path / "run"))
    with pytest.raises(EarbenchError, match="'eat-tiny', not 'matpac-tiny'"):
        pretrain(_settings(micro_recipe("matpac-tiny", steps=2), audio_dir, tmp_path / "run", resume=True))


def test_data_resolution(audio_dir, tmp_path, earbench_home):
    (audio_dir / "notes.txt").write_text("not audio")
    files, where = resolve_data(str(audio_dir))
    assert len(files) == 6 and {f.suffix for f in files} == {".wav", ".flac"} and "6 audio files" in where
    corpus = earbench_home / "mini" / "mini-pretrain"  # a folder built under $EARBENCH_HOME, with a manifest
    write_audio_folder(corpus / "audio", count=3)
    (corpus / "train.csv").write_text("path,domain\naudio/clip0.flac,music\naudio/sub/clip1.wav,speech\n")
    files, where = resolve_data("mini-pretrain")
    assert [f.name for f in files] == ["clip0.flac", "clip1.wav"] and "train.csv" in where
    with pytest.raises(DataError, match="no-such-corpus"):
        resolve_data("no-such-corpus")
    with pytest.raises(DataError, match="not a folder"):  # a path that is not there: the same one line
        resolve_data(str(tmp_path / "missing" / "mini-pretrain"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .* files"):
        resolve_data(str(tmp_path / "empty"))


def test_unreadable_files_are_skipped_with_a_warning(audio_dir, tmp_path):
    (audio_dir / "broken.wav").write_bytes(b"RIFF not really")
    pretrain(_settings(micro_recipe("audiomae-tiny", steps=1), audio_dir, tmp_path / "run"))
    assert "skipping unreadable audio" in (tmp_path / "run" / "train.log").read_text()


def test_cli_pretrain_then_check_the_checkpoint(audio_dir, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run_cli(capsys, "pretrain", "--recipe", "byola-tiny", "--data", str(audio_dir),
                                "--max-steps", "1", "--batch-size", "4", "--out", str(out), "--workers", "0")
    assert code == 0, err
    assert "byola-tiny: step 1" in stdout and (out / "step-00000001" / "model.safetensors").exists()
    code, stdout, err = run_cli(capsys, "check", f"ckpt:{out}")
    assert code == 0, stdout + err
    code, _, err = run_cli(capsys, "pretrain", "--recipe", "eat-tinny", "--data", str(audio_dir))
    assert code == 2 and "did you mean eat-tiny" in err
