"""SUPERB's ASR probe: a 2-layer BiLSTM CTC head over characters on frame embeddings
(`benchmark.protocols.asr.run_bilstm`, the head the asr family names)."""
from benchmark.protocols.base import Protocol
from benchmark.protocols.options import Option

BILSTM = Protocol("bilstm", options=(
    Option("hidden", int, "width of each LSTM direction", minimum=1),
    Option("lr", float, "learning rate (Adam)", minimum=0, above=True),
    Option("stack", int, "consecutive frames stacked into one step (default: up to 20 ms)", minimum=1),
    Option("upsample", int, "times each frame is repeated (default: down to 20 ms)", minimum=1),
    Option("batch_size", int, "utterances per minibatch", minimum=1),
    Option("max_epochs", int, "the most epochs of training", minimum=1),
    Option("patience", int, "epochs without a better valid CER before training stops", minimum=1),
))
