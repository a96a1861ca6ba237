"""MATPAC (Quelennec et al. 2025): masked latent prediction and unsupervised classification.

- Random (unstructured) masking, ratio 0.7. The student encodes the visible patches X_v;
  the EMA teacher encodes the masked patches X_m (M2D's split), giving targets Z_m.
- Predictor (M2D's): the student outputs plus a shared mask token at masked positions, new
  positions, a narrow Transformer; its outputs at masked positions are the predictions.
- L_pred = squared error of l2-normalised prediction and target (2 - 2 cos).
- L_cls = cross-entropy between a DINO student head on the predictions (tau_s = 0.1) and
  the EMA teacher head on the targets, centred and sharpened (tau_t rising linearly from
  0.04 to 0.07 during a warm-up).
- L = (1 - alpha) L_cls + alpha L_pred, alpha = 0.5. Encoder EMA 0.99995 -> 0.99999;
  head EMA 0.998 -> 1, linear over training.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from models.dino import CentredCrossEntropy, DINOHead
from models.ema import EMATeacher
from models.masking import random_mask, split
from models.objective import Objective, cosine_distance
from models.predictor import MaskTokenDecoder
from models.schedules import Anneal
from models.spectrogram_vit import SpectrogramViT, ViTConfig
from models.vit import gather_tokens


@dataclass(frozen=True)
class MATPACConfig:
    mask_ratio: float = 0.7
    predictor_dim: int = 512
    predictor_depth: int = 8
    predictor_heads: int = 16
    head_hidden: int = 2048
    head_bottleneck: int = 256
    classes: int = 2048
    tau_student: float = 0.1
    tau_teacher: Anneal = field(default_factory=lambda: Anneal(0.04, 0.07, 19_654, "linear"))  # 20 of 300 epochs
    centre_momentum: float = 0.9
    alpha: float = 0.5
    ema: Anneal = field(default_factory=lambda: Anneal(0.99995, 0.99999, 0, "linear"))  # 0: the whole run
    head_ema: Anneal = field(default_factory=lambda: Anneal(0.998, 1.0, 0, "linear"))


class MATPAC(Objective):
    encoder_config_class = ViTConfig
    config_class = MATPACConfig

    def __init__(self, encoder: ViTConfig, config: MATPACConfig, total_steps: int) -> None:
        super().__init__(total_steps)
        self.config = config
        self.encoder = SpectrogramViT(encoder)
        enc = self.encoder
        self.predictor = MaskTokenDecoder(encoder.dim, config.predictor_dim, config.predictor_depth,
                                          config.predictor_heads, encoder.dim, enc.freq_patches,
                                          enc.max_time_patches, enc.prefix)
        self.head = DINOHead(encoder.dim, config.head_hidden, config.head_bottleneck, config.classes)
        self.criterion = CentredCrossEntropy(config.classes, config.centre_momentum)
        self.teacher = EMATeacher(self.encoder, config.ema, total_steps)
        self.teacher_head = EMATeacher(self.head, config.head_ema, total_steps)

    def crop_samples(self) -> int:
        return self.encoder.spec.frontend.samples_for(self.encoder.spec.max_frames)

    def forward(self, audio: torch.Tensor, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c, enc = self.config, self.encoder
        feats, _ = enc.frontend(audio)
        feats = enc.pad_frames(feats, enc.spec.patch)
        tokens = enc.embed(feats)
        mask = random_mask(tokens.shape[0], tokens.shape[1], c.mask_ratio, device=tokens.device)
        visible, masked = split(mask)
        z = enc.encode(gather_tokens(tokens, visible))
        pred = self.predictor(z, visible, masked)
        teacher: SpectrogramViT = self.teacher.module
        with torch.no_grad():
            target = teacher.encode(gather_tokens(teacher.embed(feats), masked))[:, teacher.prefix:]
            teacher_logits = self.teacher_head(target)
        l_pred = cosine_distance(pred, target)
        tau_t = c.tau_teacher.at(step, self.total_steps)
        l_cls = self.criterion(self.head(pred), teacher_logits, c.tau_student, tau_t)
        loss = (1 - c.alpha) * l_cls + c.alpha * l_pred
        return loss, {"pred": l_pred.detach(), "cls": l_cls.detach()}

    def after_step(self, step: int) -> dict[str, float]:
        return {"ema": self.teacher.update(self.encoder, step),
                "head_ema": self.teacher_head.update(self.head, step),
                "tau_t": self.config.tau_teacher.at(step, self.total_steps)}
