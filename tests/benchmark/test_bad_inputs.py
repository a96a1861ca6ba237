"""The bad-input corpus: every mistake a careful user can make, built on disk and run through
`earbench run`. Each must stop with one clear line naming the culprit (exit 2, no traceback)
before a record is written; each damaged file the harness wrote itself (a record, a cache
entry, a shard) or audio that is readable but cut short must be reported in one line and the
run go on. `CASES` and `SURVIVED` are the tables docs/errors.md lists."""
from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf
import torch

import benchmark.features.cache as cache_module
from benchmark.cli import one_line_warning
from benchmark.features import entry
from benchmark.upstream import UPSTREAMS, Encoded
from models.baselines import LogMel
from models.checkpoint import build_encoder, save_encoder
from tests.support.helpers import Broken, run_cli
from tests.support.tone_task import write_tone_task

RATE = 16000


class Workspace:
    """A case's folder: a fresh copy of the tone task, a results folder, the command to run."""

    def __init__(self, root: Path, template: Path) -> None:
        self.root, self.template, self.results = root, template, root / "results"

    def tones(self, name: str = "tones") -> Path:
        return Path(shutil.copytree(self.template, self.root / name))

    def run(self, task: Path | str, *extra: str, model: str = "logmel") -> list[str]:
        return ["run", "-m", model, "-t", str(task), "--results", str(self.results), *extra]

    def folder(self, family: str, files: dict[str, str], clips: int = 4, seconds: float = 1.0,
               toml: str = "") -> Path:
        """A folder task of `family` whose CSVs are `files`, over `clips` silent-ish clips."""
        root = self.root / family
        (root / "audio").mkdir(parents=True)
        rng = np.random.default_rng(0)
        for i in range(clips):
            sf.write(root / f"audio/{i}.wav", (0.1 * rng.standard_normal(int(seconds * RATE))).astype(np.float32),
                     RATE)
        (root / "task.toml").write_text(f'name = "{family}"\nfamily = "{family}"\n{toml}')
        for name, text in files.items():
            (root / name).write_text(text)
        return root


def edit(path: Path, old: str, new: str) -> Path:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))
    return path


def first_row(task: Path, split: str = "train") -> tuple[str, str]:
    path, label = (task / f"{split}.csv").read_text().splitlines()[1].split(",")
    return path, label


def toml(w: Workspace, line: str, drop: str | None = None) -> list[str]:
    task = w.tones()
    text = (task / "task.toml").read_text()
    if drop:
        text = "".join(l + "\n" for l in text.splitlines() if not l.startswith(drop))
    (task / "task.toml").write_text(text + line + "\n")
    return w.run(task)


def audio(w: Workspace, write: Callable[[Path], None]) -> list[str]:
    task = w.tones()
    write(task / first_row(task)[0])
    return w.run(task)


def csv(w: Workspace, split: str, text: Callable[[str], str]) -> list[str]:
    task = w.tones()
    (task / f"{split}.csv").write_text(text((task / f"{split}.csv").read_text()))
    return w.run(task)


SV_ROWS = {"train.csv": "path,speaker\naudio/0.wav,a\naudio/1.wav,b\n",
           "valid.csv": "path,speaker\naudio/0.wav,a\naudio/1.wav,b\n",
           "test.csv": "path,speaker\naudio/2.wav,c\naudio/3.wav,d\n"}


def trials(w: Workspace, text: str | None) -> list[str]:
    files = dict(SV_ROWS, **({"trials.csv": text} if text is not None else {}))
    return w.run(w.folder("speaker_verification", files), "--protocol", "knn")


def events(w: Workspace, rows: str) -> list[str]:
    body = "path,onset,offset,label\naudio/0.wav,0.1,0.5,dog\naudio/1.wav,0.2,0.6,cat\n"
    files = {"train.csv": body, "valid.csv": body, "test.csv": "path,onset,offset,label\n" + rows}
    return w.run(w.folder("sed", files))


