"""Writing a rendered plan as a folder task (docs/tasks.md): task.toml, CSVs, provenance, checksums.

`checksums.sha256` is written last and covers every other file, in `sha256sum -c`
format: its presence marks a complete folder, its content proves two builds identical.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from .audio import SAMPLE_RATE
from .blueprint import SPLITS, Clip, Blueprint
from .scene import Event
from .sources import SOURCES, version

CHECKSUMS = "checksums.sha256"
PROVENANCE = "provenance.json"

METRICS: dict[str, tuple[tuple[str, ...], str]] = {
    "classification": (("accuracy",), "accuracy"),
    "tagging": (("mAP", "d_prime"), "mAP"),
    "sed": (("event_onset_200ms_fms", "segment_1s_er"), "event_onset_200ms_fms"),
    "asr": (("wer", "cer"), "wer"),
    "speaker_verification": (("eer", "min_dcf"), "eer"),
    "retrieval": (("r@1", "r@5", "r@10"), "r@1"),
    "pitch": (("pitch_acc", "chroma_acc"), "pitch_acc"),
}


def _toml(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def rows(plan: Blueprint, clip: Clip, events: list[Event]) -> list[dict[str, object]]:
    """The CSV rows of `clip`: a row per event for SED, per list element, or just one."""
    if plan.family == "sed":
        return [{"path": clip.path, "onset": on, "offset": off, "label": label}
                for label, on, off in events]
    many = [k for k, v in clip.fields.items() if isinstance(v, (list, tuple))]
    if not many:
        return [{"path": clip.path, **clip.fields}]
    (key,) = many
    return [{"path": clip.path, **clip.fields, key: v} for v in clip.fields[key]]


def write_csv(path: Path, table: Sequence[Mapping[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)


def write_folder(root: Path, plan: Blueprint, events: Mapping[str, list[Event]],
                 *, size: str, seed: int, generator_version: str, duration_s: float) -> None:
    """Everything but the audio (already rendered under `root`), checksums last."""
    for split in SPLITS:
        table = [r for c in plan.clips if c.split == split for r in rows(plan, c, events[c.path])]
        if table:
            write_csv(root / f"{split}.csv", table)
    for name, table in plan.tables.items():
        write_csv(root / name, table)
    sources = [SOURCES[s] for s in plan.sources]
    if plan.family is not None:
        metrics, main = METRICS[plan.family]
        spec = {
            "name": plan.name, "family": plan.family, "description": plan.description,
            "license": "; ".join(s.license for s in sources),
            "source": f"earbench mini suite (tasks/mini), synthesised offline from Debian "
                      f"packages {', '.join(s.package for s in sources)}",
            "version": generator_version, "metrics": metrics, "main_metric": main,
            "sample_rate": SAMPLE_RATE,
        }
        (root / "task.toml").write_text("".join(f"{k} = {_toml(v)}\n" for k, v in spec.items()),
                                        encoding="utf-8")
    provenance = {
        "name": plan.name, "generator": "tasks.mini", "generator_version": generator_version,
        "size": size, "seed": seed, "clips": len(plan.clips), "duration_s": round(duration_s, 3),
        "sources": [{"name": s.name, "package": s.package, "version": version(s.name),
                     "license": s.license, "url": s.url} for s in sources],
    }
    (root / PROVENANCE).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    write_checksums(root)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_checksums(root: Path, to: Path | None = None) -> None:
    """The checksums of every file under `root` but themselves, written to `to` (default: their place)."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != CHECKSUMS and not p.name.startswith("."))
    lines = [f"{_sha256(p)}  {p.relative_to(root).as_posix()}\n" for p in files]
    (to or root / CHECKSUMS).write_text("".join(lines), encoding="utf-8")


def verify_checksums(root: Path) -> list[str]:
    """Files of folder `root` whose content no longer matches its checksums (or are missing)."""
    bad = []
    for line in (root / CHECKSUMS).read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        path = root / name
        if not path.is_file() or _sha256(path) != digest:
            bad.append(name)
    return bad


def read_provenance(root: Path) -> dict[str, object] | None:
    """The provenance of a complete folder (one with checksums), else None."""
    if not (root / CHECKSUMS).is_file() or not (root / PROVENANCE).is_file():
        return None
    return json.loads((root / PROVENANCE).read_text(encoding="utf-8"))
