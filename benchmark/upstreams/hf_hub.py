"""Fetching `hf:REPO[@REVISION]` folders from the Hugging Face Hub, or from its local cache.

Without the network (or with `HF_HUB_OFFLINE=1`, which `huggingface_hub` honours) a repo
that is not in the local cache fails at once, in one line that says how to fetch it ahead of
time; `huggingface_hub`'s own timeouts keep an unreachable Hub from hanging.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import huggingface_hub

from benchmark.errors import EarbenchError, UpstreamError

CONFIG = "config.json"
#: what a transformers audio encoder needs: configs (model, preprocessor, tokenizer), vocabularies, weights
TRANSFORMERS_FILES = ("*.json", "*.txt", "*.model", "*.safetensors")
PICKLED_WEIGHTS = "pytorch_model.bin"  # older repos ship only this; transformers reads it with weights_only


def split_spec(spec: str) -> tuple[str, str | None]:
    """`user/repo@rev` -> (`user/repo`, `rev`)."""
    repo, _, revision = spec.partition("@")
    return repo, revision or None


def fetch_failure(spec: str, err: Exception) -> str:
    """One line: which repo, why, and how to have it in the cache before running offline."""
    repo, revision = split_spec(spec)
    reason = (str(err).strip().splitlines() or [""])[0][:200]
    fetch = f"hf download {repo}" + (f" --revision {revision}" if revision else "")
    return (f"hf:{spec}: not in the local Hugging Face cache and not downloadable "
            f"({type(err).__name__}: {reason}); fetch it ahead of time with `{fetch}`")


def fetch_files(spec: str, patterns: list[str] | tuple[str, ...],
                error: type[EarbenchError] = UpstreamError) -> Path:
    """The repo's files matching `patterns`, as one local folder; a failure raises `error`."""
    repo, revision = split_spec(spec)
    try:
        folder = huggingface_hub.snapshot_download(repo_id=repo, revision=revision, allow_patterns=list(patterns))
    except Exception as err:  # noqa: BLE001 - offline, auth, missing repo and network errors all end here
        raise error(fetch_failure(spec, err)) from None
    return Path(folder)


def fetch_transformers_repo(spec: str) -> Path:
    """A transformers repo's configs, vocabularies and weights (safetensors; else the legacy pickle)."""
    folder = fetch_files(spec, TRANSFORMERS_FILES)
    if not any(folder.glob("*.safetensors")):
        folder = fetch_files(spec, (*TRANSFORMERS_FILES, PICKLED_WEIGHTS))
    return folder


def read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise UpstreamError(f"{path}: cannot read the model config ({err})") from None
    if not isinstance(config, dict):
        raise UpstreamError(f"{path}: expected a JSON object")
    return config
