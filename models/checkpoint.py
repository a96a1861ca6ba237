"""Checkpoints as safetensors + JSON, never pickles; a checkpoint directory is an upstream.

A run directory holds one folder per saved step:

    step-00001000/
      model.safetensors        the encoder's weights (what `ckpt:` / `hf:` load)
      config.json              how to build the encoder, the recipe, the step, a sha256 of the weights
      train_state.safetensors  everything the run trains or tracks (teachers, heads, decoders) + optimizer tensors
      train_state.json         step, schedule length, full recipe, optimizer hyper-parameters

Each folder is written under a temporary name and published whole when complete
(`benchmark.storage.atomic_dir`), so a crash never leaves a half checkpoint. A checkpoint for sharing needs only the first two files.
Every failure to read one is a `CheckpointError` naming the file.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from benchmark.errors import EarbenchError
from benchmark.registry import Registry
from benchmark.storage import atomic_dir
from benchmark.upstream import fingerprint
from models.config import from_dict

FORMAT = "earbench-encoder"
FORMAT_VERSION = 1
INIT = "init"  # a run's random-initialisation folder, written before step 1 (`ckpt:RUN/init`)
WEIGHTS, CONFIG = "model.safetensors", "config.json"
TRAIN_WEIGHTS, TRAIN_CONFIG = "train_state.safetensors", "train_state.json"
STEP_DIR = re.compile(r"^step-(\d+)$")

#: encoder kind (config["encoder"]["kind"], the class's `kind`) -> module class, built from its `config_class`
ENCODERS: Registry[type[nn.Module]] = Registry("encoder kind")
ENCODERS.register_lazy("spectrogram-vit", "models.spectrogram_vit:SpectrogramViT")
ENCODERS.register_lazy("byola-cnn", "models.byola_cnn:BYOLACNN")
ENCODERS.register_lazy("waveform", "models.waveform:WaveformEncoder")
ENCODERS.register_lazy("fbank-conformer", "models.bestrq:FbankConformer")
ENCODERS.register_lazy("spectrogram-ssm", "models.spectrogram_ssm:SpectrogramSSM")
ENCODERS.register_lazy("clap", "models.clap:CLAPModel")


class CheckpointError(EarbenchError):
    """A checkpoint is missing, corrupt or does not match its configuration."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def step_dir_name(step: int) -> str:
    return f"step-{step:08d}"


def build_encoder(config: dict, where: str = CONFIG) -> nn.Module:
    config = dict(config)
    kind = config.pop("kind", None)
    if kind not in ENCODERS:
        raise CheckpointError(f"{where}: unknown encoder kind {kind!r}; known: {', '.join(ENCODERS)}")
    cls = ENCODERS.get(kind)
    try:
        return cls(from_dict(cls.config_class, config, f"{where}: encoder"))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{where}: invalid encoder configuration: {err}") from None


# ---- writing ------------------------------------------------------------------------------
def _tensors(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state as safetensors-ready tensors plus a JSON-ready remainder."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, entry in sd["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def write_encoder(folder: Path, encoder: nn.Module, extra: dict[str, Any]) -> None:
    """`model.safetensors` + `config.json` into an existing folder: all an upstream needs."""
    save_file(_tensors(encoder.state_dict()), str(folder / WEIGHTS))
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, "encoder": encoder.config, **extra,
              "weights_sha256": sha256_file(folder / WEIGHTS), "fingerprint": fingerprint(encoder),
              "torch": torch.__version__}
    (folder / CONFIG).write_text(json.dumps(config, indent=2) + "\n")


def save_encoder(folder: Path, encoder: nn.Module, extra: dict[str, Any]) -> Path:
    """Write an encoder-only checkpoint folder atomically (e.g. a run's random initialisation)."""
    with atomic_dir(folder) as staged:
        write_encoder(staged, encoder, extra)
    return Path(folder)


def save_checkpoint(run_dir: Path, step: int, encoder: nn.Module, objective: nn.Module,
                    optimizer: torch.optim.Optimizer, train_info: dict[str, Any],
                    encoder_info: dict[str, Any] | None = None) -> Path:
    """Write `run_dir/step-XXXXXXXX/` atomically and return it.

    `encoder_info` goes into `config.json` too (the trainer's display name and pre-training
    compute: see `pretraining_facts`)."""
    final = Path(run_dir) / step_dir_name(step)
    with atomic_dir(final) as staged:
        write_encoder(staged, encoder, {"step": step, "recipe": train_info.get("recipe", {}).get("name"),
                                        **(encoder_info or {})})
        opt_tensors, opt_rest = optimizer_tensors(optimizer)
        state = {f"objective.{k}": v for k, v in objective.state_dict().items()} | opt_tensors
        save_file(_tensors(state), str(staged / TRAIN_WEIGHTS))
        info = {**train_info, "step": step, "optimizer": opt_rest,
                "train_state_sha256": sha256_file(staged / TRAIN_WEIGHTS)}
        (staged / TRAIN_CONFIG).write_text(json.dumps(info, indent=2, default=str) + "\n")
    return final


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    """Delete all but the `keep` newest step folders (keep <= 0 keeps everything)."""
    if keep <= 0:
        return
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


# ---- reading ------------------------------------------------------------------------------
def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete step folders of a run, oldest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in run_dir.iterdir()
             if p.is_dir() and (m := STEP_DIR.match(p.name)) and (p / WEIGHTS).exists() and (p / CONFIG).exists()]
    return [p for _, p in sorted(found)]


