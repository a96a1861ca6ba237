"""SUPERB's ASR probe: a 2-layer BiLSTM CTC head over characters on frame embeddings
(`benchmark.protocols.asr.run_bilstm`, the head the asr family names)."""
from benchmark.protocols.base import Protocol

BILSTM = Protocol("bilstm")
