"""The Debian packages the mini suite is synthesised from, and how to find them.

Every sound in the suite comes from one of these installed packages, never from the
network. A missing one must stop the build at once with the package to install, rather
than fail deep inside a worker process.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path


class MissingSourceError(RuntimeError):
    """A sound source of the mini suite is not installed."""


@dataclass(frozen=True)
class SoundSource:
    """An installed package: an executable to run or a data path to read."""

    name: str
    package: str
    license: str
    url: str
    command: str | None = None
    path: str | None = None


SOURCES: dict[str, SoundSource] = {
    s.name: s
    for s in (
        SoundSource("espeak-ng", "espeak-ng", "GPL-3.0-or-later (synthesiser)",
                    "https://github.com/espeak-ng/espeak-ng", command="espeak-ng"),
        SoundSource("flite", "flite", "BSD-style CMU Flite license (synthesiser and voices)",
                    "http://cmuflite.org", command="flite"),
        SoundSource("fluidsynth", "fluidsynth", "LGPL-2.1-or-later (synthesiser)",
                    "https://www.fluidsynth.org", command="fluidsynth"),
        SoundSource("fluid-soundfont-gm", "fluid-soundfont-gm", "MIT (FluidR3 GM soundfont)",
                    "https://packages.debian.org/fluid-soundfont-gm",
                    path="/usr/share/sounds/sf2/FluidR3_GM.sf2"),
        SoundSource("sonic-pi-samples", "sonic-pi-samples", "CC0-1.0 (freesound.org samples)",
                    "https://github.com/sonic-pi-net/sonic-pi",
                    path="/usr/share/sonic-pi/samples"),
        SoundSource("alsa-utils", "alsa-utils", "GPL-2.0 (alsa-utils test recordings)",
                    "https://github.com/alsa-project/alsa-utils",
                    path="/usr/share/sounds/alsa"),
    )
}


def locate(name: str) -> str:
    """Path of source `name`'s executable or data, or MissingSourceError naming its package."""
    source = SOURCES[name]
    found = shutil.which(source.command) if source.command else source.path
    if found is None or not Path(found).exists():
        what = f"the command '{source.command}'" if source.command else source.path
        raise MissingSourceError(
            f"mini suite: {what} is missing; install the Debian package '{source.package}' "
            f"(sudo apt-get install {source.package})"
        )
    return found


@cache
def version(name: str) -> str:
    """Installed Debian version of source `name`, recorded in provenance (dpkg, if any)."""
    package = SOURCES[name].package
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                             capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "unknown"
    return out.stdout.strip() or "unknown"
