"""`max_minutes` sizes a new run's schedule from a timing probe, so that warm-up, cosine decay
and the EMA schedule all complete inside the budget."""
from __future__ import annotations

import json

import pytest
import torch
from tests.support.micro_recipes import micro_recipe, write_audio_folder

from models import trainer
from models.data import CropBatches, resolve_data, scan
from models.distributed import DistInfo
from models.recipes import build_objective
from models.trainer import TrainSettings, fit_schedule, pretrain, time_steps


def test_fit_schedule_counts_steps_diagnostics_and_checkpoints():
    # 100 s budget, 90 s usable; 2 s diagnostics and 4 s checkpoints once each at the end;
    # a step costs 1 s + 2/10 + 4/20 = 1.4 s -> floor(84 / 1.4) = 60
    assert fit_schedule(100.0, 1.0, 2.0, 10, 4.0, 20, cap=1000) == 60
    assert fit_schedule(100.0, 1.0, 2.0, 10, 4.0, 20, cap=25) == 25  # never longer than asked
    assert fit_schedule(1.0, 5.0, 2.0, 10, 4.0, 20, cap=1000) == 0


def test_the_timing_probe_leaves_the_objective_untouched(tmp_path):
    files, _ = scan(resolve_data(str(write_audio_folder(tmp_path / "audio")))[0])
    recipe = micro_recipe("eat-tiny")
    torch.manual_seed(0)
    objective = build_objective(recipe, 10)
    before = {k: v.clone() for k, v in objective.state_dict().items()}
    batches = CropBatches(files, 2, objective.crop_samples(), 16000)
    seconds = time_steps(objective, recipe.optim, [batches[i] for i in range(3)], 1, torch.device("cpu"), DistInfo())
    assert seconds > 0
    assert all(torch.equal(before[k], v) for k, v in objective.state_dict().items())


@pytest.mark.parametrize("name", ["eat-tiny", "matpac-tiny"])
def test_a_budget_sizes_the_schedule_and_every_schedule_completes(name, tmp_path, monkeypatch):
    monkeypatch.setattr(trainer, "time_steps", lambda *args: 6.0)  # a step "takes" 6 s: ~8 fit in one minute
    monkeypatch.setattr(trainer, "REFIT_STEPS", 0)  # and the real pace is not measured (it is much faster)
    recipe = micro_recipe(name, steps=1000)
    result = pretrain(TrainSettings(recipe=recipe, data=str(write_audio_folder(tmp_path / "audio")),
                                    out=tmp_path / "run", max_minutes=1.0, workers=0, progress=False))
    total = json.loads((tmp_path / "run" / "run.json").read_text())["total_steps"]
    assert 4 <= total <= 9 and result.step == total
    log = (tmp_path / "run" / "train.log").read_text()
    assert f"schedule sized to the time budget: {total} steps (at most 1000)" in log and "stopped" not in log
    last = result.history[-1]
    assert last["step"] == total and last["lr"] < 0.05 * recipe.optim.lr + recipe.optim.final_lr  # cosine done
    assert result.objective.total_steps == total and result.objective.teacher.total_steps == total
    assert last["ema"] == pytest.approx(result.objective.teacher.schedule.at(total - 1, total))
    assert result.objective.teacher.decay(total) == result.objective.teacher.schedule.end  # EMA annealed to its end


def test_a_budget_too_small_for_one_step_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(trainer, "time_steps", lambda *args: 600.0)
    with pytest.raises(trainer.EarbenchError, match="no room for a step"):
        pretrain(TrainSettings(recipe=micro_recipe("eat-tiny"), data=str(write_audio_folder(tmp_path / "audio")),
                               out=tmp_path / "run", max_minutes=1.0, workers=0, progress=False))


def test_a_schedule_the_probe_overestimated_is_refitted_to_the_real_pace_and_completes(tmp_path, monkeypatch):
    """The probe times steps without data loading: slow loading (here 50 ms a batch) would cut the
    run mid-schedule, so the schedule is fitted again after REFIT_STEPS real steps."""
    import time
    monkeypatch.setattr(trainer, "time_steps", lambda *args: 0.001)  # the probe: 1000 steps fit easily
    slow = trainer.CropBatches.__getitem__
    monkeypatch.setattr(trainer.CropBatches, "__getitem__", lambda self, i: (time.sleep(0.05), slow(self, i))[1])
    recipe = micro_recipe("eat-tiny", steps=1000)
    result = pretrain(TrainSettings(recipe=recipe, data=str(write_audio_folder(tmp_path / "audio")),
                                    out=tmp_path / "run", max_minutes=0.15, workers=0, progress=False,
                                    save_every=10_000, diagnose_every=10_000))
    total = json.loads((tmp_path / "run" / "run.json").read_text())["total_steps"]
    log = (tmp_path / "run" / "train.log").read_text()
    assert "schedule sized to the time budget: 1000 steps" in log
    assert f"schedule re-fitted to the measured pace: {total} steps, not 1000" in log and "stopped" not in log
    assert trainer.REFIT_STEPS < total < 1000 and result.step == total
    last = result.history[-1]
    assert last["step"] == total and last["lr"] < 0.05 * recipe.optim.lr + recipe.optim.final_lr  # cosine done
    assert result.objective.total_steps == total and result.objective.teacher.decay(total) == \
        result.objective.teacher.schedule.end


def test_a_schedule_the_probe_underestimated_is_refitted_longer(tmp_path, monkeypatch):
    """A probe timed while the machine was busy sizes a short run; the real pace lengthens it
    (the fit replaced by a fixed answer per call: 8 steps from the probe, 26 more at the re-fit)."""
    calls = []

    def fit(budget_s, step_s, *args):
        calls.append(step_s)
        return 8 if len(calls) == 1 else 26

    monkeypatch.setattr(trainer, "fit_schedule", fit)
    monkeypatch.setattr(trainer, "time_steps", lambda *args: 0.5)  # the probe: a step "takes" 0.5 s
    recipe = micro_recipe("eat-tiny", steps=1000)
    result = pretrain(TrainSettings(recipe=recipe, data=str(write_audio_folder(tmp_path / "audio")),
                                    out=tmp_path / "run", max_minutes=2.0, workers=0, progress=False,
                                    save_every=10_000, diagnose_every=10_000))
    log = (tmp_path / "run" / "train.log").read_text()
    assert calls[0] == 0.5 and 0 < calls[1] < 0.5  # re-fitted at step 4 (half of 8) on the real pace
    assert "schedule re-fitted to the measured pace: 30 steps, not 8" in log and "stopped" not in log
    assert json.loads((tmp_path / "run" / "run.json").read_text())["total_steps"] == 30 == result.step
    last = result.history[-1]
    assert last["lr"] < 0.05 * recipe.optim.lr + recipe.optim.final_lr  # the longer cosine completed too
    assert result.objective.total_steps == 30