class Raises(torch.nn.Module):
    """An upstream whose forward fails as third-party code does (a plain exception)."""

    sample_rate, hop_ms = RATE, 10.0

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        raise ValueError("shape mismatch in block 3")


class Unequal(torch.nn.Module):
    """Two layers of different widths."""

    sample_rate, hop_ms = RATE, 10.0

    def __init__(self) -> None:
        super().__init__()
        self.inner = LogMel()

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        out = self.inner(audio, lengths)
        h = out.hidden_states[0]
        return Encoded([h, h[..., :16]], out.lengths)


def failing_factory() -> torch.nn.Module:
    raise RuntimeError("weights not downloaded")


#: the test upstreams the cases name, registered for this module's tests only
TEST_UPSTREAMS: dict[str, Callable[[], torch.nn.Module]] = {
    "corpus-nan": lambda: Broken("nan"), "corpus-rank": lambda: Broken("rank"),
    "corpus-lengths": lambda: Broken("lengths"), "corpus-raises": Raises, "corpus-unequal": Unequal,
    "corpus-factory": failing_factory}


def checkpoint(w: Workspace, damage: Callable[[Path], None] | None) -> list[str]:
    folder = w.root / "ckpt"
    save_encoder(folder, build_encoder({"kind": "byola-cnn", "channels": 8, "dim": 32}), {"name": "tiny"})
    if damage is not None:
        damage(folder)
    return w.run(w.tones(), model=f"ckpt:{folder}")


def config_edit(**changes: object) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        for key, value in changes.items():
            if key.startswith("encoder."):
                config["encoder"][key.split(".", 1)[1]] = value
            else:
                config[key] = value
        (folder / "config.json").write_text(json.dumps(config))
    return apply


