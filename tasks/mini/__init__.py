"""The offline `mini` suite: folder tasks of every family, synthesised from Debian packages.

`build_mini(out, size)` writes one folder task per name in MINI_TASKS (the evaluation
suite `mini`) plus MINI_CORPUS, an unlabeled pre-training corpus, all deterministic in
`seed`. See tasks/mini/build.py for parallelism, caching and atomic publication.
"""

from .build import GENERATOR_VERSION, build_mini
from .generators import MINI_CORPUS, MINI_TASKS
from .blueprint import SIZES
from .sources import MissingSourceError

__all__ = ["GENERATOR_VERSION", "MINI_CORPUS", "MINI_TASKS", "SIZES", "MissingSourceError",
           "build_mini"]
