"""Official EAT and MATPAC state dicts (the authors' key names and shapes, random values, tiny
widths) and their forwards re-written from the official code's equations, independently of
earbench's modules: what the converters are checked against.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import torchaudio
from torchaudio.compliance import kaldi

PATCH = 16


def randn(gen: torch.Generator, *shape: int, scale: float = 0.2) -> torch.Tensor:
    return torch.randn(*shape, generator=gen) * scale


def timm_block(gen: torch.Generator, prefix: str, dim: int, ratio: int = 4) -> dict[str, torch.Tensor]:
    """A timm `Block` / data2vec 2.0 `AltBlock`: norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2."""
    hidden = dim * ratio
    return {f"{prefix}norm1.weight": 1 + randn(gen, dim), f"{prefix}norm1.bias": randn(gen, dim),
            f"{prefix}attn.qkv.weight": randn(gen, 3 * dim, dim) / math.sqrt(dim) * 5,
            f"{prefix}attn.qkv.bias": randn(gen, 3 * dim),
            f"{prefix}attn.proj.weight": randn(gen, dim, dim) / math.sqrt(dim) * 5,
            f"{prefix}attn.proj.bias": randn(gen, dim),
            f"{prefix}norm2.weight": 1 + randn(gen, dim), f"{prefix}norm2.bias": randn(gen, dim),
            f"{prefix}mlp.fc1.weight": randn(gen, hidden, dim) / math.sqrt(dim) * 5,
            f"{prefix}mlp.fc1.bias": randn(gen, hidden),
            f"{prefix}mlp.fc2.weight": randn(gen, dim, hidden) / math.sqrt(hidden) * 5,
            f"{prefix}mlp.fc2.bias": randn(gen, dim)}


def sincos_1d(dim: int, pos: torch.Tensor) -> torch.Tensor:
    """MAE's get_1d_sincos_pos_embed_from_grid."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0))
    out = pos.reshape(-1).double()[:, None] * omega[None, :]
    return torch.cat([out.sin(), out.cos()], 1)


