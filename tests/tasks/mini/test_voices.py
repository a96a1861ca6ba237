"""Speaker metadata of the mini voices against what the installed espeak-ng declares."""
from __future__ import annotations

from pathlib import Path

import pytest

from tasks.mini.speech import Voice
from tasks.mini.voices import GENDER, VARIANTS, attributes

VARIANT_FILES = [Path(p) / "voices" / "!v" for p in ("/usr/lib/x86_64-linux-gnu/espeak-ng-data",
                                                     "/usr/lib/aarch64-linux-gnu/espeak-ng-data",
                                                     "/usr/share/espeak-ng-data")]


def declared_gender(path: Path) -> str:
    for line in path.read_text(errors="replace").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].lower() == "gender":
            return words[1].lower()
    return ""


def test_genders_are_those_the_espeak_variant_files_declare():
    folder = next((f for f in VARIANT_FILES if f.is_dir()), None)
    if folder is None:
        pytest.skip("espeak-ng's data are not installed here")
    # a variant without a file here (some builds ship fewer) cannot be checked, but most must be
    declared = {v: declared_gender(folder / v) for v in VARIANTS if (folder / v).is_file()}
    assert len(declared) >= 0.9 * len(VARIANTS)
    assert {v: GENDER.get(v, "") for v in declared} == declared


def test_attributes_of_a_speaker():
    assert attributes(Voice("espeak-ng", "en-gb-scotland+f3", 50, 160)) == {
        "engine": "espeak-ng", "accent": "en-gb-scotland", "gender": "female"}
    assert attributes(Voice("espeak-ng", "en-us+klatt", 50, 160))["gender"] == ""  # declares none
    assert attributes(Voice("flite", "slt", 170, 160)) == {"engine": "flite", "accent": "en-us", "gender": "female"}