def wav_nan(path: Path) -> None:
    sf.write(path, np.full(RATE // 2, np.nan, np.float32), RATE, subtype="FLOAT")


@dataclass(frozen=True)
class Case:
    id: str
    what: str  # the kind of input: audio, CSV, task.toml, trials, SED events, upstream, checkpoint, option
    build: Callable[[Workspace], list[str]]  # -> the `earbench` arguments
    expect: str  # a substring of the one error line


CASES = [
    # audio
    Case("audio-missing", "audio", lambda w: csv(w, "test", lambda t: t + "audio/nowhere.wav,low\n"),
         "test.csv line 11: audio file 'audio/nowhere.wav' not found"),
    Case("audio-empty", "audio", lambda w: audio(w, lambda p: sf.write(p, np.zeros(0, np.float32), RATE)),
         "audio file is empty (0 samples)"),
    Case("audio-garbage", "audio", lambda w: audio(w, lambda p: p.write_bytes(b"not a wav file at all" * 50)),
         "cannot read audio header"),
    Case("audio-zero-bytes", "audio", lambda w: audio(w, lambda p: p.write_bytes(b"")), "cannot read audio header"),
    Case("audio-nan-samples", "audio", lambda w: audio(w, wav_nan), "audio contains NaN or infinite samples"),
    # CSV
    Case("csv-missing-column", "CSV", lambda w: csv(w, "train", lambda t: t.replace("path,label", "path,lable", 1)),
         "train.csv: missing column(s) label; expected path,label, found path,lable"),
    Case("csv-header-only", "CSV", lambda w: csv(w, "valid", lambda t: "path,label\n"),
         "valid.csv: no rows (empty split)"),
    Case("csv-blank-label", "CSV", lambda w: csv(w, "train", lambda t: t.replace(",low\n", ",\n", 1)),
         "empty 'label'"),
    Case("csv-unparseable", "CSV", lambda w: csv(w, "train", lambda t: t + 'audio/x.wav,low,"extra,\n'),
         "train.csv: cannot parse CSV"),
    Case("csv-not-utf8", "CSV", lambda w: _latin1(w), "train.csv: cannot parse CSV"),
    Case("csv-no-test-split", "CSV", lambda w: _without(w, "test.csv"), "missing test.csv"),
    Case("csv-unseen-test-label", "CSV", lambda w: csv(w, "test", lambda t: t.replace(",low\n", ",lower\n", 1)),
         "split 'test' has label(s) never seen in training: lower"),
    Case("csv-one-class-train", "CSV", lambda w: _one_class(w), "a one-class classification task"),
    Case("csv-two-folds", "CSV", lambda w: w.run(w.folder("classification", {
        "data.csv": "path,label,fold\naudio/0.wav,a,f0\naudio/1.wav,b,f0\naudio/2.wav,a,f1\naudio/3.wav,b,f1\n"})),
         "k-fold tasks need at least 3 folds, found 2"),
    Case("csv-pitch-not-midi", "CSV", lambda w: w.run(w.folder("pitch", {
        s: "path,pitch\naudio/0.wav,60\naudio/1.wav,C4\n" for s in ("train.csv", "valid.csv", "test.csv")})),
         "column 'pitch' must hold MIDI numbers"),
    # task.toml
    Case("toml-missing", "task.toml", lambda w: w.run(_without(w, "task.toml", run=False)), "tones: not a folder task (no task.toml)"),
    Case("toml-invalid", "task.toml", lambda w: toml(w, "version = ["), "task.toml: invalid TOML"),
    Case("toml-no-family", "task.toml", lambda w: toml(w, "", drop="family"), "missing required key 'family'"),
    Case("toml-name-number", "task.toml", lambda w: toml(w, "name = 42", drop="name"),
         "task.toml: key 'name' must be a string, got integer 42"),
    Case("toml-unknown-family", "task.toml", lambda w: toml(w, 'family = "classifcation"', drop="family"),
         "unknown family 'classifcation'"),
    Case("toml-metric-of-another-family", "task.toml", lambda w: toml(w, 'metrics = ["wer"]'),
         "task.toml: metric 'wer' does not apply to a classification task"),
    Case("toml-unknown-metric", "task.toml", lambda w: toml(w, 'metrics = ["acuracy"]'),
         "unknown metric 'acuracy'; did you mean 'accuracy'"),
    Case("toml-main-metric-not-listed", "task.toml", lambda w: toml(w, 'metrics = ["accuracy"]\nmain_metric = "mAP"'),
         "main_metric 'mAP' is not among the task's metrics (accuracy)"),
    Case("toml-negative-rate", "task.toml", lambda w: toml(w, "sample_rate = -16000"),
         "key 'sample_rate' must be a positive number of Hz"),
    Case("toml-path-with-brackets", "task.toml", lambda w: w.run(str(w.tones("tones[v2]")) + "-typo"),
         "tones[v2]-typo"),
    # trials
    Case("trials-missing", "trials", lambda w: trials(w, None), "speaker_verification task needs trials.csv"),
    Case("trials-all-targets", "trials", lambda w: trials(w, "enroll,test,target\naudio/2.wav,audio/3.wav,1\n"
                                                             "audio/3.wav,audio/2.wav,1\n"),
         "trials.csv: all 2 trials are target (1)"),
    Case("trials-target-not-binary", "trials", lambda w: trials(w, "enroll,test,target\naudio/2.wav,audio/3.wav,2\n"
                                                                   "audio/3.wav,audio/2.wav,0\n"),
         "trials.csv: column 'target' must be 0 or 1"),
    Case("trials-unknown-file", "trials", lambda w: trials(w, "enroll,test,target\naudio/9.wav,audio/3.wav,1\n"
                                                              "audio/3.wav,audio/2.wav,0\n"),
         "trials.csv line 2: enroll file 'audio/9.wav' not found"),
    Case("trials-missing-column", "trials", lambda w: trials(w, "enroll,test\naudio/2.wav,audio/3.wav\n"),
         "trials.csv: missing column(s) target"),
    # SED events
    Case("sed-nan-onset", "SED events", lambda w: events(w, "audio/2.wav,nan,1.0,dog\n"),
         "event 'dog' [nan, 1.0] s lies outside the clip"),
    Case("sed-offset-before-onset", "SED events", lambda w: events(w, "audio/2.wav,0.8,0.2,dog\n"),
         "event 'dog' [0.8, 0.2] s lies outside the clip (0 to 1.000 s) or ends before it starts"),
    Case("sed-past-the-end", "SED events", lambda w: events(w, "audio/2.wav,0.5,3.0,dog\n"),
         "event 'dog' [0.5, 3.0] s lies outside the clip"),
    Case("sed-onset-not-seconds", "SED events", lambda w: events(w, "audio/2.wav,soon,1.0,dog\n"),
         "onset/offset must be seconds, got 'soon', '1.0'"),
    # upstreams
    Case("upstream-unknown", "upstream", lambda w: w.run(w.tones(), model="zzzz"),
         "unknown upstream 'zzzz'; known: "),
    Case("upstream-misspelt", "upstream", lambda w: w.run(w.tones(), model="logmell"), "did you mean 'logmel'"),
    Case("upstream-nan", "upstream", lambda w: w.run(w.tones(), model="corpus-nan"),
         "upstream 'corpus-nan' returned NaN or infinite values for "),
    Case("upstream-rank", "upstream", lambda w: w.run(w.tones(), model="corpus-rank"),
         "layer 0 has shape"),
    Case("upstream-lengths", "upstream", lambda w: w.run(w.tones(), model="corpus-lengths"),
         "inconsistent with 112 frames"),
    Case("upstream-forward-raises", "upstream", lambda w: w.run(w.tones(), model="corpus-raises"),
         "(+8 more in the batch): forward raised ValueError: shape mismatch in block 3"),
    Case("upstream-factory-raises", "upstream", lambda w: w.run(w.tones(), model="corpus-factory"),
         "upstream 'corpus-factory': its factory raised RuntimeError: weights not downloaded"),
    Case("upstream-unequal-widths", "upstream", lambda w: w.run(w.tones(), model="corpus-unequal"),
         "every layer must have the same number of frames T and width D"),
    # checkpoints
    Case("ckpt-missing", "checkpoint", lambda w: w.run(w.tones(), model=f"ckpt:{w.root / 'nowhere'}"),
         "nowhere: no such checkpoint"),
    Case("ckpt-empty-folder", "checkpoint", lambda w: checkpoint(w, lambda f: shutil.rmtree(f) or f.mkdir()),
         "neither a checkpoint"),
    Case("ckpt-config-not-json", "checkpoint",
         lambda w: checkpoint(w, lambda f: (f / "config.json").write_text("{not json")), "config.json: corrupt JSON"),
    Case("ckpt-weights-altered", "checkpoint",
         lambda w: checkpoint(w, lambda f: (f / "model.safetensors").write_bytes(b"garbage")),
         "model.safetensors: corrupt (sha256 differs"),
    Case("ckpt-unknown-encoder", "checkpoint", lambda w: checkpoint(w, config_edit(**{"encoder.kind": "mystery"})),
         "unknown encoder kind 'mystery'"),
    Case("ckpt-config-disagrees", "checkpoint", lambda w: checkpoint(w, config_edit(**{"encoder.dim": 48})),
         "model.safetensors: does not match its configuration"),
    # options
    Case("option-zero-hidden", "option", lambda w: w.run(w.tones(), "--protocol", "mlp", "-o", "hidden=0"),
         "option hidden=0: expected integer >= 1 (protocol 'mlp')"),
    Case("option-negative-epochs", "option", lambda w: w.run(w.tones(), "--protocol", "mlp", "-o", "max_epochs=-5"),
         "option max_epochs=-5: expected integer >= 1"),
    Case("option-misspelt", "option", lambda w: w.run(w.tones(), "--protocol", "mlp", "-o", "max_epoch=5"),
         "has no option 'max_epoch': did you mean max_epochs?"),
    Case("option-without-value", "option", lambda w: w.run(w.tones(), "-o", "hidden"),
         "--option expects KEY=VALUE, got 'hidden'"),
    Case("option-unknown-protocol", "option", lambda w: w.run(w.tones(), "--protocol", "lineer"),
         "unknown protocol 'lineer'; did you mean 'linear'"),
    Case("option-protocol-of-another-family", "option", lambda w: w.run(w.tones(), "--protocol", "bilstm"),
         "protocol 'bilstm' does not apply to task 'tones'"),
    Case("option-bad-pooling", "option", lambda w: w.run(w.tones(), "--pooling", "median"),
         "--pooling must be one of mean, max, cls, scene, attention, got 'median'"),
    Case("option-weighted-untrained", "option", lambda w: w.run(w.tones(), "--protocol", "knn", "--layer", "weighted"),
         "--layer weighted needs a trained head"),
    Case("option-layer-out-of-range", "option", lambda w: w.run(w.tones(), "--layer", "7"),
         "layer 7 is out of range: upstream 'logmel' has 1 layers"),
    Case("option-train-fraction", "option", lambda w: w.run(w.tones(), "--train-fraction", "1.5"),
         "--train-fraction must be in (0, 1], got 1.5"),
    Case("option-no-task", "option", lambda w: ["run", "-m", "logmel", "--results", str(w.results)],
         "give --task"),
    Case("option-unknown-task", "option", lambda w: w.run("mini-kwss"), "unknown task 'mini-kwss'"),
    Case("option-results-is-a-file", "option", lambda w: _results_file(w), "results: cannot write there (it is a file, not a folder)"),
]


def _latin1(w: Workspace) -> list[str]:
    task = w.tones()
    with open(task / "train.csv", "ab") as f:
        f.write("audio/caf\xe9.wav,low\n".encode("latin-1"))
    return w.run(task)


def _one_class(w: Workspace) -> list[str]:
    task = w.tones()
    for split in ("train", "valid", "test"):
        rows = (task / f"{split}.csv").read_text().splitlines()[1:]
        (task / f"{split}.csv").write_text("path,label\n" + "".join(r.split(",")[0] + ",low\n" for r in rows))
    return w.run(task)


def _without(w: Workspace, name: str, run: bool = True) -> list[str] | Path:
    task = w.tones()
    (task / name).unlink()
    return w.run(task) if run else task


def _results_file(w: Workspace) -> list[str]:
    w.results.parent.mkdir(parents=True, exist_ok=True)
    w.results.write_text("not a folder")
    return w.run(w.tones())


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return write_tone_task(tmp_path_factory.mktemp("corpus") / "tones")


@pytest.fixture
def workspace(tmp_path, template, monkeypatch) -> Workspace:
    for name, factory in TEST_UPSTREAMS.items():
        monkeypatch.setitem(UPSTREAMS._objects, name, factory)
    monkeypatch.setattr(cache_module, "_reported", set())  # warnings are once per process: here once per case
    entry._verified.clear()  # as a fresh process: no checksum taken on trust
    return Workspace(tmp_path / "case", template)


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_input_is_one_clear_line_before_any_record(case, workspace, capsys):
    code, out, err = run_cli(capsys, *case.build(workspace))
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    lines = error_lines(err)
    assert len(lines) == 1 and case.expect in lines[0], err
    results = workspace.results
    assert not results.is_dir() or not list(results.rglob("*.json")), "a record was written for a bad input"


def test_the_corpus_covers_every_kind_of_input():
    kinds = {c.what for c in CASES}
    assert kinds == {"audio", "CSV", "task.toml", "trials", "SED events", "upstream", "checkpoint", "option"}
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


# -- what the harness wrote itself, damaged, and audio cut short: reported, and the run goes on ----

def record(w: Workspace) -> Path:
    (path,) = [p for p in w.results.rglob("*.json")]
    return path


def entry_file(name: str) -> Path:
    """`name` in the first embedding cache entry (the conftest gives each test its own cache)."""
    return sorted(cache_module.EmbeddingCache().root.glob(f"*/*/{name}"))[0]


def damage_entry(name: str, how: Callable[[Path], None]) -> Callable[[Workspace], str]:
    def apply(w: Workspace) -> str:
        path = entry_file(name)
        how(path)
        return str(path)
    return apply


def shard_left(garbage: bool) -> Callable[[Workspace], str]:
    """An extraction killed before it published: the entry gone, one finished shard (or a half
    written temporary) left in its staging folder."""
    def apply(w: Workspace) -> str:
        folder = entry_file("meta.json").parent
        partial = folder.with_name(folder.name + ".partial")
        partial.mkdir()
        name = "shard-000000.npz" if garbage else ".shard-000000.npz.x1y2.tmp"
        (partial / name).write_bytes(b"PK\x03\x04 half a zip")
        shutil.rmtree(folder)
        return str(partial / name)
    return apply


def sidecar(w: Workspace) -> str:
    (path,) = list(w.results.rglob("*.items-*.npz"))
    path.write_bytes(path.read_bytes()[:-8] + b"\0" * 8)
    return str(path)


def replace_record(text: str | None) -> Callable[[Workspace], str]:
    def apply(w: Workspace) -> str:
        path = record(w)
        path.unlink()
        path.mkdir() if text is None else path.write_text(text)
        return str(path)
    return apply


def with_rows(split: str, extra: Callable[[Path], str]) -> Callable[[Workspace], list[str]]:
    def build(w: Workspace) -> list[str]:
        task = w.tones()
        with open(task / f"{split}.csv", "a") as f:
            f.write(extra(task))
        return w.run(task, "--protocol", "knn")
    return build


def truncated_wav(w: Workspace) -> list[str]:
    task = w.tones()
    path = task / first_row(task)[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return w.run(task, "--protocol", "knn")


def plain(w: Workspace) -> list[str]:
    return w.run(w.tones(), "--protocol", "knn")


@dataclass(frozen=True)
class Survived:
    id: str
    what: str  # record, cache entry, audio, CSV
    build: Callable[[Workspace], list[str]]
    damage: Callable[[Workspace], str] | None  # applied after a clean run; -> the damaged file
    expect: str  # a substring of the one warning or note line (`{file}`: the damaged file)
    rerun: bool = False  # rerun with --rerun (the cache is read, the records replaced)


SURVIVED = [
    Survived("record-truncated", "record", plain, replace_record('{"schema": 2, "upstr'),
             "{file}: unreadable or truncated JSON (Unterminated string starting at: line 1 column 15 (char 14)); "
             "moved to seed0.json.bad-1"),
    Survived("record-array", "record", plain, replace_record("[1, 2]"), "{file}: expected a JSON object, got list"),
    Survived("record-folder", "record", plain, replace_record(None),
             "{file}: a directory, not a record file; moved to seed0.json.bad-1"),
    Survived("record-sidecar-altered", "record", plain, sidecar,
             "{file}: per-item outputs do not match the sha256 their record states"),
    Survived("cache-same-size-garbage", "cache entry", plain, damage_entry(
        "data.npy", lambda p: p.write_bytes(np.random.default_rng(0).bytes(p.stat().st_size))),
        "cache entry {file}: unreadable", rerun=True),
    Survived("cache-one-nan", "cache entry", plain, damage_entry(
        "data.npy", lambda p: p.write_bytes(p.read_bytes()[:-2] + np.float16(np.nan).tobytes())),
        "cache entry {file}: checksum mismatch", rerun=True),
    Survived("cache-truncated-data", "cache entry", plain, damage_entry(
        "data.npy", lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])),
        "cache entry {file}: unreadable", rerun=True),
    Survived("cache-empty-data", "cache entry", plain, damage_entry("data.npy", lambda p: p.write_bytes(b"")),
             "cache entry {file}: unreadable", rerun=True),
    Survived("cache-truncated-meta", "cache entry", plain, damage_entry(
        "meta.json", lambda p: p.write_text(p.read_text()[:40])), "cache entry {file}: unreadable", rerun=True),
    Survived("cache-unreadable-shard", "cache entry", plain, shard_left(garbage=True),
             "cache shard {file}: unreadable", rerun=True),
    Survived("cache-half-written-shard", "cache entry", plain, shard_left(garbage=False), "", rerun=True),
    Survived("audio-truncated-wav", "audio", truncated_wav, None, "s of audio, the file holds"),
    Survived("csv-duplicate-row", "CSV", with_rows("test", lambda t: (t / "test.csv").read_text().splitlines()[1]
                                                   + "\n"), None, "test.csv: 1 duplicate row(s) at line(s) 11"),
    Survived("csv-file-in-two-splits", "CSV", with_rows("test", lambda t: ",".join(first_row(t)) + "\n"), None,
             "file(s) of 'test' also in 'train'"),
    Survived("csv-conflicting-labels", "CSV", with_rows("train", lambda t: first_row(t)[0] + ",high\n"), None,
             "train.csv: 1 file(s) with conflicting labels"),
]


def notices(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(("warning:", "note:"))]


def scores(w: Workspace) -> dict:
    return {str(p.relative_to(w.results)): json.loads(p.read_text())["metrics"] for p in w.results.rglob("*.json")}


@pytest.mark.parametrize("case", SURVIVED, ids=[c.id for c in SURVIVED])
def test_damage_is_reported_in_one_line_and_the_run_goes_on(case, workspace, capsys):
    args = case.build(workspace)
    clean = None
    if case.damage is not None:
        code, _, err = run_cli(capsys, *args)
        assert code == 0 and not notices(err), err
        clean = scores(workspace)
        file = case.damage(workspace)
        entry._verified.clear()  # the next run is a new process
        args += ["--rerun"] if case.rerun else []
    with warnings.catch_warnings(record=True) as caught:  # as the CLI prints them (pytest would keep them)
        warnings.simplefilter("always")
        code, out, err = run_cli(capsys, *args)
    assert code == 0 and "Traceback" not in out + err, (code, out, err)
    expect = case.expect.format(file=file) if case.damage is not None else case.expect
    lines = notices(err) + [one_line_warning(w.message, w.category, w.filename, w.lineno).strip() for w in caught]
    if expect:
        assert sum(expect in line for line in lines) == 1, err
    else:
        assert lines == [], err
    assert scores(workspace) and (clean is None or scores(workspace) == clean)
    root = cache_module.EmbeddingCache().root
    assert not list(root.rglob("*.tmp")) and not list(root.glob("*/*.partial")), "staging left behind"


def test_the_survivors_cover_what_the_harness_writes_and_reads():
    assert {c.what for c in SURVIVED} == {"record", "cache entry", "audio", "CSV"}
    assert len({c.id for c in SURVIVED}) == len(SURVIVED)


# -- the tables as docs/errors.md lists them --------------------------------------------------------

ERRORS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def corpus_markdown() -> str:
    """The two tables of docs/errors.md, from `CASES` and `SURVIVED` (paste them there when they change:
    `python -c 'from tests.benchmark.test_bad_inputs import corpus_markdown; print(corpus_markdown())'`)."""
    return "\n".join(corpus_tables())


def corpus_tables() -> tuple[str, str]:
    errors = ["| case | input | exit 2 with one line that says |", "|---|---|---|"]
    errors += [f"| {c.id} | {c.what} | `{c.expect}` |" for c in CASES]
    survived = ["| case | damaged | exit 0, one line says (FILE: the damaged file), and the run goes on |",
                "|---|---|---|"]
    survived += [f"| {c.id} | {c.what} | " + (f"`{c.expect.format(file='FILE')}`" if c.expect else
                                              "nothing: it is removed") + (" (with `--rerun`)" if c.rerun else "") + " |"
                 for c in SURVIVED]
    return "\n".join(errors) + "\n", "\n".join(survived) + "\n"


def test_the_errors_page_lists_the_corpus():
    page = ERRORS_PAGE.read_text()
    assert all(table in page for table in corpus_tables())
