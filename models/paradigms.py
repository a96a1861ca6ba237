"""Registration of the waveform, discrete-target, audio-text and state-space paradigms
(wav2vec 2.0, HuBERT, BEST-RQ, CLAP, SSM-MATPAC): their objectives and recipes for
`models.recipes`, their encoder kinds for `models.checkpoint` (so `ckpt:` loads them).

Kept out of `models/recipes.py` so that file only gains three lines; the functions import
lazily, so either module may be imported first.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import torch.nn as nn


def encoders() -> dict[str, tuple[type[nn.Module], type]]:
    from models.bestrq import FbankConformer, FbankConformerConfig
    from models.clap import CLAPModel, CLAPModelConfig
    from models.spectrogram_ssm import SpectrogramSSM, SSMConfig
    from models.waveform import WaveConfig, WaveformEncoder
    return {WaveformEncoder.kind: (WaveformEncoder, WaveConfig),
            FbankConformer.kind: (FbankConformer, FbankConformerConfig),
            SpectrogramSSM.kind: (SpectrogramSSM, SSMConfig),
            CLAPModel.kind: (CLAPModel, CLAPModelConfig)}


def objectives() -> dict[str, tuple[Callable, type, type]]:
    from models.bestrq import BESTRQ, BESTRQConfig, FbankConformerConfig
    from models.clap import CLAP, CLAPConfig, CLAPModelConfig
    from models.hubert import HuBERT, HuBERTConfig
    from models.matpac import MATPACConfig
    from models.spectrogram_ssm import SSMMATPAC, SSMConfig
    from models.wav2vec2 import Wav2Vec2, Wav2Vec2Config
    from models.waveform import WaveConfig
    return {"wav2vec2": (Wav2Vec2, Wav2Vec2Config, WaveConfig),
            "hubert": (HuBERT, HuBERTConfig, WaveConfig),
            "bestrq": (BESTRQ, BESTRQConfig, FbankConformerConfig),
            "clap": (CLAP, CLAPConfig, CLAPModelConfig),
            "ssm-matpac": (SSMMATPAC, MATPACConfig, SSMConfig)}


def recipes() -> dict:
    from models.bestrq import BESTRQConfig, FbankConformerConfig
    from models.clap import CLAPConfig, CLAPModelConfig, TextConfig
    from models.hubert import HuBERTConfig
    from models.recipes import LOGMEL_80, TINY_FRAMES, VIT_B, VIT_TINY, OptimConfig, Recipe, _recipes
    from models.spectrogram_ssm import SSMConfig
    from models.spectrogram_vit import ViTConfig
    from models.wav2vec2 import Wav2Vec2Config
    from models.waveform import WaveConfig

    spectro = _recipes()
    tiny_optim = spectro["matpac-tiny"].optim  # 600 steps x 8 clips, lr 5e-4, warm-up 60
    wave_tiny = WaveConfig(conv_channels=(128,) * 7, dim=192, depth=4, heads=3, pos_conv=33, pos_groups=8)
    wave_base = WaveConfig()  # 512-channel conv stack, 768 x 12 Transformer (wav2vec 2.0 / HuBERT Base)
    base_optim = OptimConfig(lr=5e-4, steps=400_000, batch_size=384, warmup_steps=32_000, betas=(0.9, 0.98),
                             weight_decay=0.01)
    r: dict[str, Recipe] = {}
    # wav2vec 2.0 Base: 15.6 s crops, p = 0.65 span 10, G=2 x V=320, K=100, 400k updates of ~1.6 h of audio.
    r["wav2vec2-base"] = Recipe(
        "wav2vec2-base", "wav2vec2", wave_base, Wav2Vec2Config(), base_optim, save_every=10_000, log_every=100,
        description="wav2vec 2.0 Base (Baevski et al. 2020): conv encoder + 768x12 Transformer, Gumbel G=2 x V=320, "
                    "K=100 same-utterance distractors, 400k x 384 crops of 15.6 s")
    r["wav2vec2-tiny"] = Recipe(
        "wav2vec2-tiny", "wav2vec2", wave_tiny,
        Wav2Vec2Config(crop_samples=32_000, negatives=50, entries=64, code_dim=128, final_dim=128,
                       temperature_decay=0.9977),  # 2 -> 0.5 within the 600 steps
        tiny_optim, save_every=200,
        description="wav2vec 2.0 objective on a 128-channel conv stack + 192x4 Transformer, 2 s crops (CPU minutes)")
    # HuBERT Base: iteration 1 on MFCC k-means (100), 250k steps; iteration 2 on layer 6 k-means (500), 400k.
    r["hubert-base"] = Recipe(
        "hubert-base", "hubert", wave_base, HuBERTConfig(),
        dataclasses.replace(base_optim, steps=250_000, batch_size=176, warmup_steps=20_000),
        save_every=10_000, log_every=100,
        description="HuBERT Base iteration 1 (Hsu et al. 2021): 100-cluster MFCC k-means targets, 250k x 176 crops")
    r["hubert-iter2-base"] = Recipe(
        "hubert-iter2-base", "hubert", wave_base,
        HuBERTConfig(clusters=500, target_encoder="runs/hubert-base", target_layer=6),
        dataclasses.replace(base_optim, batch_size=176), save_every=10_000, log_every=100,
        description="HuBERT Base iteration 2: 500-cluster k-means of layer 6 of runs/hubert-base, 400k x 176 crops")
    r["hubert-tiny"] = Recipe(
        "hubert-tiny", "hubert", wave_tiny,
        HuBERTConfig(crop_samples=32_000, clusters=50, final_dim=128, kmeans_iterations=20), tiny_optim,
        save_every=200,
        description="HuBERT iteration 1 (50-cluster MFCC k-means) on the wav2vec2-tiny encoder (CPU minutes)")
    r["hubert-iter2-tiny"] = Recipe(
        "hubert-iter2-tiny", "hubert", wave_tiny,
        HuBERTConfig(crop_samples=32_000, clusters=100, final_dim=128, kmeans_iterations=20,
                     target_encoder="runs/hubert-tiny", target_layer=3), tiny_optim, save_every=200,
        description="HuBERT iteration 2: 100-cluster k-means of layer 3 of runs/hubert-tiny (train hubert-tiny first)")
    # BEST-RQ: Conformer on 4-stacked 80-bin log-mel, frozen 16-d projection, 8192 codes, 400 ms spans.
    r["bestrq-base"] = Recipe(
        "bestrq-base", "bestrq",
        FbankConformerConfig(LOGMEL_80, **VIT_B), BESTRQConfig(),
        dataclasses.replace(base_optim, batch_size=256), save_every=10_000, log_every=100,
        description="BEST-RQ (Chiu et al. 2022) objective on a 768x12 Conformer (the paper's is 0.6B), 16 s crops; "
                    "optimisation as wav2vec2-base, not the paper's")
    r["bestrq-tiny"] = Recipe(
        "bestrq-tiny", "bestrq",
        FbankConformerConfig(LOGMEL_80, **VIT_TINY, conformer_kernel=15),
        BESTRQConfig(crop_frames=TINY_FRAMES, codebook=1024), tiny_optim, save_every=200,
        description="BEST-RQ on a 192x4 Conformer over 4-stacked log-mel, 1024 codes, 2.56 s crops (CPU minutes)")
    # SSM: MATPAC's objective and settings on the bidirectional-Mamba patch encoder (SSAMBA-style).
    matpac_base, matpac_tiny = spectro["matpac-base"], spectro["matpac-tiny"]
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
        CLAPModelConfig(ViTConfig(LOGMEL_80, **VIT_TINY, max_frames=TINY_FRAMES), TextConfig(), embed_dim=128),
        CLAPConfig(pairs="mini-retrieval", crop_frames=TINY_FRAMES),
        OptimConfig(lr=5e-4, steps=600, batch_size=16, warmup_steps=60, weight_decay=0.05), save_every=200,
        description="CLAP-style audio-text on a 192x4 ViT + 128x2 byte-level text Transformer, pairs from "
                    "params.pairs (default mini-retrieval; CPU minutes)")
    return r
