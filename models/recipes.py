"""Pre-training recipes: objective + encoder + optimisation, in two sizes.

`*-base` follows each paper's configuration (ViT-B for the Transformers); `*-tiny` keeps
the objective and front end but shrinks width, depth, crop and batch so that a run trains
on a CPU in minutes (for tests, demos and smoke runs). EAT-, MATPAC- and Audio-MAE-tiny share
width and depth (192 x 4), so their pre-training costs compare directly.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from models.audiomae import AudioMAE, AudioMAEConfig
from models.byola import BYOLA, BYOLAConfig
from models.byola_cnn import BYOLA_FRONTEND, CNNConfig
from models.config import from_dict, to_dict
from models.eat import EAT, EATConfig
from models.frontends import FrontendConfig
from models.matpac import MATPAC, MATPACConfig
from models.objective import Objective
from models.schedules import Anneal
from models.spectrogram_vit import ViTConfig


@dataclass(frozen=True)
class OptimConfig:
    lr: float
    steps: int
    batch_size: int  # clips per optimizer step, over all processes and accumulation
    warmup_steps: int = 0
    final_lr: float = 0.0
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.05
    clip_grad: float | None = None


@dataclass(frozen=True)
class Recipe:
    name: str
    objective: str
    encoder: ViTConfig | CNNConfig
    params: EATConfig | MATPACConfig | AudioMAEConfig | BYOLAConfig
    optim: OptimConfig
    save_every: int = 1000
    log_every: int = 10
    stats_clips: int = 64  # crops used to estimate the normalisation statistics
    description: str = ""


#: objective name -> (class, its config class, encoder config class)
OBJECTIVES: dict[str, tuple[Callable[..., Objective], type, type]] = {
    "eat": (EAT, EATConfig, ViTConfig),
    "matpac": (MATPAC, MATPACConfig, ViTConfig),
    "audiomae": (AudioMAE, AudioMAEConfig, ViTConfig),
    "byola": (BYOLA, BYOLAConfig, CNNConfig),
}


def recipe_to_dict(recipe: Recipe) -> dict:
    return to_dict(recipe)


def recipe_from_dict(data: dict, where: str = "recipe") -> Recipe:
    data = dict(data)
    if data.get("objective") not in OBJECTIVES:
        raise ValueError(f"{where}: unknown objective {data.get('objective')!r}; known: {', '.join(OBJECTIVES)}")
    _, params_cls, encoder_cls = OBJECTIVES[data["objective"]]
    nested = {"encoder": from_dict(encoder_cls, data.pop("encoder", {}), f"{where}.encoder"),
              "params": from_dict(params_cls, data.pop("params", {}), f"{where}.params"),
              "optim": from_dict(OptimConfig, data.pop("optim", {}), f"{where}.optim")}
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(Recipe)})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}")
    return Recipe(**data, **nested)


def build_objective(recipe: Recipe, total_steps: int | None = None) -> Objective:
    cls, _, _ = OBJECTIVES[recipe.objective]
    return cls(recipe.encoder, recipe.params, total_steps or recipe.optim.steps)


# ---- front ends -------------------------------------------------------------------------
KALDI_128 = FrontendConfig(kind="kaldi", n_mels=128, win_ms=25.0, hop_ms=10.0, n_fft=512, f_min=20.0,
                           f_max=8000.0, norm_scale=2.0)  # AST / Audio-MAE / EAT
LOGMEL_80 = FrontendConfig(kind="logmel", n_mels=80, win_ms=25.0, hop_ms=10.0, n_fft=400, f_min=50.0,
                           f_max=8000.0)  # M2D / MATPAC

VIT_B = dict(dim=768, depth=12, heads=12)
VIT_TINY = dict(dim=192, depth=4, heads=3)
TINY_FRAMES = 256  # 2.56 s crops


def _tiny_optim(steps: int = 600, batch: int = 8, lr: float = 5e-4) -> OptimConfig:
    return OptimConfig(lr=lr, steps=steps, batch_size=batch, warmup_steps=steps // 10, weight_decay=0.05)


def _recipes() -> dict[str, Recipe]:
    r: dict[str, Recipe] = {}
    # EAT: 10 s Kaldi fbank, 128 bins; 16 clones, inverse block mask 0.8; Adam 5e-4, 400k updates.
    r["eat-base"] = Recipe(
        "eat-base", "eat", ViTConfig(KALDI_128, **VIT_B, max_frames=1024), EATConfig(),
        OptimConfig(lr=5e-4, steps=400_000, batch_size=48, warmup_steps=53_333, weight_decay=0.05),
        save_every=10_000, log_every=100,
        description="EAT (Chen et al. 2024): ViT-B/16 on 10 s 128-bin fbank, UFO loss, 16 clones, 400k x 48 clips")
    r["eat-tiny"] = Recipe(
        "eat-tiny", "eat", ViTConfig(KALDI_128, **VIT_TINY, max_frames=TINY_FRAMES),
        EATConfig(clones=4, mask_block=3, decoder_dim=192, decoder_layers=2, target_layers=4,
                  ema=Anneal(0.99, 0.999, 0, "linear")),
        _tiny_optim(), save_every=200,
        description="EAT objective on a 192x4 ViT, 2.56 s crops, 4 clones (CPU minutes)")
    # MATPAC: 6 s log-mel, 80 bins; random mask 0.7; M2D predictor; DINO head; Adam 3e-4, batch 2048.
    r["matpac-base"] = Recipe(
        "matpac-base", "matpac", ViTConfig(LOGMEL_80, **VIT_B, max_frames=608), MATPACConfig(),
        OptimConfig(lr=3e-4, steps=294_816, batch_size=2048, warmup_steps=19_654, weight_decay=0.05,
                    clip_grad=3.0),
        save_every=5_000, log_every=100,
        description="MATPAC (Quelennec et al. 2025): ViT-B/16 on 6 s 80-bin log-mel, 294,816 x 2048 clips")
    r["matpac-tiny"] = Recipe(
        "matpac-tiny", "matpac", ViTConfig(LOGMEL_80, **VIT_TINY, max_frames=TINY_FRAMES),
        MATPACConfig(predictor_dim=128, predictor_depth=2, predictor_heads=4, head_hidden=512,
                     head_bottleneck=128, classes=256, tau_teacher=Anneal(0.04, 0.07, 0, "linear", 0.1),
                     ema=Anneal(0.99, 0.999, 0, "linear"), head_ema=Anneal(0.99, 1.0, 0, "linear")),
        dataclasses.replace(_tiny_optim(), clip_grad=3.0), save_every=200,
        description="MATPAC objective on a 192x4 ViT, 2.56 s crops (CPU minutes)")
    # Audio-MAE: 10 s fbank, mask 0.8, decoder 16 x 512; AdamW blr 2e-4 x 512/256, wd 1e-4, 32 epochs of AS-2M.
    r["audiomae-base"] = Recipe(
        "audiomae-base", "audiomae", ViTConfig(KALDI_128, **VIT_B, max_frames=1024), AudioMAEConfig(),
        OptimConfig(lr=4e-4, steps=122_500, batch_size=512, warmup_steps=11_484, weight_decay=1e-4),
        save_every=5_000, log_every=100,
        description="Audio-MAE (Huang et al. 2022): ViT-B/16 on 10 s fbank, mask 0.8, 32 epochs x 512 clips")
    r["audiomae-tiny"] = Recipe(
        "audiomae-tiny", "audiomae", ViTConfig(KALDI_128, **VIT_TINY, max_frames=TINY_FRAMES),
        AudioMAEConfig(decoder_dim=128, decoder_depth=2, decoder_heads=4),
        _tiny_optim(), save_every=200,
        description="Audio-MAE objective on a 192x4 ViT, 2.56 s crops (CPU minutes)")
    # BYOL-A: ~1 s crops of 64-bin log-mel; AudioNTT2020 CNN, d = 2048; Adam 3e-4 constant, batch 256.
    r["byola-base"] = Recipe(
        "byola-base", "byola", CNNConfig(BYOLA_FRONTEND, dim=2048), BYOLAConfig(),
        OptimConfig(lr=3e-4, steps=781_250, batch_size=256, final_lr=3e-4, betas=(0.9, 0.999), weight_decay=0.0),
        save_every=10_000, log_every=100,
        description="BYOL-A (Niizumi et al. 2021): AudioNTT2020 CNN d=2048 on 0.96 s crops, 100 epochs x 256 clips")
    r["byola-tiny"] = Recipe(
        "byola-tiny", "byola", CNNConfig(BYOLA_FRONTEND, channels=32, dim=256),
        BYOLAConfig(projection_hidden=512, projection_dim=128),
        OptimConfig(lr=1e-3, steps=600, batch_size=32, final_lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0),
        save_every=200,
        description="BYOL-A objective on a 32-channel CNN, d=256 (CPU minutes)")
    return r


RECIPES: dict[str, Recipe] = _recipes()

# wav2vec 2.0, HuBERT, BEST-RQ, CLAP and SSM-MATPAC live in models/paradigms.py
from models import paradigms as _paradigms  # noqa: E402

OBJECTIVES.update(_paradigms.objectives())
RECIPES.update(_paradigms.recipes())

# Each recipe as a module attribute (`eat-tiny` -> `eat_tiny`): the targets of the
# `earbench.recipes` entry points in pyproject.toml, which `earbench list recipes` reads.
for _name, _recipe in RECIPES.items():
    globals()[_name.replace("-", "_")] = _recipe
del _name, _recipe
