"""Protocols turn an upstream and a task into scores; each lives in its own module.

Frozen features: `linear`, `mlp` (HEAR's grid), `knn` (cosine, no training), `qbe`
(query-by-example over labels), `bilstm` (SUPERB's ASR head); end to end: `finetune`;
shared audio-text space: `zeroshot`. Layer choice (`--layer last|N|weighted`) and
pooling (`--pooling mean|max|cls|scene|attention`) are options of the run context.
"""
from benchmark.protocols.base import PROTOCOLS, Part, Protocol, RunContext

PROTOCOLS.register_lazy("linear", "benchmark.protocols.linear:LINEAR")
PROTOCOLS.register_lazy("mlp", "benchmark.protocols.mlp:MLP")
PROTOCOLS.register_lazy("knn", "benchmark.protocols.knn:KNN")
PROTOCOLS.register_lazy("qbe", "benchmark.protocols.qbe:QBE")
PROTOCOLS.register_lazy("bilstm", "benchmark.protocols.bilstm:BILSTM")
PROTOCOLS.register_lazy("finetune", "benchmark.protocols.finetune:FINETUNE")
PROTOCOLS.register_lazy("zeroshot", "benchmark.protocols.zeroshot:ZEROSHOT")

__all__ = ["PROTOCOLS", "Part", "Protocol", "RunContext"]
