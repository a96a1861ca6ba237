"""Miniature copies of each corpus's published layout: the same folder and file names, the
same metadata files with the real column names, a few short generated audio files (a
class-dependent tone in noise, so that a probe can learn something).
"""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import soundfile as sf


def tone(label: str, seconds: float, rate: int, seed: str = "") -> np.ndarray:
    """A tone whose pitch depends on `label`, with a little noise; deterministic."""
    digest = hashlib.sha1(f"{label}".encode()).digest()
    freq = 150.0 * 2 ** (digest[0] / 256 * 4)  # 150 Hz .. 2.4 kHz
    rng = np.random.default_rng(int.from_bytes(hashlib.sha1(f"{label}|{seed}".encode()).digest()[:4], "big"))
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * min(freq, 0.4 * rate) * t) + 0.03 * rng.standard_normal(len(t))
    return wave.astype(np.float32)


def wav(path: Path, label: str, seconds: float = 0.3, rate: int = 16000, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(label, seconds, rate, path.name), rate, format=fmt)
    return path


def write_rows(path: Path, header: list[str], rows: list[list[object]], delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


# --------------------------------------------------------------------------- environment


def esc50(root: Path, per_fold: int = 2, classes: tuple[str, ...] = ("dog", "rain", "siren")) -> Path:
    base = root / "ESC-50-master"
    rows = []
    for fold in range(1, 6):
        for target, category in enumerate(classes):
            for take in range(per_fold):
                name = f"{fold}-{1000 + target}-{'AB'[take]}-{target}.wav"
                wav(base / "audio" / name, category, rate=44100)
                rows.append([name, fold, target, category, "False", f"{1000 + target}.ogg", "AB"[take]])
    write_rows(base / "meta" / "esc50.csv", ["filename", "fold", "target", "category", "esc10", "src_file", "take"], rows)
    return root


def urbansound8k(root: Path, per_fold: int = 1, classes: tuple[str, ...] = ("dog_bark", "siren", "drilling")) -> Path:
    base = root / "UrbanSound8K"
    rows = []
    for fold in range(1, 11):
        for class_id, name in enumerate(classes):
            for k in range(per_fold):
                file = f"{100 + fold * 10 + k}-{class_id}-0-{k}.wav"
                wav(base / "audio" / f"fold{fold}" / file, name, rate=22050)
                rows.append([file, 100 + fold, 0.0, 0.3, 1, fold, class_id, name])
    write_rows(base / "metadata" / "UrbanSound8K.csv",
               ["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"], rows)
    return root


def fsd50k(root: Path) -> Path:
    labels = ["Bark,Dog,Animal", "Rain,Water", "Bark,Dog,Animal", "Rain,Water", "Siren,Vehicle"]
    dev_rows, eval_rows = [], []
    for k in range(15):
        label = labels[k % len(labels)]
        wav(root / "FSD50K.dev_audio" / f"{1000 + k}.wav", label, rate=44100)
        dev_rows.append([1000 + k, label, "/m/x", "val" if k % 5 == 4 and k > 5 else "train"])
    for k in range(6):
        label = labels[k % len(labels)]
        wav(root / "FSD50K.eval_audio" / f"{2000 + k}.wav", label, rate=44100)
        eval_rows.append([2000 + k, label, "/m/x"])
    truth = root / "FSD50K.ground_truth"
    write_rows(truth / "dev.csv", ["fname", "labels", "mids", "split"], dev_rows)
    write_rows(truth / "eval.csv", ["fname", "labels", "mids"], eval_rows)
    write_rows(truth / "vocabulary.csv", [], [[0, "Bark", "/m/05tny_"], [1, "Rain", "/m/06mb1"]])
    return root


def audioset(root: Path) -> Path:
    mids = ["/m/09x0r", "/m/0bt9lr", "/m/06mb1"]
    write_rows(root / "class_labels_indices.csv", ["index", "mid", "display_name"],
               [[0, mids[0], "Speech"], [1, mids[1], "Dog"], [2, mids[2], "Rain"]])

    def segments(name: str, ids: list[str]) -> None:
        lines = ["# Segments csv created Sun Mar  5 10:54:31 2017",
                 f"# num_ytids={len(ids)}, num_segs={len(ids)}, num_unique_labels=3, num_positive_labels={len(ids)}",
                 "# YTID, start_seconds, end_seconds, positive_labels"]
        for k, ytid in enumerate(ids):
            labels = ",".join(mids[: 1 + k % 3])
            lines.append(f'{ytid}, 30.000, 40.000, "{labels}"')
            naming = ("Y{}.wav", "{}_30.000.wav", "{}.flac")[k % 3]
            wav(root / "audio" / name / naming.format(ytid), labels, rate=16000, fmt="FLAC" if naming.endswith("flac") else None)
        (root / f"{name}_segments.csv").write_text("\n".join(lines) + "\n")
    segments("balanced_train", [f"tr{k:03d}-_abcd"[:11] for k in range(30)])
    segments("eval", [f"ev{k:03d}_xyzwq"[:11] for k in range(9)])
    return root


def tau2020(root: Path) -> Path:
    base = root / "TAU-urban-acoustic-scenes-2020-mobile-development"
    scenes = ("airport", "park", "metro")
    meta, train, test = [], [], []
    for scene in scenes:
        for city in ("barcelona", "helsinki", "lisbon", "london", "lyon", "paris"):
            for segment in range(2):
                device = "a" if segment == 0 else "s1"
                name = f"audio/{scene}-{city}-0-{segment}-{device}.wav"
                wav(base / name, scene, rate=44100)
                meta.append([name, scene, f"{city}-0", device])
                (test if city in ("lyon", "paris") else train).append([name, scene])
    write_rows(base / "meta.csv", ["filename", "scene_label", "identifier", "source_label"], meta, "\t")
    write_rows(base / "evaluation_setup" / "fold1_train.csv", ["filename", "scene_label"], train, "\t")
    write_rows(base / "evaluation_setup" / "fold1_evaluate.csv", ["filename", "scene_label"], test, "\t")
    write_rows(base / "evaluation_setup" / "fold1_test.csv", ["filename"], [[r[0]] for r in test], "\t")
    return root


def _scene(path: Path, seconds: float, rate: int, events: list[tuple[float, float, str]]) -> None:
    audio = 0.01 * np.random.default_rng(len(events)).standard_normal(int(seconds * rate)).astype(np.float32)
    for onset, offset, label in events:
        span = slice(int(onset * rate), int(offset * rate))
        audio[span] += tone(label, (span.stop - span.start + 1) / rate, rate)[: span.stop - span.start]
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, rate)


