"""The spectrogram patch encoder with bidirectional Mamba blocks in place of attention
(SSAMBA / Audio Mamba), and MATPAC on it: the same objective on a different backbone.

`SpectrogramSSM` is `SpectrogramViT` (same patches, positions, CLS token, windowing and
upstream frames) whose Transformer is an `SSMStack`. Tokens stay in time-major order, so
the scan runs along time, frequency patches of one time step being consecutive.
"""
from __future__ import annotations

from dataclasses import dataclass

from models.dino import CentredCrossEntropy, DINOHead
from models.ema import EMATeacher
from models.matpac import MATPAC, MATPACConfig
from models.objective import Objective
from models.predictor import MaskTokenDecoder
from models.spectrogram_vit import SpectrogramViT, ViTConfig
from models.ssm import SSMStack


@dataclass(frozen=True)
class SSMConfig(ViTConfig):
    """`ViTConfig` (whose `heads` is unused) plus the state-space block's sizes."""

    state: int = 16
    expand: int = 2
    conv: int = 4


class SpectrogramSSM(SpectrogramViT):
    kind = "spectrogram-ssm"
    config_class = SSMConfig

    def __init__(self, config: SSMConfig) -> None:
        super().__init__(config)
        self.transformer = SSMStack(config.dim, config.depth, config.state, config.expand, config.conv,
                                    config.mlp_ratio)


class SSMMATPAC(MATPAC):
    """MATPAC (see models/matpac.py) with a `SpectrogramSSM` student and teacher."""
    encoder_config_class = SSMConfig
    config_class = MATPACConfig

    def __init__(self, encoder: SSMConfig, config: MATPACConfig, total_steps: int) -> None:
        Objective.__init__(self, total_steps)
        self.config = config
        self.encoder = SpectrogramSSM(encoder)
        enc = self.encoder
        self.predictor = MaskTokenDecoder(encoder.dim, config.predictor_dim, config.predictor_depth,
                                          config.predictor_heads, encoder.dim, enc.freq_patches,
                                          enc.max_time_patches, enc.prefix)
        self.head = DINOHead(encoder.dim, config.head_hidden, config.head_bottleneck, config.classes)
        self.criterion = CentredCrossEntropy(config.classes, config.centre_momentum)
        self.teacher = EMATeacher(self.encoder, config.ema, total_steps)
        self.teacher_head = EMATeacher(self.head, config.head_ema, total_steps)
