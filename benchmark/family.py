"""What a task family is: one `Family` object per family, all of them in this module.

A family says what a task predicts and how it is read and scored: the columns of its
folder-task CSVs, the manifest column its labels land in, whether test labels must have
been seen in training, its prediction type and default metrics, whether its heads read
frame embeddings or one pooled embedding per clip, and the head each protocol runs on it.
Sources, protocols and the planner ask the family rather than test its name.

Adding a family touches this file only: append a `Family(...)` to `FAMILIES`, naming for
each protocol that applies its head (`Head("module:function")`; `probes(...)` gives the
head shared by `linear` and `mlp`). Its CSV rows must take a layout the folder format
already reads (see `benchmark.sources.folder.LAYOUTS`: one value per row, a `;`-joined
label set, MIDI numbers, one row per caption or per event), and its heads must exist.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from benchmark.errors import TaskError
from benchmark.registry import import_string
from benchmark.scoring.metrics import METRICS, Metric

if TYPE_CHECKING:  # manifests are DataFrames; the families are read (e.g. by `earbench list`) without pandas
    import pandas as pd


@dataclass(frozen=True)
class Head:
    """What one protocol runs on one family: the function `target` (`module:function`),
    called as `(ctx, roles, seed)` -> (metrics, chosen, per-item outputs), with `kind`
    appended for the heads `linear` and `mlp` share ("linear" or "mlp": the capacity). A
    name, not the function, so that this contract does not import the protocols; it is
    imported when first run."""

    target: str
    kind: str | None = None

    @property
    def function(self) -> Callable[..., tuple]:
        return import_string(self.target)  # type: ignore[return-value]

    def __call__(self, ctx: Any, roles: dict[str, list[str]], seed: int) -> tuple:
        if self.kind is None:
            return self.function(ctx, roles, seed)
        return self.function(ctx, roles, seed, self.kind)


def probes(target: str) -> dict[str, Head]:
    """The `linear` and `mlp` heads of a family: one function, two capacities."""
    return {"linear": Head(target, "linear"), "mlp": Head(target, "mlp")}


def one_label(value: Any) -> Iterable:
    return (value,)


def label_set(value: Any) -> Iterable:
    return value


def event_labels(value: Any) -> Iterable:
    return (event[2] for event in value)


@dataclass(frozen=True)
class Family:
    """One task family.

    `columns` are the folder-task CSV columns (`blank_columns` may be empty: a clip without
    events); `label_column` is the manifest column holding what is predicted, and
    `label_names(value)` the label names one of its values holds. `closed_vocabulary`: every
    test label must occur in training. `frames`: heads read frame embeddings; `pooled`:
    heads read one embedding per clip, so attention pooling applies. `stratify`: the
    column a training subsample keeps the proportions of. `trials`: a trial list pairs
    test clips. `scored_on_values`: top-1 metrics compare label values (MIDI numbers, so
    that chroma can be scored), not class indices. `domain`: the audio its tasks hold when
    their names do not say (the leaderboard's per-domain averages).
    """

    name: str
    prediction_type: str
    metrics: tuple[str, ...]
    main_metric: str
    columns: tuple[str, ...]
    label_column: str
    heads: Mapping[str, Head]
    label_names: Callable[[Any], Iterable] = one_label
    closed_vocabulary: bool = False
    frames: bool = False
    pooled: bool = False
    stratify: str | None = None
    trials: bool = False
    blank_columns: tuple[str, ...] = ()
    scored_on_values: bool = False
    domain: str | None = None

    @property
    def multilabel(self) -> bool:
        """A clip holds a set of labels (scored by ranking, trained with sigmoids)."""
        return self.prediction_type == "multilabel"

    def labels(self, manifest: pd.DataFrame) -> set:
        """Every label name `manifest` uses."""
        return {name for value in manifest[self.label_column] for name in self.label_names(value)}

    def vocabulary(self, manifest: pd.DataFrame) -> list:
        """The sorted labels of `manifest` (a head's classes, from the whole training split)."""
        return sorted(self.labels(manifest))

    def handles(self, protocol: str) -> bool:
        return protocol in self.heads

    def head(self, protocol: str) -> Head:
        if protocol not in self.heads:
            raise TaskError(f"family {self.name!r} has no {protocol!r} head; it has: {', '.join(self.heads)}")
        return self.heads[protocol]


QBE = Head("benchmark.protocols.qbe:run")
#: the heads of clip families: one embedding per clip in, class scores out
CLIP_HEADS = {**probes("benchmark.protocols.clip:run_clip"), "knn": Head("benchmark.protocols.knn:run_clip_knn"),
              "qbe": QBE, "finetune": Head("benchmark.protocols.finetune:run")}
ZEROSHOT_CLASSES = Head("benchmark.protocols.zeroshot:run_classes")

FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("classification", "multiclass", ("accuracy", "macro_f1"), "accuracy",
           columns=("path", "label"), label_column="label", closed_vocabulary=True, pooled=True, stratify="label",
           heads={**CLIP_HEADS, "zeroshot": ZEROSHOT_CLASSES}),
    Family("tagging", "multilabel", ("mAP", "roc_auc", "d_prime"), "mAP",
           columns=("path", "labels"), label_column="labels", label_names=label_set, closed_vocabulary=True,
           pooled=True, heads={**CLIP_HEADS, "zeroshot": ZEROSHOT_CLASSES}),
    Family("sed", "frame_multilabel", ("event_onset_200ms_fms", "segment_1s_er"), "event_onset_200ms_fms",
           columns=("path", "onset", "offset", "label"), label_column="events", label_names=event_labels,
           closed_vocabulary=True, frames=True, blank_columns=("onset", "offset", "label"),
           heads={**probes("benchmark.protocols.sed:run_sed"), "knn": Head("benchmark.protocols.knn:run_sed_knn")}),
    Family("asr", "transcript", ("wer", "cer"), "wer",
           columns=("path", "transcript"), label_column="transcript", frames=True, domain="speech",
           heads={**probes("benchmark.protocols.asr:run_ctc_grid"),
                  "bilstm": Head("benchmark.protocols.asr:run_bilstm")}),
    Family("speaker_verification", "trial_scores", ("eer", "min_dcf"), "eer",
           columns=("path", "speaker"), label_column="speaker", stratify="speaker", trials=True, domain="speech",
           heads={**probes("benchmark.protocols.speaker:run_projection"),
                  "knn": Head("benchmark.protocols.speaker:run_cosine"), "qbe": QBE}),
    Family("retrieval", "ranking", ("r@1", "r@5", "r@10", "mAP@10"), "r@1",
           columns=("path", "caption"), label_column="captions", label_names=label_set,
           heads={**probes("benchmark.protocols.retrieval:run_two_tower"),
                  "knn": Head("benchmark.protocols.retrieval:run_caption_knn"),
                  "zeroshot": Head("benchmark.protocols.zeroshot:run_captions")}),
    Family("pitch", "multiclass", ("pitch_acc", "chroma_acc"), "pitch_acc",
           columns=("path", "pitch"), label_column="pitch", closed_vocabulary=True, pooled=True, stratify="pitch",
           scored_on_values=True, domain="music", heads=CLIP_HEADS),
)}