def desed(root: Path, clips: int = 4) -> Path:
    base = root / "dcase" / "dataset"
    labels = ("Speech", "Dog", "Dishes")
    parts = {"metadata/train/synthetic21_train/soundscapes.tsv": "audio/train/synthetic21_train/soundscapes_16k",
             "metadata/validation/synthetic21_validation/soundscapes.tsv": "audio/validation/synthetic21_validation/soundscapes_16k",
             "metadata/validation/validation.tsv": "audio/validation/validation_16k"}
    for k_part, (tsv, audio_dir) in enumerate(parts.items()):
        rows, durations = [], []
        for k in range(clips):
            events = [(0.2, 0.9, labels[k % 3]), (1.1, 1.8, labels[(k + 1) % 3])]
            name = f"{k_part}{k}.wav" if k_part < 2 else f"Y{k:011d}_0.000_10.000.wav"
            _scene(base / audio_dir / name, 2.0, 16000, events if k < clips - 1 else [])
            rows += [[name, on, off, lab] for on, off, lab in events] if k < clips - 1 else []
            durations.append([name, 2.0])
        write_rows(base / tsv, ["filename", "onset", "offset", "event_label"], rows, "\t")
        if tsv.endswith("validation.tsv"):
            write_rows(base / "metadata/validation/validation_durations.tsv", ["filename", "duration"], durations, "\t")
    return root


