"""DDP on two CPU processes (gloo): after training, both ranks hold the same parameters.

Marked slow: starting two processes that import torch takes 20-30 s on a shared 2-core
machine. Run with `make test-slow` (or `pytest -m slow tests/models/test_ddp.py`).
"""
from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file
from tests.support.micro_recipes import micro_recipe, write_audio_folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, name: str, data: str, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from models.trainer import TrainSettings, pretrain
    result = pretrain(TrainSettings(recipe=micro_recipe(name, steps=1), data=data, out=out, workers=0,
                                    progress=False, device="cpu"))
    state = {k: v.contiguous() for k, v in result.objective.state_dict().items()}
    state["_first_loss"] = torch.tensor([result.history[0]["loss"]])
    save_file(state, os.path.join(out, f"rank{rank}.safetensors"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["matpac-tiny", "byola-tiny"])
def test_two_cpu_processes_end_with_equal_parameters(name, tmp_path):
    data = write_audio_folder(tmp_path / "audio")
    out = tmp_path / "run"
    mp.spawn(_worker, args=(2, _free_port(), name, str(data), str(out)), nprocs=2, join=True)
    a, b = load_file(str(out / "rank0.safetensors")), load_file(str(out / "rank1.safetensors"))
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different[:5]
    assert sorted(p.name for p in out.glob("step-*")) == ["step-00000001"]  # written once, by rank 0
    from models.checkpoint import load_encoder
    encoder = load_encoder(out)
    assert all(torch.equal(v, a[f"encoder.{k}"]) for k, v in encoder.state_dict().items())
    # the model moved: the step changed the parameters from their (seeded) initial values
    init = load_encoder(out / "init").state_dict()
    assert any(not torch.equal(v, a[f"encoder.{k}"]) for k, v in init.items() if v.is_floating_point())
