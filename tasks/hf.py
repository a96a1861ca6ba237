"""Hugging Face datasets as earbench tasks: the `hf:` task scheme.

    hf:SOURCE[@REVISION][?KEY=VALUE&KEY=VALUE...]

SOURCE is a Hub dataset `OWNER/NAME`, or a local directory: one written by
`Dataset(Dict).save_to_disk`, or an `audiofolder` (audio files in split folders, labels
from class folders or a metadata.csv with `file_name`; read by earbench itself, since the
`datasets` builder needs torchcodec). REVISION pins a Hub commit, branch or tag (it
becomes the task's version; without it the dataset's fingerprint does). Keys:

    config=NAME           the dataset configuration (Hub datasets with several)
    audio=COLUMN          the audio column (default `audio`)
    label=COLUMN          classification (the default family, column `label`)
    labels=COLUMN         tagging (a list, or a string joined by `;`)
    transcript=COLUMN     asr
    caption=COLUMN        retrieval (a string or a list of captions)
    pitch=COLUMN          pitch (MIDI numbers)
    train=SPLIT valid=SPLIT test=SPLIT
                          the dataset's split names (defaults: train; validation|valid|dev;
                          test). Without a validation split, 10% of train (by row hash) is held out.
    fold=COLUMN [split=SPLIT]
                          k-fold instead: the folds are the values of COLUMN of SPLIT (default train)
    name=TASK  metrics=M1,M2  main_metric=M
                          the task's name (default hf-OWNER-NAME) and metrics (the family's defaults)

Examples: `hf:ashraq/esc50@e3b1e2a?label=category&fold=fold`,
`hf:./my_saved_dataset?transcript=text`, `hf:/data/my_audiofolder`.

Audio is read with `datasets.Audio(decode=False)` (no torchcodec/ffmpeg): embedded bytes
are decoded with soundfile and written as WAV under `$EARBENCH_HOME/hf/`; files a local
dataset references by path are used where they are. The task is then an ordinary folder
task in that cache (validated the same way), built once per (source, revision, options).
"""
from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pandas as pd
import soundfile as sf

from benchmark.errors import TaskError
from benchmark.sources.folder import load_folder_task
from benchmark.storage import atomic_dir, home
from benchmark.family import FAMILIES
from benchmark.task import TaskSpec

#: the key naming a dataset's target column -> its family: every family whose CSV rows are a
#: path and that one column (no trial list), the key being the column's name
FIELD_OF_FAMILY = {family.columns[1]: name for name, family in FAMILIES.items()
                   if len(family.columns) == 2 and not family.trials}
KEYS = {"config", "audio", *FIELD_OF_FAMILY, "train", "valid", "test", "fold", "split", "name", "metrics",
        "main_metric"}
VALID_NAMES = ("validation", "valid", "dev")
VALID_FRACTION = 0.1
WAV_SUBTYPES = {"PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "PCM_U8"}


@dataclass(frozen=True)
class HFSpec:
    source: str
    revision: str | None = None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def local(self) -> Path | None:
        path = Path(self.source).expanduser()
        return path.resolve() if path.is_dir() else None

    @property
    def family(self) -> str:
        given = [k for k in FIELD_OF_FAMILY if k in self.options]
        if len(given) > 1:
            raise TaskError(f"hf:{self.source}: give one target column, not {', '.join(given)}")
        return FIELD_OF_FAMILY[given[0]] if given else "classification"

    @property
    def target(self) -> tuple[str, str]:
        """(manifest field, dataset column)."""
        key = next((k for k in FIELD_OF_FAMILY if k in self.options), "label")
        return key, self.options.get(key, key)

    @property
    def name(self) -> str:
        default = "hf-" + re.sub(r"[^A-Za-z0-9]+", "-", Path(self.source).name if self.local else self.source).strip("-")
        return self.options.get("name", default.lower())


def parse_spec(argument: str) -> HFSpec:
    """`SOURCE[@REVISION][?k=v&...]` (the part after `hf:`)."""
    head, _, query = argument.partition("?")
    source, _, revision = head.rpartition("@") if "@" in head else (head, "", "")
    if not source:
        raise TaskError(f"hf:{argument}: expected hf:OWNER/NAME[@REVISION][?key=value&...] or hf:LOCAL_DIR")
    options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=False)) if query else {}
    unknown = sorted(set(options) - KEYS)
    if unknown:
        raise TaskError(f"hf:{argument}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}")
    spec = HFSpec(source, revision or None, options)
    spec.family  # noqa: B018 - validates the target keys
    return spec


