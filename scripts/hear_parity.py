"""Score parity with the HEAR 2021 evaluation kit, on the same embeddings, in one run.

    .venv/bin/python scripts/hear_parity.py --peer HEARKIT_RUNNER [--out DIR] [--per-class 75] [--test-per-class 100] [--seeds 3]
        [--report docs/reports/hear-parity.md]

1. writes a HEAR-layout scene task (4 overlapping tone classes in noise; 16 kHz and
   44.1 kHz audio; per class: `--per-class` train, a third of it valid, `--test-per-class` test);
2. runs the real kit (`--peer` or $HEAREVAL_PEER: a script run as `RUNNER TASK_DIR MODULE`; heareval 2021.1.3 with
   PyPI `hearbaseline` in its own venv; embedding stage + prediction stage, grids
   `default` and `fast`), timed;
3. runs earbench on the same directory (`benchmark.sources.hear`) with `hear:hear_naive`, a
   port of hearbaseline.naive at a 250 ms hop, so that earbench's mean-pooled clip
   embedding *is* the kit's scene embedding; linear probe (and earbench's HEAR-style `mlp`
   protocol when registered), timed (cold cache for the first);
4. checks that the two harnesses saw the same embeddings (max relative difference
   over every test clip; earbench caches float16) and that the port matches the
   original module inside the kit's venv;
5. prints the scores (theirs: MLP grid, test top1_acc; ours: linear probe, mean and 95%
   CI over seeds) and wall times side by side, and writes `parity.json` (and, with
   `--report`, the table as a Markdown report: docs/reports/hear-parity.md).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from reports import write_report

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

PEER = Path()  # set by main from --peer / $HEAREVAL_PEER


def peer_python() -> Path:
    root = Path(os.environ.get("PEER_ROOT", os.path.join(os.environ.get("TMPDIR", "/tmp"), "peer")))
    return root / "venv" / "bin" / "python"


def check_port_in_peer_venv(audio_file: Path) -> float:
    """Max |port - hearbaseline.naive| / max |.| on one clip, computed in the kit's venv."""
    code = f"""
import sys, warnings, numpy as np, soundfile as sf, torch
warnings.filterwarnings("ignore")
sys.path.insert(0, {str(HERE)!r})
import hearbaseline, hear_naive
audio = torch.tensor(sf.read({str(audio_file)!r}, dtype="float32")[0])[None]
a = hearbaseline.get_scene_embeddings(audio, hearbaseline.load_model())
b = hear_naive.get_scene_embeddings(audio, hear_naive.load_model())
ta, _ = hearbaseline.get_timestamp_embeddings(audio, hearbaseline.load_model())
tb, _ = hear_naive.get_timestamp_embeddings(audio, hear_naive.load_model(), hop_size=50)
print(max(float((a - b).abs().max() / a.abs().max()), float((ta - tb).abs().max() / ta.abs().max())))
"""
    out = subprocess.run([str(peer_python()), "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer", type=Path, default=os.environ.get("HEAREVAL_PEER"),
                        help="the HEAR kit runner (default $HEAREVAL_PEER)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/earbench-hear-parity"))
    parser.add_argument("--per-class", type=int, default=75, help="train clips per class (valid: a third)")
    parser.add_argument("--test-per-class", type=int, default=100, help="test clips per class")
    parser.add_argument("--protocols", default="linear,mlp", help="earbench protocols to run (if registered)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--grids", default="default,fast")
    parser.add_argument("--report", type=Path, help="also write the table as this Markdown report")
    args = parser.parse_args()
    global PEER
    if not args.peer or not Path(args.peer).is_file():
        parser.error("the HEAR kit runner is needed: --peer PATH or $HEAREVAL_PEER")
    PEER = Path(args.peer)

    from tests.support.hear_tasks import write_hear_scene_task

    task_dir = args.out / "tones4"
    if not (task_dir / "task_metadata.json").is_file():
        third = max(2, args.per_class // 3)
        write_hear_scene_task(task_dir, per_class={"train": args.per_class, "valid": third, "test": args.test_per_class},
                              classes=4, seconds=1.0, rates=(16000, 44100), seed=7, name="tones4")

    # --- the HEAR kit ------------------------------------------------------------------
    peer_out = args.out / "peer"
    subprocess.run(["rm", "-rf", str(peer_out)], check=True)
    t0 = time.perf_counter()
    run = subprocess.run([str(PEER), str(task_dir), "hearbaseline", "--grids", args.grids, "--out", str(peer_out)],
                         capture_output=True, text=True)
    peer_wall = time.perf_counter() - t0
    if run.returncode != 0:
        sys.exit(f"heareval.sh failed ({run.returncode}):\n{run.stderr[-4000:]}")
    summary = json.loads((peer_out / "summary.json").read_text())

    # --- earbench ------------------------------------------------------------------------
    os.environ["HEAR_NAIVE_HOP_MS"] = "250"
    os.environ["EARBENCH_HOME"] = str(args.out / "earbench-home")
    subprocess.run(["rm", "-rf", os.environ["EARBENCH_HOME"]], check=True)
    from benchmark import evaluate
    from benchmark.features.cache import EmbeddingCache
    from benchmark.protocols import PROTOCOLS
    from benchmark.features.extract import extract
    from benchmark.scoring.stats import summarise
    from benchmark.sources.load import load_task
    from benchmark.upstream import load_upstream

    ours = {}
    for protocol in [p for p in args.protocols.split(",") if p in PROTOCOLS]:
        t0 = time.perf_counter()
        records = evaluate("hear:hear_naive", tasks=[str(task_dir)], seeds=args.seeds, protocol=protocol, progress=False)
        accuracies = [r["metrics"]["accuracy"] for r in records]
        ours[protocol] = {"wall_s_total": round(time.perf_counter() - t0, 1), "accuracy_per_seed": accuracies,
                          "accuracy": str(summarise(accuracies)), "chosen": [r["protocol"]["chosen"] for r in records],
                          "embed_s": round(sum(r["timing"]["embed_s"] for r in records), 2),
                          "probe_s": round(sum(r["timing"]["probe_s"] for r in records), 2),
                          "command": f"evaluate('hear:hear_naive', tasks=['{task_dir}'], seeds={args.seeds}, "
                                     f"protocol='{protocol}')  # HEAR_NAIVE_HOP_MS=250"}

    # --- same embeddings? -----------------------------------------------------------------
    task = load_task(str(task_dir))
    test = task.load()["test"]
    upstream = load_upstream("hear:hear_naive")
    from benchmark.upstream import fingerprint
    upstream.earbench_fingerprint = fingerprint(upstream)
    cached = extract(upstream, list(test["path"]), task=task.name, task_version=task.version, split="test",
                     pooling="mean", cache=EmbeddingCache(), progress=False)
    ours_test = np.asarray(cached.data[:, -1], dtype=np.float32)
    emb_dir = next(p for p in (peer_out / "embeddings").glob("*/tones4"))
    theirs_test = np.stack([np.load(emb_dir / "test" / f"{Path(p).name}.embedding.npy") for p in test["path"]])
    embedding_rel_diff = float(np.abs(ours_test - theirs_test).max() / np.abs(theirs_test).max())
    port_rel_diff = check_port_in_peer_venv(Path(test["path"].iloc[0]))

    stages = summary["stages"]
    result = {
        "task": {"dir": str(task_dir), "clips": {s: len(m) for s, m in task.load().items()}, "classes": 4},
        "embeddings": {"max_rel_diff_earbench_vs_kit_test": embedding_rel_diff,
                       "max_rel_diff_port_vs_hearbaseline": port_rel_diff},
        "kit": {"command": f"{PEER} {task_dir} hearbaseline --grids {args.grids}",
                "wall_s_total": round(peer_wall, 1),
                **{name: {"wall_s": s["wall_s"], "test_top1_acc": s.get("test_scores", {}).get("test_top1_acc")}
                   for name, s in stages.items()}},
        "earbench": ours,
        "machine": {"nproc": os.cpu_count(), "loadavg_at_end": open("/proc/loadavg").read().split()[:3]},
    }
    (args.out / "parity.json").write_text(json.dumps(result, indent=2))
    n_test = len(test)
    print(f"\nHEAR parity on {task_dir} ({result['task']['clips']}), hearbaseline embeddings")
    print(f"  same embeddings: max relative difference earbench vs kit (test) = {embedding_rel_diff:.2e}; "
          f"port vs hearbaseline.naive = {port_rel_diff:.2e}")
    print(f"  {'harness':<34}{'test accuracy':>16}{'wall s':>10}")
    for name, s in stages.items():
        if "test_scores" in s:
            acc = s["test_scores"].get("test_top1_acc")
            print(f"  {'HEAR kit, MLP grid ' + name.removeprefix('predict-'):<34}{acc:>16.4f}{s['wall_s']:>10.1f}")
    print(f"  {'HEAR kit, embedding stage':<34}{'':>16}{stages['embed']['wall_s']:>10.1f}")
    print(f"  {'HEAR kit, whole run':<34}{'':>16}{peer_wall:>10.1f}")
    for protocol, r in ours.items():
        print(f"  {'earbench, ' + protocol + ' probe':<34}{r['accuracy']:>16}{r['wall_s_total']:>10.1f}"
              f"   (embed {r['embed_s']} s, probe {r['probe_s']} s, {args.seeds} seeds)")
    print(f"  one test clip = {1 / n_test:.4f} accuracy; written {args.out / 'parity.json'}")
    if args.report:
        print(f"  report: {write_parity_report(args, result, peer_wall, n_test)}")


def write_parity_report(args: argparse.Namespace, result: dict, peer_wall: float, n_test: int) -> Path:
    """The side-by-side table of one parity run as a Markdown report."""
    rows = ["| harness | probe | test accuracy | wall s |", "|---|---|---|---|"]
    for name, stage in result["kit"].items():
        if isinstance(stage, dict) and stage.get("test_top1_acc") is not None:
            rows.append(f"| HEAR kit | MLP, grid `{name.removeprefix('predict-')}` | {stage['test_top1_acc']:.4f} | "
                        f"{stage['wall_s']:.0f} |")
    rows.append(f"| HEAR kit | embedding stage | | {result['kit']['embed']['wall_s']:.0f} |")
    for protocol, r in result["earbench"].items():
        rows.append(f"| earbench | `{protocol}`, {args.seeds} seeds (mean ± 95% CI) | {r['accuracy']} | "
                    f"{r['wall_s_total']:.0f} (embed {r['embed_s']:.0f}, probe {r['probe_s']:.0f}) |")
    emb = result["embeddings"]
    clips = ", ".join(f"{n} {split}" for split, n in result["task"]["clips"].items())
    body = (f"A HEAR-layout scene task of 4 overlapping tone classes in noise ({clips} clips), "
            "`hearbaseline`'s embeddings in both harnesses: the kit runs PyPI `hearbaseline`, earbench "
            "`scripts/hear_naive.py`, a port at the 250 ms hop of its scene embedding. Same embeddings: max "
            f"relative difference earbench vs kit over the test clips {emb['max_rel_diff_earbench_vs_kit_test']:.1e} "
            f"(earbench's float16 cache), port vs `hearbaseline.naive` {emb['max_rel_diff_port_vs_hearbaseline']:.1e}. "
            f"The kit's whole run took {peer_wall:.0f} s; one test clip is {1 / n_test:.4f} accuracy.\n\n" + "\n".join(rows))
    command = (f"python scripts/hear_parity.py --peer RUNNER --per-class {args.per_class} --test-per-class {args.test_per_class} "
               f"--seeds {args.seeds} --grids {args.grids} --protocols {args.protocols} --report {args.report}")
    return write_report(args.report.stem, "Parity with the HEAR 2021 kit", command, body, args.report.parent)


if __name__ == "__main__":
    main()
