"""Test upstreams and a CLI runner shared by the test modules."""
from __future__ import annotations

import sys

import torch

from benchmark.upstream import Encoded
from models.baselines import LogMel


class Counting(torch.nn.Module):
    """Wraps an upstream and counts forward calls; optionally raises on call number `fail_at`."""

    def __init__(self, inner: torch.nn.Module | None = None, fail_at: int | None = None,
                 error: type[BaseException] = KeyboardInterrupt) -> None:
        super().__init__()
        self.inner = inner or LogMel()
        self.sample_rate, self.hop_ms = self.inner.sample_rate, self.inner.hop_ms
        self.calls, self.fail_at, self.error = 0, fail_at, error

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise self.error()
        return self.inner(audio, lengths)


class Broken(torch.nn.Module):
    """An upstream that breaks the contract in a chosen way."""

    sample_rate, hop_ms = 16000, 10.0

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.inner = LogMel()

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor):  # noqa: ANN201
        out = self.inner(audio, lengths)
        h = out.hidden_states[0]
        if self.how == "nan":
            return Encoded([h * float("nan")], out.lengths)
        if self.how == "rank":
            return Encoded([h.mean(1)], out.lengths)
        if self.how == "lengths":
            return Encoded([h], out.lengths + 1000)
        if self.how == "batch":  # leaks information across the batch
            return Encoded([h + h.mean((0, 1), keepdim=True)], out.lengths)
        if self.how == "hop":
            return Encoded([h[:, ::2]], torch.div(out.lengths + 1, 2, rounding_mode="floor"))
        raise ValueError(self.how)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run `earbench ARGS` in-process; returns (exit code, stdout, stderr)."""
    from benchmark import cli
    old = sys.argv
    sys.argv = ["earbench", *args]
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class Coarse(torch.nn.Module):
    """Log-mel averaged over `factor` frames: a coarse upstream (10·factor ms), like a patch encoder."""

    sample_rate = 16000

    def __init__(self, factor: int) -> None:
        super().__init__()
        self.inner, self.factor, self.hop_ms = LogMel(), factor, 10.0 * factor

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        out = self.inner(audio, lengths)
        h = out.hidden_states[-1]
        T = h.shape[1] // self.factor * self.factor
        pooled = h[:, :T].reshape(h.shape[0], -1, self.factor, h.shape[-1]).mean(2)
        return Encoded([pooled], (out.lengths // self.factor).clamp_min(1))
