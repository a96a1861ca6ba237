"""BYOL-A (Niizumi et al. 2021): BYOL for audio, two augmented views of one crop, no negatives.

Each ~1 s crop's log-mel spectrogram (normalised with dataset statistics) gives two views
(log-mixup-exp, random resize crop, post-normalisation; models.augment). The online
network (CNN encoder -> projector -> predictor) predicts the target network's projection of
the other view; the target (encoder + projector) is an EMA of the online one (decay 0.99).
Loss: 2 - 2 cos, symmetrised over the two views.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

from models.augment import byola_view
from models.byola_cnn import BYOLACNN, CNNConfig
from models.ema import EMATeacher
from models.objective import Objective, cosine_distance
from models.schedules import Anneal


@dataclass(frozen=True)
class BYOLAConfig:
    crop_frames: int = 96
    projection_hidden: int = 4096
    projection_dim: int = 256
    mixup_ratio: float = 0.4
    ema: Anneal = field(default_factory=lambda: Anneal(0.99, 0.99, 0, "constant"))


def mlp(dim_in: int, hidden: int, dim_out: int) -> nn.Module:
    return nn.Sequential(nn.Linear(dim_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, dim_out))


class BYOLA(Objective):
    encoder_config_class = CNNConfig
    config_class = BYOLAConfig
    no_decay_names = ()

    def __init__(self, encoder: CNNConfig, config: BYOLAConfig, total_steps: int) -> None:
        super().__init__(total_steps)
        self.config = config
        self.encoder = BYOLACNN(encoder)
        self.projector = mlp(encoder.dim, config.projection_hidden, config.projection_dim)
        self.predictor = mlp(config.projection_dim, config.projection_hidden, config.projection_dim)
        self.teacher = EMATeacher(self.online(), config.ema, total_steps)

    def online(self) -> nn.Module:
        """Encoder + projector, the part the target network tracks (built on the fly, not registered)."""
        return nn.ModuleDict({"encoder": self.encoder, "projector": self.projector})

    def crop_samples(self) -> int:
        return self.encoder.spec.frontend.samples_for(self.config.crop_frames)

    def forward(self, audio: torch.Tensor, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        feats, _ = self.encoder.frontend(audio)
        views = [byola_view(feats, self.config.mixup_ratio) for _ in range(2)]
        online = [self.predictor(self.projector(self.encoder.embed(v))) for v in views]
        target: nn.ModuleDict = self.teacher.module  # type: ignore[assignment]
        with torch.no_grad():
            targets = [target["projector"](target["encoder"].embed(v)) for v in views]
        loss = cosine_distance(online[0], targets[1]) + cosine_distance(online[1], targets[0])
        return loss, {}

    def after_step(self, step: int) -> dict[str, float]:
        return {"ema": self.teacher.update(self.online(), step)}
