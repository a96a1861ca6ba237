"""Audio-MAE (Huang et al. 2022): masked spectrogram patch reconstruction.

80% of the patches are masked at random (unstructured, the paper's best for pre-training);
the encoder sees only the visible ones; a mask-token Transformer decoder reconstructs every
masked patch; the loss is the MSE on masked patches against per-patch normalised targets
(`norm_pix_loss`). The paper's decoder uses local (shifted-window) attention; this one is
a plain global-attention decoder of the same width and depth.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from models.masking import random_mask, split
from models.objective import Objective, mse
from models.predictor import MaskTokenDecoder
from models.spectrogram_vit import SpectrogramViT, ViTConfig
from models.vit import gather_tokens


@dataclass(frozen=True)
class AudioMAEConfig:
    mask_ratio: float = 0.8
    decoder_dim: int = 512
    decoder_depth: int = 16
    decoder_heads: int = 16
    norm_targets: bool = True


def patchify(feats: torch.Tensor, patch: int) -> torch.Tensor:
    """Features [B, T, F] -> patch values [B, T/p * F/p, p * p], in the encoder's time-major order."""
    b, t, f = feats.shape
    x = feats.reshape(b, t // patch, patch, f // patch, patch)
    return x.permute(0, 1, 3, 2, 4).reshape(b, (t // patch) * (f // patch), patch * patch)


class AudioMAE(Objective):
    encoder_config_class = ViTConfig
    config_class = AudioMAEConfig

    def __init__(self, encoder: ViTConfig, config: AudioMAEConfig, total_steps: int) -> None:
        super().__init__(total_steps)
        self.config = config
        self.encoder = SpectrogramViT(encoder)
        enc = self.encoder
        self.decoder = MaskTokenDecoder(encoder.dim, config.decoder_dim, config.decoder_depth,
                                        config.decoder_heads, encoder.patch ** 2, enc.freq_patches,
                                        enc.max_time_patches, enc.prefix)

    def crop_samples(self) -> int:
        return self.encoder.spec.frontend.samples_for(self.encoder.spec.max_frames)

    def forward(self, audio: torch.Tensor, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c, enc = self.config, self.encoder
        feats, _ = enc.frontend(audio)
        feats = enc.pad_frames(feats, enc.spec.patch)
        tokens = enc.embed(feats)
        mask = random_mask(tokens.shape[0], tokens.shape[1], c.mask_ratio, device=tokens.device)
        visible, masked = split(mask)
        pred = self.decoder(enc.encode(gather_tokens(tokens, visible)), visible, masked)
        target = gather_tokens(patchify(feats.float(), enc.spec.patch), masked)
        if c.norm_targets:
            target = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True) + 1e-6).sqrt()
        loss = mse(pred, target)
        return loss, {}
