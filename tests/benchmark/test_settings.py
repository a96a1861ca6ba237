"""Run settings are checked once, when made: the command line and `evaluate()` share the
constructor, so a bad layer, pooling, fraction or option is the same one-line error from both."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from benchmark.errors import ProtocolError
from benchmark.settings import RunSettings
from tests.support.helpers import run_cli


@pytest.mark.parametrize("given, layer", [("last", "last"), ("weighted", "weighted"), ("3", 3), ("-1", -1), (2, 2)])
def test_the_layer_is_parsed_once_into_its_normal_form(given, layer):
    settings = RunSettings(layer=given)
    assert settings.layer == layer and type(settings.layer) is type(layer)
    assert settings.identity()["layer"] == layer and settings.weighted == (layer == "weighted")


@pytest.mark.parametrize("kwargs, message", [
    ({"layer": "top"}, "--layer must be 'last', 'weighted' or an integer, got 'top'"),
    ({"layer": 1.5}, "--layer must be 'last', 'weighted' or an integer, got 1.5"),
    ({"layer": True}, "--layer must be 'last', 'weighted' or an integer, got True"),
    ({"pooling": "median"}, "--pooling must be one of mean, max, cls, scene, attention, got 'median'"),
    ({"train_fraction": 0.0}, "--train-fraction must be in (0, 1], got 0.0"),
    ({"train_fraction": 1.5}, "--train-fraction must be in (0, 1], got 1.5"),
    ({"train_fraction": "0.5"}, "--train-fraction must be in (0, 1], got '0.5'"),
    ({"options": [("hidden", 64)]}, "options must be a dict of KEY: VALUE, got list"),
    ({"options": {"hidden": object()}}, "option hidden=<object object"),
    ({"options": {"": 1}}, "option names must be non-empty strings"),
    ({"prompts": "a {label}"}, "prompts must be a list of templates"),
    ({"protocol": ""}, "the protocol must be a name"),
])
def test_bad_settings_are_one_clear_error(kwargs, message):
    with pytest.raises(ProtocolError) as err:
        RunSettings(**kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_identity_is_what_records_carry_and_prompts_join_the_options(tmp_path):
    settings = RunSettings(protocol="zeroshot", options={"k": 1}, prompts=("a {label}",), train_fraction=1,
                           results=tmp_path / "." / "r")
    # pooling None: each (upstream, task) pairing's default, resolved by its run context
    assert settings.identity() == {"name": "zeroshot", "layer": "last", "pooling": None, "train_fraction": 1.0,
                                   "options": {"k": 1, "prompts": ["a {label}"]}}
    assert type(settings.train_fraction) is float
    assert settings.results == (tmp_path / "r").resolve() and settings.results.is_absolute()
    # what travels to workers (and `replace`) keeps the checked values
    moved = replace(settings, progress=False)
    assert moved.identity() == settings.identity() and moved.progress is False


def test_options_given_are_not_shared_with_the_caller():
    options = {"hidden": 64}
    settings = RunSettings(options=options)
    options["hidden"] = 32
    assert settings.options == {"hidden": 64}


def test_the_command_line_builds_the_same_settings(tmp_path, tone_task, capsys):
    code, _, err = run_cli(capsys, "run", "-m", "logmel", "-t", str(tone_task), "--layer", "top",
                           "--results", str(tmp_path / "r"))
    assert code == 2 and "--layer must be 'last', 'weighted' or an integer, got 'top'" in err
    code, _, err = run_cli(capsys, "run", "-m", "logmel", "-t", str(tone_task), "--layer", "0",
                           "--results", str(tmp_path / "r"))
    assert code == 0, err
    (path,) = Path(tmp_path / "r").rglob("*.json")
    assert path.parent.name == "linear-layer_0-mean"
    assert '"layer": 0,' in path.read_text()  # an index, as evaluate(layer=0) records it
