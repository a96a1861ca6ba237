"""The converter reads tensors only: safetensors, or PyTorch files that `weights_only` loads;
a file that needs objects unpickled is refused in one line that says how to re-save it."""
from __future__ import annotations

import argparse

import pytest
import torch
from safetensors.torch import save_file

from models.checkpoint import CheckpointError
from models.convert.safe_load import read_state, resave_hint


def test_a_file_that_needs_unpickling_is_refused_with_the_resave_snippet(tmp_path):
    path = tmp_path / "checkpoint_best.pt"  # as fairseq saves: weights beside a config object
    torch.save({"model": {"w": torch.ones(2)}, "cfg": argparse.Namespace(lr=1.0)}, path)
    with pytest.raises(CheckpointError) as err:
        read_state(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: refused")
    assert "argparse.Namespace" in message and resave_hint(path) in message
    assert "save_file(" in message and "checkpoint_best.safetensors" in message


def test_the_resave_snippet_gives_a_file_that_reads(tmp_path):
    path = tmp_path / "ckpt.pt"
    torch.save({"model": {"w": torch.arange(3.0), "_ema": {"w": torch.zeros(3)}}, "cfg": argparse.Namespace()}, path)
    code = resave_hint(path).removeprefix('python -c "').removesuffix('"')
    exec(code, {})  # what the user runs, where they trust the file
    state = read_state(path.with_suffix(".safetensors"))
    assert list(state) == ["w"] and torch.equal(state["w"], torch.arange(3.0))


def test_state_dicts_and_nested_parts_read_as_tensors(tmp_path):
    torch.save({"model": {"a": torch.ones(1), "_ema": {"a": torch.zeros(1)}, "step": 3}}, tmp_path / "x.pth")
    assert sorted(read_state(tmp_path / "x.pth")) == ["_ema.a", "a"]
    save_file({"b": torch.ones(2)}, str(tmp_path / "y.safetensors"))
    assert list(read_state(tmp_path / "y.safetensors")) == ["b"]


def test_missing_corrupt_and_empty_files_are_named(tmp_path):
    with pytest.raises(CheckpointError, match="nope.pt: no such file"):
        read_state(tmp_path / "nope.pt")
    (tmp_path / "bad.safetensors").write_bytes(b"not really")
    with pytest.raises(CheckpointError, match="bad.safetensors: not a readable safetensors file"):
        read_state(tmp_path / "bad.safetensors")
    torch.save({"step": 1}, tmp_path / "empty.pt")
    with pytest.raises(CheckpointError, match="empty.pt: holds no tensors"):
        read_state(tmp_path / "empty.pt")
