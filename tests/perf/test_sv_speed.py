"""The speaker-verification projection's time per seed, measured in one run (`make perf`), beside
cosine scoring of the same pooled features (the peer: no training).

The task has the size of the folder task on which the projection once ran for more than 17
minutes on one seed: 1,164 clips, 4 training speakers with 97 clips each, 4 valid and 4 test
speakers, all pairs of test clips as trials; the voices overlap (each clip's pitch is off its
speaker's by up to 12%), so valid EERs are noisy. Both score logmel's features on one thread.
Target: the AM-softmax projection (`linear`) within 30 s a seed.
"""
from __future__ import annotations

import time

import pytest
import torch

from benchmark import evaluate
from benchmark.protocols.speaker import PROJECTION
from tests.support.family_tasks import write_sv_task

pytestmark = pytest.mark.perf
REPORT_TITLE = "Speaker-verification projection speed"
REPORT_INTRO = """The AM-softmax projection (`--protocol linear` on a speaker-verification task) against
cosine scoring of the same logmel features (`--protocol knn`, no training), on a 1,164-clip
folder task with 4 training speakers (97 clips each) and overlapping voices, one thread, one
seed each (EER over all pairs of test clips). Target: the projection within 30 s a seed."""
SECONDS_PER_SEED = 30.0


def test_projection_within_budget_per_seed(tmp_path, perf_report, perf_ratio):
    task = write_sv_task(tmp_path / "voices", speakers=(4, 4, 4), clips=97, detune=0.12)
    torch.set_num_threads(1)
    evaluate("logmel", [task], protocol="knn", progress=False, results=tmp_path / "warm")  # extraction, untimed
    rows = {}
    for protocol in ("knn", "linear"):
        start = time.perf_counter()
        (record,) = evaluate("logmel", [task], protocol=protocol, progress=False, results=tmp_path / protocol)
        rows[protocol] = (time.perf_counter() - start, record)
    cap = PROJECTION["linear"].max_epochs
    for protocol, (seconds, record) in rows.items():
        chosen, metrics = record["protocol"]["chosen"], record["metrics"]
        epochs = chosen.get("epochs", "-")
        print(f"\n[sv] {protocol}: {seconds:.1f} s, EER {metrics['eer']:.3f}, chosen {chosen}")
        perf_report.row(["protocol", "scoring", "s per seed", "EER", "best epoch (cap)"],
                        [protocol, chosen.get("loss", chosen.get("scoring")), f"{seconds:.1f}",
                         f"{metrics['eer']:.3f}", f"{epochs} ({cap})" if protocol == "linear" else "-"])
    seconds, record = rows["linear"]
    perf_ratio("speaker-verification projection, s per seed on a 1,164-clip task (cosine scoring: "
               f"{rows['knn'][0]:.1f} s)", f"{seconds:.1f} s", "<= 30 s", seconds <= SECONDS_PER_SEED)
    assert seconds <= SECONDS_PER_SEED, f"the projection took {seconds:.1f} s for one seed"
    assert record["metrics"]["eer"] < 0.5  # it learned something