def family_of(name: str) -> Family:
    """The family called `name`; an unknown name is a one-line error listing the known ones."""
    if name not in FAMILIES:
        raise TaskError(f"unknown family {name!r}; expected one of {', '.join(FAMILIES)}")
    return FAMILIES[name]


def applies(metric: Metric, family: Family) -> bool:
    """Whether `family`'s heads yield what `metric` scores (undeclared metrics are not checked)."""
    if metric.predictions is None:
        return True
    return family.prediction_type in metric.predictions and (family.scored_on_values or not metric.on_values)


def applicable_metrics(family: Family) -> list[str]:
    return [name for name in METRICS.names() if applies(METRICS.get(name), family)]


def check_metrics(family: Family, metrics: Iterable[str], main_metric: str) -> None:
    """Every metric is known and scores what `family` predicts, and the main one is among them:
    a mistake here would otherwise surface only after extraction and probing. Every task
    source gets this check (`TaskSpec` runs it); the TaskError says what, its caller where."""
    metrics = tuple(metrics)
    for name in metrics:
        if name not in METRICS:
            raise TaskError(METRICS.unknown_message(name))
        if not applies(METRICS.get(name), family):
            article = "an" if family.name[0] in "aeiou" else "a"
            raise TaskError(f"metric {name!r} does not apply to {article} {family.name} task; "
                            f"metrics that apply: {', '.join(applicable_metrics(family))}")
    if main_metric and main_metric not in metrics:
        raise TaskError(f"main_metric {main_metric!r} is not among the task's metrics ({', '.join(metrics)})")


def families_with(protocol: str) -> tuple[str, ...]:
    """The names of the families `protocol` has a head for."""
    return tuple(name for name, family in FAMILIES.items() if family.handles(protocol))
