"""The built-in benchmarks (benchmark/benchmarks.py): a protocol declared per task.

`mini`: the mini suite as the committed leaderboard runs it, the linear probe everywhere
except mini-asr, where a linear CTC head cannot learn (docs/reports/mini-calibration.md)
and the BiLSTM is SUPERB's downstream. `superb-lite`: SUPERB's choices on its KS, SID, ASV
and ASR tasks (the learned weighted sum of all layers; linear heads, the speaker
projection, the BiLSTM for ASR). `hear-lite`: HEAR 2021's protocol, its MLP grid on the
module's own scene (or timestamp) embeddings.
"""
from __future__ import annotations

from benchmark.benchmarks import Benchmark, TaskProtocol
from tasks.catalog import SUITES
from tasks.mini import MINI_TASKS


def mini() -> Benchmark:
    return Benchmark("mini", tuple(TaskProtocol(t, "bilstm" if t == "mini-asr" else "linear") for t in MINI_TASKS),
                     "the mini suite: linear probes on the last layer, a BiLSTM on mini-asr")


def superb_lite() -> Benchmark:
    return Benchmark("superb-lite", tuple(
        TaskProtocol(t, "bilstm" if t == "librispeech-100h" else "linear", layer="weighted")
        for t in SUITES["superb-lite"]), "SUPERB's KS, SID, ASV and ASR with its downstreams on the weighted sum "
                                         "of all layers")


def hear_lite() -> Benchmark:
    return Benchmark("hear-lite", tuple(TaskProtocol(t, "mlp") for t in SUITES["hear-lite"]),
                     "HEAR 2021's open tasks with its MLP grid on the module's own embeddings")


#: the benchmark registry's table (tasks/plugin.py)
BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (mini(), superb_lite(), hear_lite())}
