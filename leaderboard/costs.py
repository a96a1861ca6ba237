"""What each entry costs to run, from the cost analysis' measurements (`earbench analyse cost`,
its OUT/cost.json): multiply-adds per second of audio, real-time factor and peak memory on a
clip of COST_SECONDS, beside the records' parameters and throughput.

Records do not carry these (a run measures throughput only), so the board joins the
measurements on the entry's upstream fingerprint: the same weights and configuration. Failing
that it takes a measurement of a model of the same name, which has the same architecture
(a recipe's run and its random init differ in weights only, and cost does not depend on
weights), and the board's notes say so. Where a model was measured on several devices, the
one its throughput was recorded on is shown, else CUDA, else the CPU.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from benchmark.errors import EarbenchError

#: the clip length whose measurement the board shows (seconds)
COST_SECONDS = 10.0
COLUMNS = ["macs_per_s", "rtf", "peak_mib", "cost_device", "cost_match"]
FIELDS = ("model", "macs", "wall_s", "peak_bytes", "seconds", "device")


def read_costs(path: str | Path) -> pd.DataFrame:
    """OUT/cost.json -> one row per measurement at COST_SECONDS: fingerprint, model, device,
    macs_per_s, rtf, peak_mib. A file that is not such a table is one error naming it."""
    path = Path(path)
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EarbenchError(f"{path}: no such cost file (`earbench analyse cost` writes OUT/cost.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EarbenchError(f"{path}: not a readable cost file ({error})") from None
    if not isinstance(kept, dict):
        raise EarbenchError(f"{path}: not a cost file (an object of measurements by 'fingerprint|device|seconds')")
    rows = []
    for key, m in kept.items():
        if isinstance(m, dict) and isinstance(m.get("error"), str):
            continue  # not measured: the clip did not fit the machine (the cost table says why)
        fields_ok = isinstance(m, dict) and all(f in m for f in FIELDS)
        numbers_ok = fields_ok and all(isinstance(m[f], (int, float)) and math.isfinite(m[f]) and m[f] >= 0
                                       for f in ("macs", "wall_s", "peak_bytes", "seconds"))
        if not numbers_ok or m["seconds"] <= 0:
            raise EarbenchError(f"{path}: measurement {key!r} lacks one of {', '.join(FIELDS)} or has a "
                                f"value that is not a non-negative number")
        if math.isclose(m["seconds"], COST_SECONDS):
            rows.append({"fingerprint": key.split("|")[0], "model": str(m["model"]), "device": str(m["device"]),
                         "macs_per_s": m["macs"] / m["seconds"], "rtf": m["wall_s"] / m["seconds"],
                         "peak_mib": m["peak_bytes"] / 2 ** 20})
    return pd.DataFrame(rows, columns=["fingerprint", "model", "device", "macs_per_s", "rtf", "peak_mib"])


def pick(candidates: pd.DataFrame, device: object) -> pd.Series:
    """The measurement on the entry's throughput device, else on CUDA, else the first by device name."""
    order = candidates.assign(_k=[(d != device, not str(d).startswith("cuda"), str(d)) for d in candidates["device"]])
    return order.sort_values("_k", kind="stable").iloc[0]


def attach(entries: pd.DataFrame, frame: pd.DataFrame, costs: pd.DataFrame | None) -> tuple[pd.DataFrame, list[str]]:
    """`entries` with COLUMNS added (missing where nothing was measured), and the notes on
    measurements taken from a model of the same name. `frame`: the board's records (entry,
    model, fingerprint)."""
    out = entries.copy()
    for col in COLUMNS:
        out[col] = pd.Series([None] * len(out), index=out.index, dtype=object)
    if costs is None or costs.empty:
        return out, []
    by_name = []
    for entry, group in frame.groupby("entry", sort=True):
        prints = set(group["fingerprint"].dropna())
        same = costs[costs["fingerprint"].isin(prints)]
        match = "fingerprint"
        if same.empty:
            same, match = costs[costs["model"].isin(set(group["model"]))], "name"
        if same.empty:
            continue
        m = pick(same, out.at[entry, "device"])
        for col in ("macs_per_s", "rtf", "peak_mib"):
            out.at[entry, col] = float(m[col])
        out.at[entry, "cost_device"], out.at[entry, "cost_match"] = m["device"], match
        if match == "name":
            by_name.append(entry)
    notes = [f"cost of {', '.join(by_name)}: measured on another build of the same model name (same architecture, "
             f"other weights)"] if by_name else []
    return out, notes


def has_costs(entries: pd.DataFrame) -> bool:
    return bool("macs_per_s" in entries and entries["macs_per_s"].notna().any())


def legend() -> str:
    return (f"Cost columns: `earbench analyse cost` on a {COST_SECONDS:g} s clip, on the device named: multiply-adds "
            f"per second of audio (torch's FLOP counter halved: matrix products, convolutions, attention; FFTs and "
            f"element-wise work not counted), real-time factor (median wall time of a forward over the clip's "
            f"duration; below 1 is faster than real time), peak memory of the forward (on the CPU the tensors it "
            f"made, a lower bound).")
