"""The encoder-kind and objective registries: lazy, and consistent with the classes and recipes."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from models.checkpoint import ENCODERS
from models.recipes import OBJECTIVES, RECIPES, recipe_from_dict, recipe_to_dict


def test_each_encoder_kind_names_its_class():
    assert ENCODERS.names() == sorted(["spectrogram-vit", "byola-cnn", "waveform", "fbank-conformer",
                                       "spectrogram-ssm", "clap"])
    for kind in ENCODERS:
        cls = ENCODERS.get(kind)
        assert cls.kind == kind and dataclasses.is_dataclass(cls.config_class), kind


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_each_recipe_names_a_registered_objective_of_its_configurations(name):
    recipe = RECIPES[name]
    objective = OBJECTIVES.get(recipe.objective)
    assert type(recipe.encoder) is objective.encoder_config_class and type(recipe.params) is objective.config_class
    assert recipe.name == name and recipe_from_dict(recipe_to_dict(recipe)) == recipe


def test_an_unknown_objective_is_one_clear_error():
    with pytest.raises(ValueError, match="stored: unknown objective 'mystery'; known: audiomae, bestrq"):
        recipe_from_dict({**recipe_to_dict(RECIPES["eat-tiny"]), "objective": "mystery"}, "stored")


def test_importing_the_checkpoint_reader_imports_no_encoder():
    code = ("import sys, models.checkpoint; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('models.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["models.checkpoint", "models.config"]
