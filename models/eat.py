"""EAT (Chen et al. 2024): data2vec 2.0-style bootstrap with the Utterance-Frame Objective.

- Teacher: EMA of the student encoder, on the *full* spectrogram. Target per patch = the
  average over its top `target_layers` blocks of each block's feed-forward output (before the
  residual sum: data2vec 2.0's `ffn_targets`, EAT's `end_of_block_targets: false`), each
  instance-normed over the patches, the average then layer-normed (no affine). The residual
  stream would carry the input's position embedding into every target, a shortcut the
  student learns first.
- Student: `clones` masked copies of each clip (multi-mask), inverse block masking with
  ratio 0.8 (the visible 20% kept as blocks); only visible patches are encoded, so the
  teacher's one full forward is amortised over all clones.
- Decoder: a light 2-D CNN over the patch grid (visible outputs in place, noise elsewhere).
- Loss (UFO), weighted as the official code (`d2v_loss`, fairseq's division by the sample
  size = the number of masked patches M): squared errors summed over dimensions and scaled by
  1/sqrt(D); the frame term is averaged over the M masked patches, while the utterance term
  (student CLS output vs the teacher target mean-pooled over patches) is multiplied by
  `cls_weight` x M before that division, i.e. *summed* over the clips x clones of the
  (micro-)batch. Gradients are clipped at norm 4 (the recipe's `clip_grad`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.ema import EMATeacher
from models.masking import inverse_block_mask, split
from models.objective import Objective
from models.schedules import Anneal
from models.spectrogram_vit import SpectrogramViT, ViTConfig
from models.vit import gather_tokens, scatter_tokens


@dataclass(frozen=True)
class EATConfig:
    mask_ratio: float = 0.8
    mask_block: int = 5
    mask_adjust: float = 0.07
    clones: int = 16
    decoder_dim: int = 768
    decoder_layers: int = 6
    decoder_kernel: int = 3
    decoder_groups: int = 16
    mask_noise_std: float = 0.01
    target_layers: int = 12
    cls_weight: float = 1.0
    ema: Anneal = field(default_factory=lambda: Anneal(0.9998, 0.99999, 100_000, "linear"))


class ChannelNorm(nn.Module):
    """LayerNorm over the channels of a [B, C, H, W] map, at each position."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class CNNDecoder(nn.Module):
    """data2vec 2.0's Decoder2d: grouped 3x3 convs over the (freq, time) patch grid, residual."""

    def __init__(self, dim_in: int, dim: int, layers: int, kernel: int, groups: int) -> None:
        super().__init__()
        chans = [dim_in] + [dim] * layers
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, kernel, padding=kernel // 2, groups=groups), ChannelNorm(b), nn.GELU())
            for a, b in zip(chans, chans[1:]))
        self.out = nn.Linear(dim, dim_in)

    def forward(self, tokens: torch.Tensor, freq_patches: int) -> torch.Tensor:
        b, n, d = tokens.shape
        x = tokens.reshape(b, n // freq_patches, freq_patches, d).permute(0, 3, 2, 1)  # [B, D, Fp, Tp]
        for block in self.blocks:
            y = block(x)
            x = y + x if y.shape == x.shape else y
        return self.out(x.permute(0, 3, 2, 1).reshape(b, n, -1))


def ffn_outputs(vit: SpectrogramViT, tokens: torch.Tensor) -> list[torch.Tensor]:
    """Each block's feed-forward output (before its residual sum) at the patch positions, for
    patch tokens [B, N, D] run with the CLS token through the blocks of `vit`."""
    if vit.spec.norm == "post":  # data2vec 2.0's post-norm blocks give these as their targets
        return vit.block_outputs(tokens)
    x = tokens
    if vit.cls is not None:
        x = torch.cat([vit.cls.expand(x.shape[0], -1, -1).to(x.dtype), x], 1)
    outs = []
    for block in vit.transformer.blocks:
        x = x + block.attn(block.norm1(x))
        f = block.mlp(block.norm2(x))
        x = x + f
        outs.append(f[:, vit.prefix:])
    return outs


def ufo_loss(pred: torch.Tensor, target: torch.Tensor, cls_pred: torch.Tensor, cls_target: torch.Tensor,
             cls_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """EAT's frame and utterance terms: masked-patch predictions `pred`, `target` [M, D] and
    CLS outputs `cls_pred`, `cls_target` [V, D] (V = clips x clones) -> (frame, utterance)
    with frame + utterance = the official loss divided by M."""
    scale = 1.0 / math.sqrt(pred.shape[-1])
    frame = (pred.float() - target.float()).pow(2).sum(-1).mean() * scale
    utterance = cls_weight * (cls_pred.float() - cls_target.float()).pow(2).sum(-1).sum() * scale
    return frame, utterance


class EAT(Objective):
    encoder_config_class = ViTConfig
    config_class = EATConfig

    def __init__(self, encoder: ViTConfig, config: EATConfig, total_steps: int) -> None:
        super().__init__(total_steps)
        self.config = config
        self.encoder = SpectrogramViT(encoder)
        if encoder.cls_token is False:
            raise ValueError("EAT's utterance loss needs the encoder's CLS token (cls_token=True)")
        self.decoder = CNNDecoder(encoder.dim, config.decoder_dim, config.decoder_layers,
                                  config.decoder_kernel, config.decoder_groups)
        self.teacher = EMATeacher(self.encoder, config.ema, total_steps)

    def crop_samples(self) -> int:
        return self.encoder.spec.frontend.samples_for(self.encoder.spec.max_frames)

    def targets(self, feats: torch.Tensor) -> torch.Tensor:
        teacher: SpectrogramViT = self.teacher.module
        with torch.no_grad():
            outs = ffn_outputs(teacher, teacher.embed(feats))[-self.config.target_layers:]
            y = sum(F.instance_norm(o.float().transpose(1, 2)).transpose(1, 2) for o in outs) / len(outs)
            return F.layer_norm(y, y.shape[-1:])

    def forward(self, audio: torch.Tensor, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c, enc = self.config, self.encoder
        feats, _ = enc.frontend(audio)
        feats = enc.pad_frames(feats, enc.spec.patch)
        y = self.targets(feats)  # [B, N, D]
        tokens = enc.embed(feats).repeat_interleave(c.clones, 0)
        views, n, _ = tokens.shape
        mask = inverse_block_mask(views, enc.freq_patches, n // enc.freq_patches, c.mask_ratio, c.mask_block,
                                  c.mask_adjust, device=tokens.device)
        visible, masked = split(mask)
        z = enc.encode(gather_tokens(tokens, visible))
        noise = torch.randn(views, n, z.shape[-1], device=z.device, dtype=z.dtype) * c.mask_noise_std
        pred = self.decoder(scatter_tokens(noise, visible, z[:, enc.prefix:]), enc.freq_patches)
        y = y.repeat_interleave(c.clones, 0)
        d = y.shape[-1]
        frame, utterance = ufo_loss(gather_tokens(pred, masked).reshape(-1, d), gather_tokens(y, masked).reshape(-1, d),
                                    z[:, 0], y.mean(1), c.cls_weight)
        loss = frame + utterance
        return loss, {"frame": frame.detach(), "utterance": utterance.detach()}

    def after_step(self, step: int) -> dict[str, float]:
        return {"ema": self.teacher.update(self.encoder, step)}
