"""MATPAC's released checkpoints (github.com/aurianworld/matpac) -> `SpectrogramViT`.

The files (`matpac_10_2048.pt`, `matpac_plus_*.pt`) are state dicts of its inference wrapper
(`matpac_wrapper`, built on M2D): `patch_embed.proj`, `cls_token`, `pos_embed`
[1, 1 + F_p * T_p, D], `student_encoder.blocks.{i}` (timm `Block`s: pre-norm) and
`student_encoder.norm`; training files may also hold the decoder, heads and teachers.

The official forward (its `forward_precise`): a log-mel (torchaudio, Slaney scale and
filters, 80 bins over 50-8000 Hz, 25 ms / 10 ms, `log(x + eps)`) normalised as
`(x + 7.056) / 4.193`, cut into windows of `n_t` frames (608, or 992 for the AudioSet
fine-tuned files) each padded to whole patches; patches in frequency-major order (token
`f * T_p + t`) plus the frozen sin-cos `pos_embed`, cropped per frequency row for a short
window; the CLS token plus `pos_embed[0]`; the blocks, the last output normed; patch tokens
of one time step concatenated over frequency. A Transformer does not care where in the
sequence a token sits, only which position it carries, so the table is re-ordered to
earbench's time-major order and stored as learned positions, and the CLS position folded
into the CLS token.
"""
from __future__ import annotations

import torch

from models.checkpoint import CheckpointError
from models.convert.encoder import Converted, blocks, build, heads_for
from models.convert.official_state import OfficialState
from models.frontends import FrontendConfig
from models.spectrogram_vit import ViTConfig

FRONTEND = FrontendConfig(kind="logmel-slaney", sample_rate=16000, n_mels=80, win_ms=25.0, hop_ms=10.0, n_fft=400,
                          f_min=50.0, f_max=8000.0, norm_scale=1.0)
MEAN, STD = -7.056, 4.193  # general_config.lms_mean, lms_std
TRAINING_ONLY = ("decoder.", "mcl_heads.", "cls_student_head.", "cls_teacher_head.", "teacher_encoder.", "_ema.",
                 "_cls_head_ema.", "head.", "head_norm.", "probe.")


def convert(tensors: dict[str, torch.Tensor], source: str, heads: int | None = None) -> Converted:
    state = OfficialState(tensors, source)
    dim, _, patch, _ = state.shape("patch_embed.proj.weight")
    depth = state.count("student_encoder.blocks.", ".norm1.weight")
    hidden = state.shape("student_encoder.blocks.0.mlp.fc1.weight")[0]
    freq_patches = FRONTEND.n_mels // patch
    table = state.shape("pos_embed")
    if len(table) != 3 or (table[1] - 1) % freq_patches or table[1] <= 1:
        raise CheckpointError(f"{source}: pos_embed {table} is not 1 + {freq_patches} frequency patches x time patches")
    time_patches = (table[1] - 1) // freq_patches
    config = ViTConfig(frontend=FRONTEND, dim=dim, depth=depth, heads=heads_for(dim, heads, source),
                       mlp_ratio=hidden / dim, patch=patch, positions="learned", cls_token=True,
                       max_frames=time_patches * patch, frame_output="concat", norm="pre")
    positions = state.take("pos_embed")[0]
    mapped = {
        "patch_embed.weight": state.take("patch_embed.proj.weight", (dim, 1, patch, patch)),
        "patch_embed.bias": state.take("patch_embed.proj.bias", (dim,)),
        "cls": state.take("cls_token", (1, 1, dim)) + positions[:1],
        "pos": positions[1:].reshape(freq_patches, time_patches, dim).transpose(0, 1).reshape(-1, dim),
        "transformer.norm.weight": state.take("student_encoder.norm.weight", (dim,)),
        "transformer.norm.bias": state.take("student_encoder.norm.bias", (dim,)),
        "frontend.mean": torch.tensor([MEAN]), "frontend.std": torch.tensor([STD]),
    }
    encoder = build(config, mapped | blocks(state, "student_encoder.blocks.", depth), source)
    return Converted(encoder, "matpac_wrapper", len(state.taken), state.finish(TRAINING_ONLY))
