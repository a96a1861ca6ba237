"""The built-in benchmarks (benchmark/benchmarks.py): a protocol declared per task.

`mini`: the mini suite as the committed leaderboard runs it, the linear probe everywhere
except mini-asr, where a linear CTC head cannot learn (docs/reports/mini-calibration.md)
and the BiLSTM is SUPERB's downstream. `superb-lite`: SUPERB's choices on its KS, SID, ASV
and ASR tasks (the learned weighted sum of all layers; linear heads, the speaker
projection, the BiLSTM for ASR). `hear-lite`: HEAR 2021's protocol, its MLP grid on the
module's own scene (or timestamp) embeddings. `mini-quick`: what `make demo` runs in minutes
on two cores (QUICK_TASKS).
"""
from __future__ import annotations

from benchmark.benchmarks import Benchmark, TaskProtocol
from tasks.catalog import SUITES
from tasks.mini import MINI_TASKS


def mini() -> Benchmark:
    return Benchmark("mini", tuple(TaskProtocol(t, "bilstm" if t == "mini-asr" else "linear") for t in MINI_TASKS),
                     "the mini suite: linear probes on the last layer, a BiLSTM on mini-asr")


#: a task of every family but ASR, the shorter where a family has several: a random
#: transformer's extraction of the whole suite takes longer than the demo's ten minutes, and the
#: BiLSTM on mini-asr learns nothing in the epochs the budget leaves it (CER 0.69-0.84 after 8
#: epochs, against 0.33 trained to its patience; docs/protocols.md, "Benchmarks")
QUICK_TASKS = ("mini-kws", "mini-sv", "mini-tagging", "mini-sed", "mini-pitch", "mini-instrument", "mini-retrieval")


def mini_quick() -> Benchmark:
    return Benchmark("mini-quick", tuple(TaskProtocol(t) for t in QUICK_TASKS),
                     "the demo's: a mini task of every family but ASR, linear probes on the last layer")


def superb_lite() -> Benchmark:
    return Benchmark("superb-lite", tuple(
        TaskProtocol(t, "bilstm" if t == "librispeech-100h" else "linear", layer="weighted")
        for t in SUITES["superb-lite"]), "SUPERB's KS, SID, ASV and ASR with its downstreams on the weighted sum "
                                         "of all layers")


def hear_lite() -> Benchmark:
    return Benchmark("hear-lite", tuple(TaskProtocol(t, "mlp") for t in SUITES["hear-lite"]),
                     "HEAR 2021's open tasks with its MLP grid on the module's own embeddings")


#: the benchmark registry's table (tasks/plugin.py)
BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (mini(), mini_quick(), superb_lite(), hear_lite())}
