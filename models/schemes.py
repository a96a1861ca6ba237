"""Upstream specs for trained checkpoints: `ckpt:PATH` and `hf:REPO[@REVISION]`.

`ckpt:PATH` takes a step folder (`model.safetensors` + `config.json`), one of those files,
or a run folder (its newest step). `hf:REPO` downloads such a folder from the Hugging Face
Hub with `huggingface_hub.snapshot_download` (only the two files are fetched); a REPO that
is an existing local folder is used as is. Every layer of the encoder is exposed.
"""
from __future__ import annotations

from pathlib import Path

import torch.nn as nn

from models.checkpoint import CONFIG, WEIGHTS, CheckpointError, load_encoder


def load_ckpt_upstream(path: str) -> nn.Module:
    if not path:
        raise CheckpointError("ckpt: needs a path, e.g. ckpt:runs/eat-tiny or ckpt:runs/eat-tiny/step-00000600")
    return load_encoder(path)


def load_hf_upstream(spec: str) -> nn.Module:
    local = Path(spec).expanduser()
    if spec and local.is_dir():
        return load_encoder(local)
    repo, _, revision = spec.partition("@")
    if not repo:
        raise CheckpointError("hf: needs a repository, e.g. hf:user/eat-tiny or hf:user/eat-tiny@main")
    from huggingface_hub import snapshot_download
    try:
        folder = snapshot_download(repo_id=repo, revision=revision or None, allow_patterns=[WEIGHTS, CONFIG])
    except Exception as err:  # noqa: BLE001 - network, auth and missing-repo errors all end here
        raise CheckpointError(f"hf:{spec}: cannot download from the Hugging Face Hub ({type(err).__name__}: {err})") from None
    return load_encoder(folder)
