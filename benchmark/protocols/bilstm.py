"""SUPERB's ASR probe: a 2-layer BiLSTM CTC head over characters on frame embeddings."""
from benchmark.protocols.asr import run_bilstm
from benchmark.protocols.base import Protocol

BILSTM = Protocol("bilstm", ("asr",), run_bilstm)
