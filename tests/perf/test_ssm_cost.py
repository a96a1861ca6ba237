"""Cost of the bidirectional-Mamba patch encoder against the ViT at equal width and depth as
the clip grows (1, 10, 60 s): time and peak memory per clip, in one run.

Three encoders over the same 80-bin log-mel 16x16 patches, 192 wide, 4 deep (the tiny
recipes' size), one clip at a time:
- `vit-global`: ViT attending over the whole clip (`max_frames` covers 60 s);
- `ssm`: `SpectrogramSSM` scanning the whole clip (models/ssm.py, chunked scan in torch);
- `vit-window`: the ViT as the tiny upstreams actually run it (2.56 s windows: linear cost,
  but no context across windows) — for reference.
Two passes: `infer` (upstream forward under no_grad) and `train` (forward + backward of the
top layer's sum: the activations pre-training keeps).

Peak memory: each measurement runs in a fresh child process; CPU peak = the child's peak
resident memory (`ru_maxrss`) minus its resident memory just before the first pass (model,
input and torch already loaded), i.e. the working memory of the pass; on CUDA
`torch.cuda.max_memory_allocated` minus what was allocated before. (tracemalloc cannot see
torch's tensor allocations, so it is not used.) Time = median of `REPEATS` passes after one
warm-up.

    .venv/bin/python -m pytest -m perf -s tests/perf/test_ssm_cost.py
    EARBENCH_PERF_DEVICE=cuda ... to measure on a GPU
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import resource
import statistics
import time
from pathlib import Path

import pytest
import torch

DURATIONS_S = tuple(float(x) for x in os.environ.get("EARBENCH_PERF_DURATIONS", "1,10,60").split(","))
REPEATS = int(os.environ.get("EARBENCH_PERF_REPEATS", "3"))
DEVICE = os.environ.get("EARBENCH_PERF_DEVICE", "cpu")
WIDTH, DEPTH, HEADS = 192, 4, 3
REPORT_TITLE = "Cost of the state-space backbone against the ViT"
REPORT_INTRO = f"""Time and peak working memory of one clip through three encoders over the same 80-bin
log-mel 16x16 patches, {WIDTH} wide x {DEPTH} deep: the ViT attending over the whole clip, the
bidirectional-Mamba `SpectrogramSSM` (models/ssm.py, chunked scan in torch), and the ViT over
the 2.56 s windows the tiny upstreams run. Inference: forward under no_grad; training:
forward + backward. Time: median of `EARBENCH_PERF_REPEATS` ({REPEATS}) passes after a
warm-up, each measurement in a fresh process; device {DEVICE}."""


def build(kind: str, seconds: float) -> torch.nn.Module:
    from models.recipes import LOGMEL_80
    from models.spectrogram_ssm import SpectrogramSSM, SSMConfig
    from models.spectrogram_vit import SpectrogramViT, ViTConfig
    frames = 16 * (int(seconds * 100) // 16 + 2)  # the whole clip in one window
    if kind == "vit-global":
        return SpectrogramViT(ViTConfig(LOGMEL_80, WIDTH, DEPTH, HEADS, max_frames=frames))
    if kind == "vit-window":
        return SpectrogramViT(ViTConfig(LOGMEL_80, WIDTH, DEPTH, HEADS, max_frames=256))
    if kind == "ssm":
        return SpectrogramSSM(SSMConfig(LOGMEL_80, WIDTH, DEPTH, HEADS, max_frames=frames))
    raise KeyError(kind)


def _rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _measure(kind: str, seconds: float, mode: str, device: str, queue) -> None:  # runs in a child
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("EARBENCH_PERF_THREADS", torch.get_num_threads())))
    model = build(kind, seconds).to(device)
    model.train(mode == "train")
    audio = 0.1 * torch.randn(1, int(seconds * 16000), device=device)
    lengths = torch.tensor([audio.shape[1]], device=device)

    def once() -> None:
        if mode == "infer":
            with torch.no_grad():
                model(audio, lengths)
        else:
            out = model(audio, lengths)
            out.hidden_states[-1].sum().backward()
            model.zero_grad(set_to_none=True)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    base_kb = _rss_kb()
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        base_cuda = torch.cuda.memory_allocated()
    times = []
    for i in range(REPEATS + 1):
        start = time.perf_counter()
        once()
        if i:
            times.append(time.perf_counter() - start)
    peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_kb) / 1024
    if device.startswith("cuda"):
        peak_mb = (torch.cuda.max_memory_allocated() - base_cuda) / 2 ** 20
    tokens = model.freq_patches * ((int(seconds * 100) + 15) // 16)
    queue.put({"model": kind, "seconds": seconds, "mode": mode, "tokens": tokens,
               "time_s": statistics.median(times), "peak_mb": peak_mb,
               "params": sum(p.numel() for p in model.parameters())})


def measure(durations=DURATIONS_S, device: str = DEVICE) -> list[dict]:
    ctx = mp.get_context("spawn")
    rows = []
    for mode in ("infer", "train"):
        for seconds in durations:
            for kind in ("vit-global", "ssm", "vit-window"):
                queue = ctx.Queue()
                child = ctx.Process(target=_measure, args=(kind, seconds, mode, device, queue))
                child.start()
                child.join()
                if child.exitcode != 0:
                    rows.append({"model": kind, "seconds": seconds, "mode": mode, "error": f"exit {child.exitcode}"})
                    continue
                rows.append(queue.get())
    return rows


def render(rows: list[dict]) -> str:
    lines = [f"{'pass':6} {'clip s':>6} {'model':11} {'tokens':>7} {'time s':>8} {'peak MB':>9}"]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['mode']:6} {r['seconds']:6.0f} {r['model']:11} failed ({r['error']})")
            continue
        lines.append(f"{r['mode']:6} {r['seconds']:6.0f} {r['model']:11} {r['tokens']:7d} {r['time_s']:8.3f} "
                     f"{r['peak_mb']:9.1f}")
    return "\n".join(lines)


@pytest.mark.perf
def test_ssm_vs_vit_cost_as_the_clip_grows(tmp_path, perf_report):
    rows = measure()
    print(f"\nSSM vs ViT, {WIDTH} wide x {DEPTH} deep, one clip, device {DEVICE}, "
          f"{torch.get_num_threads()} threads, median of {REPEATS}:\n" + render(rows))
    out = Path(os.environ.get("EARBENCH_PERF_OUT", tmp_path)) / "ssm_cost.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"device": DEVICE, "torch": torch.__version__, "rows": rows}, indent=2))
    print(f"written to {out}")
    cells = {(r["mode"], r["seconds"], r["model"]): r for r in rows}
    for mode, seconds in dict.fromkeys((r["mode"], r["seconds"]) for r in rows):
        by = [cells[mode, seconds, kind] for kind in ("vit-global", "ssm", "vit-window")]
        perf_report.row(["pass", "clip", "tokens", "ViT global: s / MB", "SSM: s / MB", "ViT 2.56 s windows: s / MB"],
                        [{"infer": "inference", "train": "training"}[mode], f"{seconds:g} s",
                         next((r["tokens"] for r in by if "tokens" in r), ""),
                         *(r.get("error") or f"{r['time_s']:.2f} / {r['peak_mb']:.0f}" for r in by)])
    assert all("error" not in r and r["time_s"] > 0 for r in rows)


if __name__ == "__main__":
    print(render(measure()))
