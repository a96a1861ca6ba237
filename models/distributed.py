"""DDP set-up when launched by `torchrun` (or any launcher that sets RANK / WORLD_SIZE).

NCCL on CUDA, gloo on CPU (which is how the tests run two processes on one machine).
Without those variables the run is a single process and nothing here does anything.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    created: bool = False  # whether we initialised the process group (and so must destroy it)

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(device: torch.device) -> DistInfo:
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", 0))
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
    return DistInfo(rank, world, local, created=True)


def default_device(local_rank: int) -> torch.device:
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def mean_across(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.world > 1:
        values = values.clone()
        dist.all_reduce(values)
        values /= info.world
    return values


def any_across(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True on every rank if it is True on any (used to stop all ranks at the same step)."""
    if info.world == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


@torch.no_grad()
def average_buffers(module: torch.nn.Module, info: DistInfo) -> None:
    """Average floating-point buffers (BatchNorm running statistics) over ranks.

    DDP broadcasts rank 0's buffers before each forward, so after the last forward every rank
    holds statistics of its own batches only; averaging them before a checkpoint makes the
    ranks agree and the saved estimate use every rank's data.
    """
    if info.world == 1:
        return
    for buffer in module.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer)
            buffer /= info.world


def barrier(info: DistInfo) -> None:
    if info.world > 1:
        dist.barrier()


def teardown(info: DistInfo) -> None:
    if info.created and dist.is_initialized():
        dist.destroy_process_group()