def resolve_checkpoint(path: str | Path) -> Path:
    """A step folder from a step folder, a run folder (its newest step), or a weights/config file."""
    p = Path(path).expanduser()
    if p.is_file():
        p = p.parent
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint (expected a folder with {WEIGHTS} and {CONFIG})")
    if (p / CONFIG).exists() or (p / WEIGHTS).exists():
        return p
    steps = list_checkpoints(p)
    if not steps:
        raise CheckpointError(f"{p}: neither a checkpoint ({WEIGHTS} + {CONFIG}) nor a run folder with step-* checkpoints")
    return steps[-1]


def read_json(path: Path) -> dict:
    if not path.exists():
        raise CheckpointError(f"{path}: missing (a checkpoint needs {WEIGHTS} and {CONFIG})")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: corrupt JSON ({err})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return data


def read_tensors(path: Path, expected_sha256: str | None = None) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise CheckpointError(f"{path}: missing")
    if expected_sha256 and sha256_file(path) != expected_sha256:
        raise CheckpointError(f"{path}: corrupt (sha256 differs from the one recorded at save time)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file ({err})") from None


def load_state(module: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """`load_state_dict(strict=True)` with one clear error naming the file and the mismatch."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in sorted(set(own) & set(state)) if tuple(own[k].shape) != tuple(state[k].shape)]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensor(s) e.g. {missing[:3]}")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} tensor(s) e.g. {unexpected[:3]}")
    if shapes:
        problems.append(f"{len(shapes)} shape mismatch(es) e.g. {shapes[:3]}")
    if problems:
        raise CheckpointError(f"{path}: does not match its configuration: " + "; ".join(problems))
    module.load_state_dict(state, strict=True)


def load_encoder(path: str | Path) -> nn.Module:
    """The encoder (an upstream, in eval mode) saved in a checkpoint folder or run folder."""
    folder = resolve_checkpoint(path)
    config = read_json(folder / CONFIG)
    if config.get("format") != FORMAT:
        raise CheckpointError(f"{folder / CONFIG}: not an earbench encoder config (format {config.get('format')!r})")
    if int(config.get("format_version", 0)) > FORMAT_VERSION:
        raise CheckpointError(f"{folder / CONFIG}: format version {config['format_version']} is newer than "
                              f"this earbench reads ({FORMAT_VERSION})")
    encoder = build_encoder(config.get("encoder", {}), str(folder / CONFIG))
    load_state(encoder, read_tensors(folder / WEIGHTS, config.get("weights_sha256")), folder / WEIGHTS)
    encoder.checkpoint_step = config.get("step")
    # how results name it, and what its pre-training cost (result records' `upstream.pretraining`)
    encoder.earbench_name = checkpoint_name(config)
    encoder.pretraining = checkpoint_pretraining(folder, config)
    return encoder.eval()


def checkpoint_name(config: dict[str, Any]) -> str | None:
    """The display name of a checkpoint: config.json's `name` (the trainer writes the recipe's
    name, and `RECIPE@init` for a run's random initialisation); older checkpoints: from `recipe`."""
    name = config.get("name")
    if isinstance(name, str) and name:
        return name
    recipe = config.get("recipe")
    if not isinstance(recipe, str) or not recipe:
        return None
    return f"{recipe}@init" if config.get("init") else recipe


def pretraining_facts(recipe: str, step: int, batch_size: int, wall_seconds: float, device: str, data: str,
                      world_size: int = 1, init: bool = False) -> dict[str, Any]:
    """Pre-training compute of a checkpoint, as result records carry it (`upstream.pretraining`):
    optimizer steps, clips seen (`samples` = steps x batch), wall-clock seconds, device, recipe, data."""
    return {"recipe": recipe, "steps": int(step), "samples": int(step) * int(batch_size),
            "batch_size": int(batch_size), "wall_seconds": round(float(wall_seconds), 3), "device": str(device),
            "world_size": int(world_size), "data": str(data), **({"init": True} if init else {})}


def checkpoint_pretraining(folder: Path, config: dict[str, Any]) -> dict[str, Any] | None:
    """config.json's `pretraining`; for checkpoints written before it was recorded, rebuilt from
    the step folder's train_state.json (steps, batch, this session's wall time, device, data)."""
    facts = config.get("pretraining")
    if isinstance(facts, dict):
        return facts
    if config.get("init"):
        return pretraining_facts(str(config.get("recipe")), 0, 0, 0.0, "none", "none", init=True)
    state = folder / TRAIN_CONFIG
    if not state.exists():
        return None
    try:
        info = json.loads(state.read_text())
        return pretraining_facts(info["recipe"]["name"], info["step"], info["batch_size"], info.get("elapsed_s", 0.0),
                                 info.get("device", "unknown"), info.get("data", "unknown"), info.get("world_size", 1))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_train_state(folder: Path, objective: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore a run's objective and optimizer from `folder`; returns train_state.json."""
    info = read_json(folder / TRAIN_CONFIG)
    tensors = read_tensors(folder / TRAIN_WEIGHTS, info.get("train_state_sha256"))
    objective_state = {k[len("objective."):]: v for k, v in tensors.items() if k.startswith("objective.")}
    load_state(objective, objective_state, folder / TRAIN_WEIGHTS)
    opt = info.get("optimizer", {})
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for key, value in opt.get("scalars", {}).items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    try:
        optimizer.load_state_dict({"state": state, "param_groups": opt["param_groups"]})
    except (KeyError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{folder / TRAIN_CONFIG}: optimizer state does not match this recipe ({err})") from None
    return info
