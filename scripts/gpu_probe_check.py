"""The probes on a GPU against the CPU: the short check to run when a CUDA machine is at hand.

    PYTHONPATH=. python scripts/gpu_probe_check.py            # CUDA against the CPU
    PYTHONPATH=. python scripts/gpu_probe_check.py --device cpu   # the script itself, anywhere

On synthetic features (overlapping Gaussian classes, so scores are neither trivial nor
hopeless), each head family is fitted on the CPU in float32 and on the device (bf16 autocast on
CUDA, as `earbench run` trains there): the L-BFGS linear grid (torch's solver on CUDA, numpy on
the CPU), the Adam MLP grid, and the BiLSTM CTC head's training step. It prints each one's
valid score and seconds on both, and fails when a score moves by more than TOLERANCE.
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

from benchmark.heads import grid
from benchmark.heads.ctc import BiLSTMHead, grid_ctc_loss

TOLERANCE = 0.03  # valid accuracy, absolute


def problem(n: int = 3000, dim: int = 256, classes: int = 20, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=gen)
    x = torch.randn(classes, dim, generator=gen)[y] + 4.0 * torch.randn(n, dim, generator=gen)
    cut = int(0.8 * n)
    return (x[:cut], y[:cut]), (x[cut:], y[cut:]), classes


def linear(device: torch.device, data) -> tuple[float, float]:
    (xt, yt), (xv, yv), classes = data
    head = grid.GridHead(4, xt.shape[1], classes, weight_decay=[1e-4, 1e-3, 1e-2, 1e-1], init_std=0.01,
                         generator=torch.Generator().manual_seed(0)).to(device)
    start = time.perf_counter()
    fit = grid.fit_lbfgs(head, [{"weight_decay": w} for w in (1e-4, 1e-3, 1e-2, 1e-1)], (xt,), yt,
                         grid.grid_cross_entropy,
                         lambda h: (grid.grid_accuracy(h(xv.to(device)).cpu(), yv),
                                    grid.grid_cross_entropy(h(xv.to(device)).cpu(), yv)))
    return fit.chosen["valid_score"], time.perf_counter() - start


def mlp(device: torch.device, data) -> tuple[float, float]:
    (xt, yt), (xv, yv), classes = data
    head = grid.GridHead(4, xt.shape[1], classes, hidden=[1024], dropout=0.1,
                         generator=torch.Generator().manual_seed(0)).to(device)
    start = time.perf_counter()
    fit = grid.fit_grid(head, [{"lr": lr} for lr in (1e-4, 3.2e-4, 1e-3, 3.2e-3)],
                        lambda g: [((xt[i],), yt[i]) for i in grid.minibatches(len(xt), 1024, g)],
                        grid.grid_cross_entropy,
                        lambda h: (grid.grid_accuracy(h(xv.to(device)).float().cpu(), yv),
                                   grid.grid_cross_entropy(h(xv.to(device)).float().cpu(), yv)),
                        max_epochs=40, patience=10, converge=False)
    return fit.chosen["valid_score"], time.perf_counter() - start


def bilstm_step(device: torch.device) -> tuple[float, float]:
    """One BiLSTM CTC step's loss (a fixed batch) and its time: the loss must agree."""
    gen = torch.Generator().manual_seed(0)
    x, mask = torch.randn(16, 300, 80, generator=gen), torch.ones(16, 300, dtype=torch.bool)
    targets = torch.randint(1, 28, (16, 40), generator=gen)
    torch.manual_seed(0)
    head = BiLSTMHead(80, 29, hidden=128).to(device).eval()  # no dropout: the same function on both
    start = time.perf_counter()
    with grid.autocast(device):
        out = head(x.to(device), mask.to(device))[None]
        loss = grid_ctc_loss(out.float(), head.output_mask(mask.to(device)),
                             (targets.reshape(-1).to(device), torch.full((16,), 40, device=device)))[0]
    loss.backward()
    return float(loss.detach()), time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    device = torch.device(parser.parse_args().device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device is visible; pass --device cpu to check the script itself", file=sys.stderr)
        return 2
    data, failed = problem(), False
    for name, run in (("linear (L-BFGS grid)", lambda d: linear(d, data)), ("MLP (Adam grid)", lambda d: mlp(d, data)),
                      ("BiLSTM CTC step (loss)", bilstm_step)):
        cpu_score, cpu_s = run(torch.device("cpu"))
        dev_score, dev_s = run(device)
        ok = abs(cpu_score - dev_score) <= (TOLERANCE if "step" not in name else 0.05 * abs(cpu_score))
        failed |= not ok
        print(f"{name}: cpu {cpu_score:.4f} in {cpu_s:.2f} s; {device} {dev_score:.4f} in {dev_s:.2f} s "
              f"({cpu_s / max(dev_s, 1e-9):.1f}x) {'ok' if ok else 'DIFFERS'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
