"""The sidecar is written with its record: a crash between the two files leaves the old pair intact."""
from __future__ import annotations

import numpy as np
import pytest

import benchmark.record
from benchmark.record import Record
from tests.support.records import correct_clips, write_record


def test_a_crash_before_the_json_keeps_the_old_record_and_its_sidecar(tmp_path, monkeypatch):
    path = write_record(tmp_path, "m", "kws", 0.5, outputs=correct_clips([1, 0]))
    old = Record.read(path)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(benchmark.record, "write_json", crash)
    with pytest.raises(KeyboardInterrupt):
        old.write(path, correct_clips([0, 0, 1]))
    again = Record.read(path)
    assert again.items == old.items and again.outputs(path)["prediction"].tolist() == [0, 1]
    monkeypatch.undo()
    new = old.write(path, correct_clips([0, 0, 1]))
    assert sorted(p.name for p in path.parent.glob("*.npz")) == [new.items["file"]]
    assert Record.read(path).outputs(path)["prediction"].tolist() == [1, 1, 0]


def test_the_sidecar_is_plain_arrays_and_its_name_its_content(tmp_path):
    path = write_record(tmp_path, "m", "kws", 0.5, outputs=correct_clips([1, 0]))
    record = Record.read(path)
    sidecar = path.parent / record.items["file"]
    with np.load(sidecar, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["id", "kind", "prediction", "truth"] and str(npz["kind"]) == "clips"
    assert record.items["sha256"].startswith(sidecar.name.split("items-")[1][:16])
    assert record.write(path, correct_clips([1, 0])).items == record.items  # same outputs, same bytes
    assert Record.read(path).to_json()["items"] == {"file": sidecar.name, "format": "npz",
                                                     "sha256": record.items["sha256"], "kind": "clips", "n": 2}
    assert "items" not in Record.read(write_record(tmp_path, "m", "old", 0.5)).to_json()