def load_dataset_dict(spec: HFSpec) -> Any:
    """A DatasetDict from the Hub, a save_to_disk directory or an audiofolder."""
    import datasets
    try:
        if spec.local is not None:
            if (spec.local / "dataset_dict.json").is_file() or (spec.local / "state.json").is_file():
                loaded = datasets.load_from_disk(str(spec.local))
            else:
                loaded = read_audiofolder(spec.local)
        else:
            loaded = datasets.load_dataset(spec.source, spec.options.get("config"), revision=spec.revision)
    except (FileNotFoundError, ValueError, ConnectionError, OSError) as err:
        hint = ("" if spec.local else " Offline? A dataset already in the Hugging Face cache loads with "
                "HF_DATASETS_OFFLINE=1; or save it with `save_to_disk` and pass the directory.")
        raise TaskError(f"hf:{spec.source}: cannot load the dataset: {err}.{hint}") from err
    if isinstance(loaded, datasets.Dataset):
        loaded = datasets.DatasetDict({"train": loaded})
    return loaded


AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au", ".opus"}
SPLIT_DIRS = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
              "val": "validation", "dev": "validation", "test": "test", "testing": "test", "eval": "test"}


def read_audiofolder(root: Path) -> Any:
    """The `audiofolder` convention, read without `datasets`' builder (which needs torchcodec to
    encode audio in datasets >= 4): split folders (train/validation/test; none = all train),
    labels from class folders, or a metadata.csv with a `file_name` column and other columns."""
    import datasets
    split_dirs = {SPLIT_DIRS[p.name]: p for p in sorted(root.iterdir()) if p.is_dir() and p.name in SPLIT_DIRS}
    split_dirs = split_dirs or {"train": root}
    metadata = {}
    for meta_path in (root / "metadata.csv", *(d / "metadata.csv" for d in split_dirs.values())):
        if meta_path.is_file():
            table = pd.read_csv(meta_path, dtype=str, keep_default_na=False)
            if "file_name" not in table.columns:
                raise TaskError(f"{meta_path}: an audiofolder metadata.csv needs a file_name column")
            for row in table.to_dict("records"):
                metadata[str((meta_path.parent / row.pop("file_name")).resolve())] = row
    parts = {}
    for split, directory in split_dirs.items():
        files = sorted(p.resolve() for p in directory.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
        if not files:
            raise TaskError(f"{directory}: no audio files (audiofolder split {split!r})")
        rows: dict[str, list] = {"audio": [{"bytes": None, "path": str(f)} for f in files]}
        if metadata:
            missing = [f for f in files if str(f) not in metadata]
            if missing:
                raise TaskError(f"{missing[0]}: not listed in the audiofolder's metadata.csv")
            for column in next(iter(metadata.values())):
                rows[column] = [metadata[str(f)].get(column, "") for f in files]
        elif all(f.parent != directory.resolve() for f in files):
            rows["label"] = [f.parent.name for f in files]
        parts[split] = rows
    features = {"audio": {"bytes": datasets.Value("binary"), "path": datasets.Value("string")}}
    names = sorted({x for rows in parts.values() for x in rows.get("label", [])})
    if names and not metadata:
        features["label"] = datasets.ClassLabel(names=names)
    out = {}
    for split, rows in parts.items():
        columns = {k: datasets.Value("string") for k in rows if k not in features}
        dataset = datasets.Dataset.from_dict(rows, features=datasets.Features({**features, **columns}))
        out[split] = dataset.cast_column("audio", datasets.Audio())
    return datasets.DatasetDict(out)


def _fingerprint(spec: HFSpec, dsd: Any) -> str:
    parts = {"source": str(spec.local or spec.source), "revision": spec.revision, "options": sorted(spec.options.items()),
             "splits": {k: getattr(v, "_fingerprint", "") for k, v in dsd.items()}}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _plan(spec: HFSpec, dsd: Any) -> dict[str, str]:
    """earbench split -> dataset split (k-fold: {'data': split})."""
    names = list(dsd)
    if "fold" in spec.options:
        split = spec.options.get("split", "train")
        if split not in dsd:
            raise TaskError(f"hf:{spec.source}: no split {split!r} (has {', '.join(names)})")
        return {"data": split}
    plan = {"train": spec.options.get("train", "train"),
            "valid": spec.options.get("valid") or next((n for n in VALID_NAMES if n in dsd), ""),
            "test": spec.options.get("test", "test")}
    for role, split in plan.items():
        if split and split not in dsd:
            raise TaskError(f"hf:{spec.source}: no split {split!r} for {role} (the dataset has {', '.join(names)}); "
                            f"name it with {role}=SPLIT")
    return plan


def _label_decoder(feature: Any) -> Any:
    """Values of a column -> strings (ClassLabel ids -> names, lists kept as lists)."""
    import datasets
    inner = getattr(feature, "feature", None)
    if isinstance(feature, (datasets.Sequence, list)) or inner is not None:
        element = inner if inner is not None else feature[0]
        decode = _label_decoder(element)
        return lambda v: [decode(x) for x in v]
    if isinstance(feature, datasets.ClassLabel):
        return lambda v: feature.int2str(int(v))
    return lambda v: v if isinstance(v, list) else str(v)


def _write_audio(item: dict, out: Path, rel: str) -> str:
    """One `Audio(decode=False)` value -> a CSV path (a WAV written into the cache, or the local file)."""
    data, path = item.get("bytes"), item.get("path")
    if data is None:
        if path and Path(path).is_file():
            return str(Path(path).resolve())
        raise TaskError(f"audio item {path!r} has neither bytes nor a readable local file")
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            audio, rate, subtype = f.read(dtype="float32", always_2d=True), f.samplerate, f.subtype
    except (RuntimeError, sf.LibsndfileError) as err:
        raise TaskError(f"audio item {path or rel!r}: soundfile cannot decode it ({err})") from None
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    sf.write(out / rel, audio, rate, subtype=subtype if subtype in WAV_SUBTYPES else "PCM_16", format="WAV")
    return rel


def _rows(spec: HFSpec, dataset: Any, out: Path, prefix: str) -> pd.DataFrame:
    import datasets
    audio_column = spec.options.get("audio", "audio")
    field_name, column = spec.target
    fold_column = spec.options.get("fold")
    for needed in filter(None, (audio_column, column, fold_column)):
        if needed not in dataset.column_names:
            raise TaskError(f"hf:{spec.source}: no column {needed!r} in split {prefix!r} "
                            f"(columns: {', '.join(dataset.column_names)}); map it with e.g. "
                            f"{'audio' if needed == audio_column else field_name}=COLUMN")
    dataset = dataset.cast_column(audio_column, datasets.Audio(decode=False))
    decode = _label_decoder(dataset.features[column])
    decode_fold = _label_decoder(dataset.features[fold_column]) if fold_column else None
    rows = []
    for index, item in enumerate(dataset):
        path = _write_audio(item[audio_column], out, f"audio/{prefix}/{index:07d}.wav")
        value = decode(item[column])
        fold = {"fold": str(decode_fold(item[fold_column]))} if decode_fold else {}
        if field_name == "caption":
            for caption in (value if isinstance(value, list) else [value]):
                rows.append({"path": path, "caption": str(caption), **fold})
        elif field_name == "labels":
            labels = value if isinstance(value, list) else str(value).split(";")
            rows.append({"path": path, "labels": ";".join(str(x).strip() for x in labels if str(x).strip()), **fold})
        else:
            rows.append({"path": path, field_name: value if not isinstance(value, list) else ";".join(value), **fold})
    if not rows:
        raise TaskError(f"hf:{spec.source}: split {prefix!r} is empty")
    return pd.DataFrame(rows)


def _toml(value: object) -> str:
    return json.dumps(value) if not isinstance(value, (list, tuple)) else "[" + ", ".join(map(_toml, value)) + "]"


def build_folder(spec: HFSpec, dsd: Any, out: Path) -> None:
    plan = _plan(spec, dsd)
    tables = {role: _rows(spec, dsd[split], out, role) for role, split in plan.items() if split}
    if "data" not in tables and "valid" not in tables:  # hold out 10% of train, by a hash of the row
        train = tables["train"]
        from tasks.datasets.common import hold_out
        held = pd.Series(hold_out([f"{spec.source}:{i}" for i in train.index], VALID_FRACTION, "hf-valid"),
                         index=train.index)
        tables["train"], tables["valid"] = train[~held], train[held]
    for role, table in tables.items():
        table.to_csv(out / f"{role}.csv", index=False, lineterminator="\n")
    family = spec.family
    keys = {"name": spec.name, "family": family, "description": f"Hugging Face dataset {spec.source}",
            "version": spec.revision or f"fingerprint-{_fingerprint(spec, dsd)}", "license": "",
            "source": f"hf:{spec.source}" + (f"@{spec.revision}" if spec.revision else "")}
    if "metrics" in spec.options:
        keys["metrics"] = [m.strip() for m in spec.options["metrics"].split(",") if m.strip()]
    if "main_metric" in spec.options:
        keys["main_metric"] = spec.options["main_metric"]
    try:
        info = dsd[next(iter(dsd))].info
        keys["license"] = str(info.license or "")
        keys["citation"] = str(info.citation or "")
    except (AttributeError, StopIteration):
        pass
    (out / "task.toml").write_text("".join(f"{k} = {_toml(v)}\n" for k, v in keys.items()))


def load_hf_task(argument: str) -> TaskSpec:
    """The `hf` task scheme: build (once) and load the folder task of a Hugging Face dataset."""
    spec = parse_spec(argument)
    dsd = load_dataset_dict(spec)
    root = home() / "hf" / f"{spec.name}-{_fingerprint(spec, dsd)}"
    if not (root / "task.toml").is_file():
        with atomic_dir(root) as staged:
            build_folder(spec, dsd, staged)
            load_folder_task(staged)  # validate before publishing
    return load_folder_task(root)