def sincos_2d(dim: int, rows: int, cols: int) -> torch.Tensor:
    """MAE's get_2d_sincos_pos_embed(_flexible) on a (rows, cols) grid, row-major: the first half
    of the width encodes the column, the second the row (its meshgrid puts w first)."""
    w, h = torch.meshgrid(torch.arange(cols), torch.arange(rows), indexing="xy")
    return torch.cat([sincos_1d(dim // 2, w), sincos_1d(dim // 2, h)], 1).float()


# ---- EAT ------------------------------------------------------------------------------------
EAT_MELS, EAT_MAX_LENGTH = 128, 768  # D2vImageConfig: 128 mel bins, max_length 768 time patches


def eat_state(dim: int, depth: int, layout: str = "fairseq", seed: int = 0, decoder_layers: int = 2) -> dict:
    """A Data2VecMultiModel (fairseq) or EATModel (Hugging Face) state dict as the authors' code names it."""
    gen = torch.Generator().manual_seed(seed)
    freq = EAT_MELS // PATCH
    positions = sincos_2d(dim, EAT_MAX_LENGTH, freq)[None]  # time rows, freq columns
    enc = {"local_encoder.proj.weight": randn(gen, dim, 1, PATCH, PATCH, scale=0.05),
           "local_encoder.proj.bias": randn(gen, dim),
           "fixed_positional_encoder.positions": positions,
           "extra_tokens": randn(gen, 1, 1, dim, scale=1.0)}
    norm = {"weight": 1 + randn(gen, dim), "bias": randn(gen, dim)}
    blocks = {}
    for i in range(depth):
        blocks |= timm_block(gen, f"blocks.{i}.", dim)
    if layout == "huggingface":
        state = {f"model.{k}": v for k, v in enc.items()} | {f"model.pre_norm.{k}": v for k, v in norm.items()}
        return state | {f"model.{k}": v for k, v in blocks.items()}
    state = {f"modality_encoders.IMAGE.{k}": v for k, v in enc.items()}
    state |= {f"modality_encoders.IMAGE.context_encoder.norm.{k}": v for k, v in norm.items()}
    for j in range(decoder_layers):  # Decoder2d: grouped conv (16 groups) + non-affine LayerNorm
        state[f"modality_encoders.IMAGE.decoder.blocks.{j}.0.weight"] = randn(gen, dim, dim // 16, 3, 3)
        state[f"modality_encoders.IMAGE.decoder.blocks.{j}.0.bias"] = randn(gen, dim)
    state["modality_encoders.IMAGE.decoder.proj.weight"] = randn(gen, dim, dim)
    state["modality_encoders.IMAGE.decoder.proj.bias"] = randn(gen, dim)
    return state | blocks


def eat_fbank(wave: torch.Tensor) -> torch.Tensor:
    """feature_extract.py: DC removal, Kaldi fbank, (x - mean) / (std * 2) -> [1, 1, T, 128]."""
    wave = wave - wave.mean()
    mel = kaldi.fbank(wave[None], htk_compat=True, sample_frequency=16000, use_energy=False,
                      window_type="hanning", num_mel_bins=128, dither=0.0, frame_shift=10)
    return ((mel - (-4.268)) / (4.569 * 2))[None, None]


def attention(x: torch.Tensor, sd: dict, prefix: str, heads: int) -> torch.Tensor:
    b, n, c = x.shape
    qkv = (x @ sd[f"{prefix}attn.qkv.weight"].T + sd[f"{prefix}attn.qkv.bias"])
    q, k, v = qkv.reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    attn = ((q * (c // heads) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
    out = (attn @ v).transpose(1, 2).reshape(b, n, c)
    return out @ sd[f"{prefix}attn.proj.weight"].T + sd[f"{prefix}attn.proj.bias"]


def mlp(x: torch.Tensor, sd: dict, prefix: str) -> torch.Tensor:
    h = F.gelu(x @ sd[f"{prefix}mlp.fc1.weight"].T + sd[f"{prefix}mlp.fc1.bias"])
    return h @ sd[f"{prefix}mlp.fc2.weight"].T + sd[f"{prefix}mlp.fc2.bias"]


def norm(x: torch.Tensor, sd: dict, name: str) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], sd[f"{name}.weight"], sd[f"{name}.bias"], eps=1e-6)


def eat_forward(sd: dict, wave: torch.Tensor, depth: int, heads: int) -> list[torch.Tensor]:
    """EAT's extract_features(mel, mask=False, remove_extra_tokens=False), fairseq naming:
    [context_encoder output, block 1, ..., block L] over [CLS, time-major patches]."""
    p = "modality_encoders.IMAGE."
    x = F.conv2d(eat_fbank(wave), sd[f"{p}local_encoder.proj.weight"], sd[f"{p}local_encoder.proj.bias"], stride=PATCH)
    x = x.flatten(2).transpose(1, 2)  # [B, D, T/16, F/16] -> [B, T/16 * F/16, D]
    x = x + sd[f"{p}fixed_positional_encoder.positions"][:, : x.shape[1]]
    x = torch.cat([sd[f"{p}extra_tokens"].expand(x.shape[0], -1, -1), x], 1)
    x = norm(x, sd, f"{p}context_encoder.norm")
    layers = [x]
    for i in range(depth):  # AltBlock, layer_norm_first=False
        b = f"blocks.{i}."
        x = norm(x + attention(x, sd, b, heads), sd, f"{b}norm1")
        x = norm(x + mlp(x, sd, b), sd, f"{b}norm2")
        layers.append(x)
    return layers


# ---- MATPAC ---------------------------------------------------------------------------------
MATPAC_MELS = 80


def matpac_state(dim: int, depth: int, n_t: int = 608, seed: int = 1, training: bool = False) -> dict:
    """matpac_wrapper's state dict (inference_matpac/matpac/model.py); `training` adds parts of
    the pre-training model (decoder, heads) that the converter must leave out."""
    gen = torch.Generator().manual_seed(seed)
    freq, time = MATPAC_MELS // PATCH, n_t // PATCH
    pos = torch.cat([torch.zeros(1, dim), sincos_2d(dim, freq, time)])[None]  # freq rows, time columns
    state = {"patch_embed.proj.weight": randn(gen, dim, 1, PATCH, PATCH, scale=0.05),
             "patch_embed.proj.bias": randn(gen, dim), "cls_token": randn(gen, 1, 1, dim, scale=1.0),
             "pos_embed": pos + randn(gen, *pos.shape, scale=0.1)}  # off the sin-cos table: the order is seen
    for i in range(depth):
        state |= timm_block(gen, f"student_encoder.blocks.{i}.", dim)
    state |= {"student_encoder.norm.weight": 1 + randn(gen, dim), "student_encoder.norm.bias": randn(gen, dim)}
    if training:
        state |= {"decoder.decoder_embed.weight": randn(gen, 16, dim), "decoder.mask_token": randn(gen, 1, 1, 16),
                  "cls_student_head.last_layer.weight_g": randn(gen, 8, 1), "head_norm.running_mean": randn(gen, dim)}
    return state


def matpac_logmel(wave: torch.Tensor) -> torch.Tensor:
    """preprocess(): torchaudio MelSpectrogram, Slaney scale and norm, log(x + eps), standardised."""
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=400, win_length=400, hop_length=160, f_min=50,
                                               f_max=8000, n_mels=80, center=False, power=2.0, norm="slaney",
                                               mel_scale="slaney")(wave[None])
    return ((mel + torch.finfo().eps).log() - (-7.056)) / 4.193  # [1, 80, T]


def matpac_forward(sd: dict, wave: torch.Tensor, depth: int, heads: int, n_t: int = 608) -> list[torch.Tensor]:
    """forward_precise: windows of n_t frames, each padded to whole patches; per layer
    [block 1, ..., block L-1, norm(block L)] as [B, T_p, F_p * D] (frequency-concatenated)."""
    x = matpac_logmel(wave)
    x = F.pad(x, (0, -x.shape[-1] % PATCH))[:, None]  # [1, 1, F, T]
    freq, dim = MATPAC_MELS // PATCH, sd["cls_token"].shape[-1]
    chunks = []
    for start in range(0, x.shape[-1], n_t):
        t = F.conv2d(x[..., start:start + n_t], sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=PATCH)
        frames = t.shape[-1]
        t = t.flatten(2).transpose(1, 2)  # frequency-major: f * T_p + t
        pos = sd["pos_embed"][:, 1:].reshape(1, freq, -1, dim)[:, :, :frames].reshape(1, freq * frames, dim)
        t = torch.cat([sd["cls_token"] + sd["pos_embed"][:, :1], t + pos], 1)
        layers = []
        for i in range(depth):  # timm Block: pre-norm
            b = f"student_encoder.blocks.{i}."
            t = t + attention(norm(t, sd, f"{b}norm1"), sd, b, heads)
            t = t + mlp(norm(t, sd, f"{b}norm2"), sd, b)
            layers.append(t)
        layers[-1] = norm(t, sd, "student_encoder.norm")
        # 'b n (f t) d -> b n t (f d)'
        chunks.append([h[:, 1:].reshape(1, freq, frames, dim).permute(0, 2, 1, 3).reshape(1, frames, freq * dim)
                       for h in layers])
    return [torch.cat([c[k] for c in chunks], 1) for k in range(depth)]