def dcase2016_task2(root: Path) -> Path:
    labels = ("clearthroat", "cough", "doorslam")
    for part, n in (("dcase2016_task2_train_dev/dcase2016_task2_dev", 6), ("dcase2016_task2_test_public", 9)):
        for k in range(n):
            name = f"{'dev' if 'dev' in part else 'test'}_{k}_ebr_-6_nec_1_poly_0"
            events = [(0.3, 1.0, labels[k % 3]), (1.5, 2.2, labels[(k + 1) % 3])]
            _scene(root / part / "sound" / f"{name}.wav", 3.0, 44100, events)
            write_rows(root / part / "annotation" / f"{name}.txt", [],
                       [[f"{a:.6f}", f"{b:.6f}", lab] for a, b, lab in events], "\t")
    return root


# --------------------------------------------------------------------------- speech

KS_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")


def speech_commands(root: Path, with_test_set: bool = True) -> Path:
    from tasks.datasets.speech_commands import WORDS35
    base = root / "speech_commands_v0.02"
    valid, test = [], []
    for w in WORDS35:
        for k, speaker in enumerate(("0a7c2a8d", "0b09edd3", "1a892463", "2bdbe5f7")):
            rel = f"{w}/{speaker}_nohash_{k}.wav"
            wav(base / rel, w, seconds=0.25)
            if k == 2:
                valid.append(rel)
            elif k == 3:
                test.append(rel)
    (base / "validation_list.txt").write_text("\n".join(valid) + "\n")
    (base / "testing_list.txt").write_text("\n".join(test) + "\n")
    for name in ("white_noise", "running_tap"):
        path = base / "_background_noise_" / f"{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, 0.1 * np.random.default_rng(len(name)).standard_normal(16000 * 12).astype(np.float32), 16000)
    (base / "LICENSE").write_text("CC BY 4.0\n")
    if with_test_set:
        test_base = root / "speech_commands_test_set_v0.02"
        for label in (*KS_WORDS, "_unknown_", "_silence_"):
            for k in range(2):
                wav(test_base / label / f"{label.strip('_')}{k}_nohash_0.wav", label, seconds=0.25)
    return root


def librispeech(root: Path, other: bool = True) -> Path:
    base = root / "LibriSpeech"
    words = ("HELLO WORLD", "GOOD MORNING", "THE CAT SAT")
    subsets = ("train-clean-100", "dev-clean", "test-clean") + (("dev-other", "test-other") if other else ())
    for s, subset in enumerate(subsets):
        for speaker in (19 + s, 26 + s):
            chapter = 198 + s
            lines = []
            for u in range(3):
                utt = f"{speaker}-{chapter}-{u:04d}"
                wav(base / subset / str(speaker) / str(chapter) / f"{utt}.flac", words[u], rate=16000, fmt="FLAC")
                lines.append(f"{utt} {words[u]}")
            (base / subset / str(speaker) / str(chapter) / f"{speaker}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")
    return root


