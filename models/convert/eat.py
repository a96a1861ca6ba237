"""EAT's released checkpoints (github.com/cwx-worst-one/EAT) -> `SpectrogramViT`.

Two namings of the same weights are read:

- fairseq (`Data2VecMultiModel`, the Google Drive files): `modality_encoders.IMAGE.local_encoder.proj`,
  `.fixed_positional_encoder.positions`, `.extra_tokens`, `.context_encoder.norm`, then
  `blocks.{i}`; fine-tuned files nest it under `model.` beside their `fc_norm` and `head`;
- Hugging Face (`worstchan/EAT-*`, `EATModel` wrapping `EAT` as `model`): `model.local_encoder.proj`,
  `model.fixed_positional_encoder.positions`, `model.extra_tokens`, `model.pre_norm`, `model.blocks.{i}`.

The official forward (its `extract_features`): a Kaldi fbank (128 mel bins, Hanning window,
10 ms shift) normalised as `(x + 4.268) / (4.569 * 2)`, laid out as an image [time, freq];
16 x 16 conv patches in time-major order plus a fixed sin-cos table (768 time patches); the
CLS token (no position) first; one LayerNorm; then data2vec 2.0 `AltBlock`s with
`layer_norm_first` false (post-norm), and no final norm. So: `norm="post"`, learned
positions holding the official table, the conv kernel transposed to earbench's [freq, time]
layout, and the CLS token exposed (`cls_output`; its authors probe it) beside frames that
average the frequency patches of each 160 ms step.
"""
from __future__ import annotations

import torch

from models.checkpoint import CheckpointError
from models.convert.encoder import Converted, blocks, build, heads_for
from models.convert.official_state import OfficialState
from models.frontends import FrontendConfig
from models.spectrogram_vit import ViTConfig

#: the fbank of EAT's feature_extract.py: torchaudio.compliance.kaldi.fbank defaults otherwise
#: (low_freq 20 Hz, high_freq 0 = Nyquist), statistics of AudioSet, AST's scale of 2
FRONTEND = FrontendConfig(kind="kaldi", sample_rate=16000, n_mels=128, win_ms=25.0, hop_ms=10.0, n_fft=512,
                          f_min=20.0, f_max=8000.0, norm_scale=2.0)
MEAN, STD = -4.268, 4.569
TARGET_FRAMES = 1024  # the official target_length (10.24 s); longer clips are encoded window by window
#: parts of a pre-training or fine-tuning checkpoint that are not the encoder
TRAINING_ONLY = ("decoder.", "_ema.", "fc_norm.", "head.", "recon_proj.", "cls_proj.", "center", "shared_decoder.")


def canonical(key: str) -> str:
    """One naming for both layouts: the Hugging Face one without its `model.` prefix."""
    key = key.removeprefix("model.").removeprefix("modality_encoders.IMAGE.")
    return "pre_norm." + key.removeprefix("context_encoder.norm.") if key.startswith("context_encoder.norm.") else key


def layout_of(keys: list[str]) -> str:
    return "fairseq" if any(k.removeprefix("model.").startswith("modality_encoders.IMAGE.") for k in keys) \
        else "huggingface"


def convert(tensors: dict[str, torch.Tensor], source: str, heads: int | None = None) -> Converted:
    state = OfficialState(tensors, source, canonical)
    dim, _, patch, _ = state.shape("local_encoder.proj.weight")
    depth = state.count("blocks.", ".norm1.weight")
    hidden = state.shape("blocks.0.mlp.fc1.weight")[0]
    freq_patches = FRONTEND.n_mels // patch
    time_patches = TARGET_FRAMES // patch
    table = state.shape("fixed_positional_encoder.positions")
    if len(table) != 3 or table[1] % freq_patches or table[1] < time_patches * freq_patches:
        raise CheckpointError(f"{source}: positions {table} do not cover {time_patches} x {freq_patches} patches")
    config = ViTConfig(frontend=FRONTEND, dim=dim, depth=depth, heads=heads_for(dim, heads, source),
                       mlp_ratio=hidden / dim, patch=patch, positions="learned", cls_token=True,
                       max_frames=TARGET_FRAMES, frame_output="mean", norm="post", cls_output=True)
    mapped = {
        "patch_embed.weight": state.take("local_encoder.proj.weight", (dim, 1, patch, patch)).transpose(2, 3),
        "patch_embed.bias": state.take("local_encoder.proj.bias", (dim,)),
        "cls": state.take("extra_tokens", (1, 1, dim)),
        "pos": state.take("fixed_positional_encoder.positions")[0, : time_patches * freq_patches],
        "transformer.input_norm.weight": state.take("pre_norm.weight", (dim,)),
        "transformer.input_norm.bias": state.take("pre_norm.bias", (dim,)),
        "frontend.mean": torch.tensor([MEAN]), "frontend.std": torch.tensor([STD]),
    }
    encoder = build(config, mapped | blocks(state, "blocks.", depth), source)
    return Converted(encoder, layout_of(list(tensors)), len(state.taken), state.finish(TRAINING_ONLY))
