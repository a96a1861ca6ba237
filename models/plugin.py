"""What `models` adds to earbench: its one `earbench.plugins` entry point (see benchmark/registry.py).

The baselines, the `ckpt:` / `hf:` specs and the zoo of public checkpoints by name
(benchmark/upstreams/zoo.py, read from the Hub) are upstreams; the pre-training recipes are the
table of models/recipes.py (`earbench list recipes`); `earbench pretrain` trains one, `earbench convert`
turns the authors' EAT and MATPAC checkpoints into earbench encoders, and `earbench analyse
checkpoints` draws a run's learning curve.
"""
from __future__ import annotations

from benchmark.registry import Plugin

PLUGIN = Plugin(
    entries={
        "earbench.upstreams": {"logmel": "models.baselines:logmel", "random-cnn": "models.baselines:random_cnn",
                               "random-transformer": "models.baselines:random_transformer"},
        "earbench.schemes": {"ckpt": "models.schemes:load_ckpt_upstream", "hf": "models.schemes:load_hf_upstream"},
        "earbench.commands": {"pretrain": "models.cli:pretrain", "convert": "models.convert.command:convert",
                              "analyse checkpoints": "models.learning_curve:analyse_checkpoints"},
    },
    tables={"earbench.recipes": "models.recipes:RECIPES", "earbench.upstreams": "benchmark.upstreams.zoo:ZOO"},
)