def voxceleb1(root: Path) -> Path:
    dev_speakers = ["id10001", "id10002", "id10003", "id10004", "id10005"]
    test_speakers = ["id10270", "id10271"]
    iden, files = [], {}
    for speaker in dev_speakers + test_speakers:
        for video in ("1zcIwhmdeo4", "7gWzIy6yIIk"):
            for n in range(1, 4):
                rel = f"{speaker}/{video}/{n:05d}.wav"
                wav(root / "wav" / rel, speaker, seconds=0.4)
                files.setdefault(speaker, []).append(rel)
                iden.append(f"{1 if n == 1 or video.startswith('7') else 2 if n == 2 else 3} {rel}")
    (root / "iden_split.txt").write_text("\n".join(iden) + "\n")
    trials = []
    for i, speaker in enumerate(test_speakers):
        other = test_speakers[1 - i]
        trials += [f"1 {files[speaker][0]} {files[speaker][3]}", f"0 {files[speaker][0]} {files[other][1]}"]
    (root / "veri_test2.txt").write_text("\n".join(trials) + "\n")
    write_rows(root / "vox1_meta.csv", ["VoxCeleb1 ID", "VGGFace1 ID", "Gender", "Nationality", "Set"],
               [[s, f"Name_{s}", "m", "USA", "dev" if s in dev_speakers else "test"] for s in dev_speakers + test_speakers],
               "\t")
    return root


def crema_d(root: Path) -> Path:
    base = root / "CREMA-D"
    actors = [str(1001 + k) for k in range(6)]
    for actor in actors:
        for emotion in ("ANG", "HAP", "SAD"):
            for sentence in ("DFA", "IEO"):
                wav(base / "AudioWAV" / f"{actor}_{sentence}_{emotion}_XX.wav", emotion, seconds=0.3)
    write_rows(base / "VideoDemographics.csv", ["ActorID", "Age", "Sex", "Race", "Ethnicity"],
               [[a, 30, "Male", "Caucasian", "Not Hispanic"] for a in actors])
    return root


def fsdd(root: Path) -> Path:
    base = root / "free-spoken-digit-dataset-1.0.9" / "recordings"
    for digit in "012":
        for speaker in ("jackson", "theo"):
            for index in (0, 1, 5, 6, 10, 11, 12):
                wav(base / f"{digit}_{speaker}_{index}.wav", digit, rate=8000)
    return root


# --------------------------------------------------------------------------- music and captions


def clotho(root: Path) -> Path:
    captions = {"rain": "rain falls on a tin roof", "dog": "a dog barks twice", "bird": "birds sing at dawn"}
    for subset in ("development", "validation", "evaluation"):
        rows = []
        for k, (label, caption) in enumerate(captions.items()):
            for j in range(2):
                name = f"{label} {subset} {j}.wav"  # Clotho file names contain spaces
                wav(root / subset / name, label, rate=44100)
                rows.append([name] + [f"{caption} ({i})" for i in range(1, 6)])
        write_rows(root / f"clotho_captions_{subset}.csv", ["file_name"] + [f"caption_{i}" for i in range(1, 6)], rows)
    return root


def audiocaps(root: Path) -> Path:
    for name, n in (("train", 6), ("val", 3), ("test", 3)):
        rows = []
        for k in range(n):
            ytid = f"{name[:2]}{k:02d}abcdefg"[:11]
            wav(root / "audio" / name / f"Y{ytid}.wav", f"clip{k % 3}", rate=16000)
            rows.append([k, ytid, 30, f"a sound of kind {k % 3}"])
        rows.append([99, "missing0000", 0, "no audio for this one"])
        write_rows(root / f"{name}.csv", ["audiocap_id", "youtube_id", "start_time", "caption"], rows)
    return root


def gtzan(root: Path, seconds: float = 0.1) -> Path:
    from tasks.datasets.gtzan_split import TEST, TRAIN, VALID
    for excerpt in (*TRAIN, *VALID, *TEST):
        genre = excerpt.split(".")[0]
        path = root / "genres" / genre / f"{excerpt}.au"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, tone(genre, seconds, 22050, excerpt), 22050, format="AU", subtype="PCM_16")
    return root


