"""Output writers (apps.writers): temporary names, atomic files, track files, crops."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from apps.writers import (
    CropStore,
    OutputWriteError,
    TrackFileWriter,
    partial_path,
    write_bytes_atomic,
    write_json_atomic,
)
from tracker import FinishedTrack, TrackedFace


def face(track_id: int, box: list[float], score: float = 0.875, detected: bool = True) -> TrackedFace:
    return TrackedFace(track_id, np.array(box, float), score, detected, 3, 2)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("annotated.mp4", "annotated.partial.mp4"),
        ("summary.json", "summary.partial.json"),
        ("tracks.txt", "tracks.partial.txt"),
        ("best.jpg", "best.partial.jpg"),
        ("noext", "noext.partial"),
        ("my clip ü.mp4", "my clip ü.partial.mp4"),
    ],
)
def test_partial_names_keep_the_extension_last(tmp_path: Path, name: str, expected: str) -> None:
    assert partial_path(tmp_path / "sub" / name) == tmp_path / "sub" / expected


def test_write_json_atomic_writes_utf8_json_and_no_partial(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text("old content")
    payload = {"input": "vidéo 1.mp4", "frames": 3, "nested": {"a": [1, 2]}}
    write_json_atomic(path, payload)
    assert json.loads(path.read_text(encoding="utf-8")) == payload
    assert "vidéo" in path.read_text(encoding="utf-8")  # not \u-escaped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_atomic_write_into_a_missing_folder_raises_output_error_and_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "summary.json"
    with pytest.raises(OutputWriteError, match="cannot write"):
        write_json_atomic(path, {"a": 1})
    with pytest.raises(OutputWriteError):
        write_bytes_atomic(path, b"data")
    assert not (tmp_path / "missing").exists()


def test_atomic_write_keeps_the_old_file_when_the_rename_fails(tmp_path: Path, monkeypatch) -> None:
    import apps.writers

    path = tmp_path / "summary.json"
    path.write_text('{"old": true}')

    def failing_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(apps.writers.os, "replace", failing_replace)
    with pytest.raises(OutputWriteError, match="No space left on device"):
        write_json_atomic(path, {"new": True})
    assert json.loads(path.read_text()) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_track_file_writer_lines(tmp_path: Path) -> None:
    mot, jsonl = tmp_path / "tracks.txt", tmp_path / "tracks.jsonl"
    writer = TrackFileWriter(mot, jsonl)
    # While writing, only the temporary names exist.
    assert not mot.exists() and partial_path(mot).exists() and partial_path(jsonl).exists()
    writer.write_frame(0, 0.0, [face(1, [10, 20, 40, 60], 0.875), face(3, [50.5, 5.25, 70.5, 30.0], 0.5, False)])
    writer.write_frame(1, 0.04, [])
    writer.write_frame(2, 0.08, [face(1, [11, 21, 41, 61], 0.9)])
    writer.close()
    assert mot.read_text().splitlines() == [
        "1,1,10.00,20.00,30.00,40.00,0.8750,-1,-1,-1",
        "1,3,50.50,5.25,20.00,24.75,0.5000,-1,-1,-1",
        "3,1,11.00,21.00,30.00,40.00,0.9000,-1,-1,-1",
    ]
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert records == [
        {"frame": 1, "time": 0.0, "shot": 0, "faces": [
            {"id": 1, "box": [10.0, 20.0, 40.0, 60.0], "score": 0.875, "detected": True},
            {"id": 3, "box": [50.5, 5.25, 70.5, 30.0], "score": 0.5, "detected": False},
        ]},
        {"frame": 2, "time": 0.04, "shot": 0, "faces": []},
        {"frame": 3, "time": 0.08, "shot": 0, "faces": [{"id": 1, "box": [11.0, 21.0, 41.0, 61.0], "score": 0.9, "detected": True}]},
    ]
    assert not partial_path(mot).exists() and not partial_path(jsonl).exists()


def test_track_file_writer_close_is_idempotent(tmp_path: Path) -> None:
    mot, jsonl = tmp_path / "tracks.txt", tmp_path / "tracks.jsonl"
    writer = TrackFileWriter(mot, jsonl)
    writer.write_frame(0, 0.0, [face(2, [1, 2, 3, 4])])
    writer.close()
    content = mot.read_text(), jsonl.read_text()
    writer.close()
    assert (mot.read_text(), jsonl.read_text()) == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tracks.jsonl", "tracks.txt"]


def test_track_file_writer_in_missing_folder_raises_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputWriteError, match="cannot create track files"):
        TrackFileWriter(tmp_path / "nope" / "tracks.txt", tmp_path / "nope" / "tracks.jsonl")


def test_crop_store_saves_best_and_named_crops(tmp_path: Path) -> None:
    store = CropStore(tmp_path / "faces")
    crop = np.full((30, 20, 3), 200, np.uint8)
    path = store.save(4, "frame_000012", crop)
    assert path == tmp_path / "faces" / "4" / "frame_000012.jpg"
    assert cv2.imread(str(path)).shape == (30, 20, 3)
    finished = FinishedTrack(4, 0, 9, 10, crop, 0.8, 5, np.array([0, 0, 20, 30.0]))
    assert store.save_best(finished) == tmp_path / "faces" / "4" / "best.jpg"
    no_crop = FinishedTrack(5, 0, 9, 10, None, 0.0, -1, None)
    empty_crop = FinishedTrack(6, 0, 9, 10, np.zeros((0, 0, 3), np.uint8), 0.0, -1, None)
    assert store.save_best(no_crop) is None and store.save_best(empty_crop) is None
    assert store.saved == 2
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "faces/4/best.jpg", "faces/4/frame_000012.jpg"]
