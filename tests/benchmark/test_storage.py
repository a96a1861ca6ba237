"""benchmark.storage: the one atomic, durable file write and directory publish."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from benchmark import storage
from benchmark.storage import atomic_dir, atomic_path, publish_dir, save_npy, staging_dir, write_json, write_text


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "record.json"
    write_json(path, {"score": 1})
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_path(path) as tmp:
            tmp.write_text('{"score": ')
            raise RuntimeError("disk on fire")
    assert json.loads(path.read_text()) == {"score": 1}
    assert listing(tmp_path) == ["record.json"]


def test_writes_replace_the_file_and_leave_nothing_else(tmp_path):
    write_text(tmp_path / "a" / "page.md", "old")
    write_text(tmp_path / "a" / "page.md", "néw\n")
    write_json(tmp_path / "a" / "meta.json", {"path": Path("x")})
    save_npy(tmp_path / "a" / "data.npy", np.arange(4.0))
    assert (tmp_path / "a" / "page.md").read_text(encoding="utf-8") == "néw\n"
    assert json.loads((tmp_path / "a" / "meta.json").read_text()) == {"path": "x"}
    assert np.load(tmp_path / "a" / "data.npy").tolist() == [0.0, 1.0, 2.0, 3.0]
    assert listing(tmp_path / "a") == ["data.npy", "meta.json", "page.md"]


def test_published_files_and_folders_get_the_usual_permissions_not_private_ones(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    write_text(tmp_path / "page.html", "<p>")
    with atomic_dir(tmp_path / "task") as staged:
        (staged / "task.toml").write_text("name = 'x'\n")
    assert (tmp_path / "page.html").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "task").stat().st_mode & 0o777 == 0o777 & ~umask


def test_publishing_replaces_a_directory_whole(tmp_path):
    final = tmp_path / "step-00000010"
    with atomic_dir(final) as staged:
        (staged / "old.txt").write_text("old")
        (staged / "sub").mkdir()
        (staged / "sub" / "old.bin").write_bytes(b"\0")
    with atomic_dir(final) as staged:
        assert listing(staged) == []
        (staged / "new.txt").write_text("new")
    assert listing(final) == ["new.txt"] and (final / "new.txt").read_text() == "new"
    assert listing(tmp_path) == ["step-00000010"]


def test_a_failed_publish_leaves_the_old_directory_and_no_staging(tmp_path):
    final = tmp_path / "task"
    with atomic_dir(final) as staged:
        (staged / "train.csv").write_text("path,label\n")
    with pytest.raises(ValueError, match="invalid task"):
        with atomic_dir(final) as staged:
            (staged / "half.csv").write_text("pa")
            raise ValueError("invalid task")
    assert listing(final) == ["train.csv"] and listing(tmp_path) == ["task"]


def test_publish_replaces_a_link_or_file_and_never_follows_links(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "clip.wav").write_bytes(b"RIFF")
    out = tmp_path / "out"
    out.mkdir()
    (out / "linked").symlink_to(corpus, target_is_directory=True)
    (out / "plain").write_text("a file")
    for name in ("linked", "plain"):
        with atomic_dir(out / name) as staged:
            (staged / "audio").symlink_to(corpus, target_is_directory=True)
    with atomic_dir(out / "linked") as staged:  # replacing a task whose audio is a link to the corpus
        (staged / "task.toml").write_text("")
    assert (corpus / "clip.wav").read_bytes() == b"RIFF"  # the corpus behind the old links is untouched
    assert (out / "plain" / "audio").is_symlink() and listing(out / "linked") == ["task.toml"]
    assert listing(out) == ["linked", "plain"]


def test_files_are_flushed_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to name the flushed descriptors")
    synced: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (synced.append(f"rename {Path(b).name}"), real_replace(a, b)))
    write_text(tmp_path / "record.json", "{}")
    temp = synced[0]
    assert Path(temp).parent == tmp_path and Path(temp).name.startswith(".record.json.")
    assert synced[1:] == ["rename record.json", str(tmp_path)]
    synced.clear()
    staged = staging_dir(tmp_path / "ckpt")
    (staged / "sub").mkdir()
    (staged / "sub" / "model.safetensors").write_bytes(b"w")
    publish_dir(staged, tmp_path / "ckpt")
    assert synced == [str(staged / "sub" / "model.safetensors"), str(staged / "sub"), str(staged),
                      "rename ckpt", str(tmp_path)]


def test_a_failed_swap_puts_the_old_directory_back(tmp_path, monkeypatch):
    final = tmp_path / "task"
    with atomic_dir(final) as staged:
        (staged / "train.csv").write_text("old")
    staged = staging_dir(final)
    real_replace = os.replace

    def replace(src, dst):
        if Path(src) == staged:
            raise OSError("no space left")
        real_replace(src, dst)

    monkeypatch.setattr(storage.os, "replace", replace)
    with pytest.raises(OSError, match="no space left"):
        publish_dir(staged, final)
    assert (final / "train.csv").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["task", staged.name])