def nsynth(root: Path) -> Path:
    families = ("keyboard", "guitar", "brass")
    for split in ("train", "valid", "test"):
        examples = {}
        for family in families:
            for pitch in (48, 60, 72):
                for k in range(2 if split == "train" else 1):
                    note = f"{family}_acoustic_{k:03d}-{pitch:03d}-100"
                    examples[note] = {"note": 1, "note_str": note, "instrument": 1, "instrument_str": f"{family}_acoustic_{k:03d}",
                                      "pitch": pitch, "velocity": 100, "sample_rate": 16000, "qualities": [0] * 10,
                                      "qualities_str": [], "instrument_family": 0, "instrument_family_str": family,
                                      "instrument_source": 0, "instrument_source_str": "acoustic"}
                    wav(root / f"nsynth-{split}" / "audio" / f"{note}.wav", f"{family}{pitch}", seconds=0.25)
        (root / f"nsynth-{split}").mkdir(parents=True, exist_ok=True)
        (root / f"nsynth-{split}" / "examples.json").write_text(json.dumps(examples))
    return root


def magnatagatune(root: Path, tags: int = 60) -> Path:
    names = [f"tag{k:02d}" for k in range(tags)]
    rows = []
    for k, directory in enumerate("0123456789abcdef" * 2):
        rel = f"{directory}/artist-album-{k:02d}-track-0-29.mp3"
        present = {names[k % 5], names[(k + 1) % 5]}
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        label = "+".join(sorted(present))
        try:
            sf.write(path, tone(label, 0.3, 16000), 16000, format="MP3")
        except (sf.LibsndfileError, TypeError, ValueError):  # a libsndfile without MP3: write WAV bytes instead
            sf.write(path, tone(label, 0.3, 16000), 16000, format="WAV")
        rows.append([k, *[int(n in present) for n in names], rel])
    write_rows(root / "annotations_final.csv", ["clip_id", *names, "mp3_path"], rows, "\t")
    return root


def openmic(root: Path) -> Path:
    base = root / "openmic-2018"
    instruments = ("piano", "voice", "guitar")
    labels, train, test = [], [], []
    for k in range(24):
        key = f"{k:03d}{k:03d}_{k * 10}"
        present = instruments[k % 3]
        path = base / "audio" / key[:3] / f"{key}.ogg"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, tone(present, 0.3, 22050), 22050, format="OGG", subtype="VORBIS")
        labels.append([key, present, 1.0, 3])
        labels.append([key, instruments[(k + 1) % 3], 0.1, 3])
        (test if k % 4 == 0 else train).append([key])
    write_rows(base / "openmic-2018-aggregated-labels.csv", ["sample_key", "instrument", "relevance", "num_responses"], labels)
    write_rows(base / "partitions" / "split01_train.csv", [], train)
    write_rows(base / "partitions" / "split01_test.csv", [], test)
    (base / "class-map.json").write_text(json.dumps({n: i for i, n in enumerate(instruments)}))
    return root


# --------------------------------------------------------------------------- test helpers


def prepare_and_probe(dataset: str, corpus: Path, out: Path, probe: bool = True) -> list[dict]:
    """Run the dataset's prepare, check each task validates, and run a linear probe with
    `logmel` where the linear protocol handles the family. Returns the probe records."""
    from benchmark import evaluate
    from benchmark.sources.folder import load_folder_task
    from benchmark.protocols import PROTOCOLS
    from tasks.datasets import get_dataset

    prepared = get_dataset(dataset)
    paths = prepared.prepare(corpus, out)
    assert sorted(p.name for p in paths) == sorted(prepared.tasks) or set(p.name for p in paths) <= set(prepared.tasks)
    records = []
    for path in paths:
        task = load_folder_task(path)
        text = (path / "task.toml").read_text()
        for key in ("license", "citation", "version", "source", "[provenance]", "manifest_sha256"):
            assert key in text, f"{path}/task.toml lacks {key}"
        manifests = task.load()
        assert all(len(m) for m in manifests.values())
        if probe and task.family in PROTOCOLS.get("linear").families:
            records += evaluate("logmel", tasks=[path], progress=False)
    for record in records:
        main = record["metrics"][record["main_metric"]]
        assert main == main, f"{record['task']['name']}: NaN {record['main_metric']}"  # not NaN
    return records
