"""Pre-training recipes: objective + encoder + optimisation, in two sizes.

`*-base` follows each paper's configuration (ViT-B for the Transformers); `*-tiny` keeps
the objective and front end but shrinks width, depth, crop and batch so that a run trains
on a CPU in minutes (for tests, demos and smoke runs). EAT-, MATPAC- and Audio-MAE-tiny share
width and depth (192 x 4), so their pre-training costs compare directly.

The objectives are a registry of classes, imported when a recipe first needs one; each class
names the dataclasses of its encoder and its parameters, so a stored recipe rebuilds exactly.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from benchmark.registry import Registry
from models.audiomae import AudioMAEConfig
from models.bestrq import BESTRQConfig, FbankConformerConfig
from models.byola import BYOLAConfig
from models.byola_cnn import BYOLA_FRONTEND, CNNConfig
from models.clap import CLAPConfig, CLAPModelConfig, TextConfig
from models.config import from_dict, to_dict
from models.eat import EATConfig
from models.frontends import FrontendConfig
from models.hubert import HuBERTConfig
from models.matpac import MATPACConfig
from models.objective import Objective
from models.schedules import Anneal
from models.spectrogram_ssm import SSMConfig
from models.spectrogram_vit import ViTConfig
from models.wav2vec2 import Wav2Vec2Config
from models.waveform import WaveConfig


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
    encoder: Any  # the objective's `encoder_config_class`
    params: Any  # the objective's `config_class`
    optim: OptimConfig
    save_every: int = 1000
    log_every: int = 10
    stats_clips: int = 64  # crops used to estimate the normalisation statistics
    description: str = ""


#: objective name (a recipe's `objective`) -> its class
OBJECTIVES: Registry[type[Objective]] = Registry("objective")
OBJECTIVES.register_lazy("eat", "models.eat:EAT")
OBJECTIVES.register_lazy("matpac", "models.matpac:MATPAC")
OBJECTIVES.register_lazy("audiomae", "models.audiomae:AudioMAE")
OBJECTIVES.register_lazy("byola", "models.byola:BYOLA")
OBJECTIVES.register_lazy("wav2vec2", "models.wav2vec2:Wav2Vec2")
OBJECTIVES.register_lazy("hubert", "models.hubert:HuBERT")
OBJECTIVES.register_lazy("bestrq", "models.bestrq:BESTRQ")
OBJECTIVES.register_lazy("clap", "models.clap:CLAP")
OBJECTIVES.register_lazy("ssm-matpac", "models.spectrogram_ssm:SSMMATPAC")


def recipe_to_dict(recipe: Recipe) -> dict:
    return to_dict(recipe)


def recipe_from_dict(data: dict, where: str = "recipe") -> Recipe:
    data = dict(data)
    if data.get("objective") not in OBJECTIVES:
        raise ValueError(f"{where}: unknown objective {data.get('objective')!r}; known: {', '.join(OBJECTIVES)}")
    objective = OBJECTIVES.get(data["objective"])
    nested = {"encoder": from_dict(objective.encoder_config_class, data.pop("encoder", {}), f"{where}.encoder"),
              "params": from_dict(objective.config_class, data.pop("params", {}), f"{where}.params"),
              "optim": from_dict(OptimConfig, data.pop("optim", {}), f"{where}.optim")}
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(Recipe)})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}")
    return Recipe(**data, **nested)


def build_objective(recipe: Recipe, total_steps: int | None = None) -> Objective:
    return OBJECTIVES.get(recipe.objective)(recipe.encoder, recipe.params, total_steps or recipe.optim.steps)


# ---- front ends -------------------------------------------------------------------------
KALDI_128 = FrontendConfig(kind="kaldi", n_mels=128, win_ms=25.0, hop_ms=10.0, n_fft=512, f_min=20.0,
                           f_max=8000.0, norm_scale=2.0)  # AST / Audio-MAE / EAT
LOGMEL_80 = FrontendConfig(kind="logmel", n_mels=80, win_ms=25.0, hop_ms=10.0, n_fft=400, f_min=50.0,
                           f_max=8000.0)  # M2D / MATPAC
LOGMEL_80_PER_BIN = dataclasses.replace(LOGMEL_80, per_feature=True)  # BEST-RQ: normalised per mel bin

VIT_B = dict(dim=768, depth=12, heads=12)
VIT_TINY = dict(dim=192, depth=4, heads=3)
TINY_FRAMES = 256  # 2.56 s crops


def _tiny_optim(steps: int = 600, batch: int = 8, lr: float = 5e-4) -> OptimConfig:
    return OptimConfig(lr=lr, steps=steps, batch_size=batch, warmup_steps=steps // 10, weight_decay=0.05)


def _recipes() -> dict[str, Recipe]:
    r: dict[str, Recipe] = {}
    # EAT: 10 s Kaldi fbank, 128 bins; 16 clones, inverse block mask 0.8; Adam 5e-4, 400k updates, clip_norm 4.
    r["eat-base"] = Recipe(
        "eat-base", "eat", ViTConfig(KALDI_128, **VIT_B, max_frames=1024, norm="post"), EATConfig(),
        OptimConfig(lr=5e-4, steps=400_000, batch_size=48, warmup_steps=53_333, weight_decay=0.05, clip_grad=4.0),
        save_every=10_000, log_every=100,
        description="EAT (Chen et al. 2024): ViT-B/16 on 10 s 128-bin fbank, UFO loss, 16 clones, 400k x 48 clips")
    r["eat-tiny"] = Recipe(
        "eat-tiny", "eat", ViTConfig(KALDI_128, **VIT_TINY, max_frames=TINY_FRAMES, norm="post"),
        EATConfig(clones=4, mask_block=3, decoder_dim=192, decoder_layers=2, target_layers=4,
                  ema=Anneal(0.99, 0.999, 0, "linear")),
        dataclasses.replace(_tiny_optim(), clip_grad=4.0), save_every=200,
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
    # wav2vec 2.0, HuBERT, BEST-RQ, SSM-MATPAC and CLAP: tiny ones train as matpac-tiny does
    tiny_optim = r["matpac-tiny"].optim  # 600 steps x 8 clips, lr 5e-4, warm-up 60, clip 3.0
    wave_tiny = WaveConfig(conv_channels=(128,) * 7, dim=192, depth=4, heads=3, pos_conv=33, pos_groups=8)
    wave_base = WaveConfig()  # 512-channel conv stack, 768 x 12 Transformer (wav2vec 2.0 / HuBERT Base)
    base_optim = OptimConfig(lr=5e-4, steps=400_000, batch_size=384, warmup_steps=32_000, betas=(0.9, 0.98),
                             weight_decay=0.01)
    # wav2vec 2.0 Base: 15.6 s crops, p = 0.65 span 10, G=2 x V=320, K=100, 400k updates of ~1.6 h of audio.
    r["wav2vec2-base"] = Recipe(
        "wav2vec2-base", "wav2vec2", wave_base, Wav2Vec2Config(), base_optim, save_every=10_000, log_every=100,
        description="wav2vec 2.0 Base (Baevski et al. 2020): conv encoder + 768x12 Transformer, Gumbel G=2 x V=320, "
                    "K=100 same-utterance distractors, 400k x 384 crops of 15.6 s")
    r["wav2vec2-tiny"] = Recipe(
        "wav2vec2-tiny", "wav2vec2", wave_tiny,
        Wav2Vec2Config(crop_samples=32_000, negatives=50, entries=64, code_dim=128, final_dim=128,
                       temperature_fraction=0.7),  # 2 -> 0.5 over 70% of the run, as Base's decay over 400k
        # lr 1e-4, not Base's 5e-4: a batch of 8 x 2 s is 1/360 of Base's ~1.6 h, and at 5e-4 the context
        # network's clip embeddings collapse within 100 steps (spread / 13, mean cosine 0.9998); at 1e-4
        # they keep their spread and the codebook two thirds of its codes (tests/models/test_paper_details.py)
        dataclasses.replace(tiny_optim, lr=1e-4), save_every=200,
        description="wav2vec 2.0 objective on a 128-channel conv stack + 192x4 Transformer, 2 s crops (CPU minutes)")
    # HuBERT Base: iteration 1 on MFCC k-means (100), 250k steps; iteration 2 on layer 6 k-means (500), 400k.
    r["hubert-base"] = Recipe(
        "hubert-base", "hubert", wave_base, HuBERTConfig(),
        dataclasses.replace(base_optim, steps=250_000, batch_size=176, warmup_steps=20_000, clip_grad=10.0),
        save_every=10_000, log_every=100,
        description="HuBERT Base iteration 1 (Hsu et al. 2021): 100-cluster MFCC k-means targets, 250k x 176 crops")
    r["hubert-iter2-base"] = Recipe(
        "hubert-iter2-base", "hubert", wave_base,
        HuBERTConfig(clusters=500, target_encoder="runs/hubert-base", target_layer=6),
        dataclasses.replace(base_optim, batch_size=176, clip_grad=10.0), save_every=10_000, log_every=100,
        description="HuBERT Base iteration 2: 500-cluster k-means of layer 6 of runs/hubert-base, 400k x 176 crops")
    r["hubert-tiny"] = Recipe(
        "hubert-tiny", "hubert", wave_tiny,
        HuBERTConfig(crop_samples=32_000, clusters=50, final_dim=128, kmeans_iterations=20, kmeans_frames=50_000),
        tiny_optim,
        save_every=200,
        description="HuBERT iteration 1 (50-cluster MFCC k-means) on the wav2vec2-tiny encoder (CPU minutes)")
    r["hubert-iter2-tiny"] = Recipe(
        "hubert-iter2-tiny", "hubert", wave_tiny,
        HuBERTConfig(crop_samples=32_000, clusters=100, final_dim=128, kmeans_iterations=20, kmeans_frames=50_000,
                     target_encoder="runs/hubert-tiny", target_layer=3), tiny_optim, save_every=200,
        description="HuBERT iteration 2: 100-cluster k-means of layer 3 of runs/hubert-tiny (train hubert-tiny first)")
    # BEST-RQ: Conformer on 4-stacked 80-bin log-mel, frozen 16-d projection, 8192 codes, 400 ms spans.
    r["bestrq-base"] = Recipe(
        "bestrq-base", "bestrq",
        FbankConformerConfig(LOGMEL_80_PER_BIN, **VIT_B), BESTRQConfig(),
        dataclasses.replace(base_optim, batch_size=256), save_every=10_000, log_every=100,
        description="BEST-RQ (Chiu et al. 2022) objective on a 768x12 Conformer (the paper's is 0.6B), 16 s crops; "
                    "optimisation as wav2vec2-base, not the paper's")
    r["bestrq-tiny"] = Recipe(
        "bestrq-tiny", "bestrq",
        FbankConformerConfig(LOGMEL_80_PER_BIN, **VIT_TINY, conformer_kernel=15),
        BESTRQConfig(crop_frames=TINY_FRAMES, codebook=1024), tiny_optim, save_every=200,
        description="BEST-RQ on a 192x4 Conformer over 4-stacked log-mel, 1024 codes, 2.56 s crops (CPU minutes)")
    # SSM: MATPAC's objective and settings on the bidirectional-Mamba patch encoder (SSAMBA-style).
    matpac_base, matpac_tiny = r["matpac-base"], r["matpac-tiny"]
    r["ssm-matpac-base"] = Recipe(
        "ssm-matpac-base", "ssm-matpac", SSMConfig(LOGMEL_80, **VIT_B, max_frames=608), matpac_base.params,
        matpac_base.optim, save_every=5_000, log_every=100,
        description="MATPAC objective on a 768x12 bidirectional-Mamba patch encoder (SSAMBA-style), as matpac-base")
    r["ssm-matpac-tiny"] = Recipe(
        "ssm-matpac-tiny", "ssm-matpac", SSMConfig(LOGMEL_80, **VIT_TINY, max_frames=TINY_FRAMES),
        matpac_tiny.params, matpac_tiny.optim, save_every=200,
        description="MATPAC objective on a 192x4 bidirectional-Mamba patch encoder: matpac-tiny with SSM blocks")
    # CLAP: spectrogram ViT audio tower + byte-level text Transformer from scratch, symmetric InfoNCE.
    r["clap-base"] = Recipe(
        "clap-base", "clap",
        CLAPModelConfig(ViTConfig(LOGMEL_80, **VIT_B, max_frames=1000), TextConfig(dim=512, depth=12, heads=8),
                        embed_dim=512),
        CLAPConfig(pairs="mini-retrieval", crop_frames=1000),
        OptimConfig(lr=1e-4, steps=100_000, batch_size=256, warmup_steps=2_000, betas=(0.9, 0.99), weight_decay=0.1),
        save_every=5_000, log_every=100,
        description="CLAP-style (Elizalde et al. 2023, from scratch): ViT-B audio tower, 512x12 text Transformer, "
                    "symmetric InfoNCE on (10 s clip, caption) pairs of params.pairs")
    r["clap-tiny"] = Recipe(
        "clap-tiny", "clap",
        CLAPModelConfig(ViTConfig(LOGMEL_80, **VIT_TINY, max_frames=800), TextConfig(), embed_dim=128),
        CLAPConfig(pairs="mini-retrieval", crop_frames=798),  # whole 8 s clips of mini-retrieval
        OptimConfig(lr=5e-4, steps=600, batch_size=16, warmup_steps=60, weight_decay=0.05), save_every=200,
        description="CLAP-style audio-text on a 192x4 ViT + 128x2 byte-level text Transformer, pairs from "
                    "params.pairs (default mini-retrieval; CPU minutes)")
    return r


#: recipe name -> recipe: the `earbench.recipes` table that models/plugin.py declares
RECIPES: dict[str, Recipe] = _recipes()
