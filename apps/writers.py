"""Output writers of one video: MOT/JSONL track files, face crops, summary (the video: ``video_writers``).

Every file is written under a temporary ``*.partial`` name and renamed when it is complete, so a
crash can never leave a file that looks finished but is not. Track files are written one
complete line at a time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from tracker import FinishedTrack, TrackedFace

PARTIAL_SUFFIX = ".partial"


class OutputWriteError(RuntimeError):
    """An output file could not be written (permissions, disk full, codec missing)."""


def partial_path(path: Path) -> Path:
    """The temporary name used while ``path`` is being written (keeps the extension last)."""
    return path.with_name(f"{path.stem}{PARTIAL_SUFFIX}{path.suffix}")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename."""
    temporary = partial_path(path)
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise OutputWriteError(f"cannot write {path}: {error.strerror or error}") from error


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write a JSON document atomically (indented, UTF-8)."""
    write_bytes_atomic(path, (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


class TrackFileWriter:
    """``tracks.txt`` (MOTChallenge) and ``tracks.jsonl`` (one JSON object per frame)."""

    def __init__(self, mot_path: Path, jsonl_path: Path) -> None:
        self._targets = [(mot_path, partial_path(mot_path)), (jsonl_path, partial_path(jsonl_path))]
        self._damaged = False  # a write failed: the files keep their .partial names
        try:
            self._mot: TextIO | None = open(self._targets[0][1], "w", encoding="utf-8")
            self._jsonl: TextIO | None = open(self._targets[1][1], "w", encoding="utf-8")
        except OSError as error:
            raise OutputWriteError(f"cannot create track files in {mot_path.parent}: {error.strerror}") from error

    def write_frame(self, frame_index: int, timestamp: float, faces: list[TrackedFace], shot: int = 0) -> None:
        """Write the faces of one frame (``frame_index`` counted from 0; MOT frames from 1) of shot ``shot``."""
        mot_lines = []
        records = []
        for face in faces:
            x1, y1, x2, y2 = (float(v) for v in face.box)
            mot_lines.append(
                f"{frame_index + 1},{face.track_id},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{face.score:.4f},-1,-1,-1\n"
            )
            records.append({
                "id": face.track_id,
                "box": [round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2)],
                "score": round(float(face.score), 4),
                "detected": bool(face.detected),
            })
        frame_record = {"frame": frame_index + 1, "time": round(timestamp, 4), "shot": shot, "faces": records}
        try:
            self._mot.write("".join(mot_lines))
            self._jsonl.write(json.dumps(frame_record) + "\n")
        except OSError as error:
            self._damaged = True
            raise OutputWriteError(f"cannot write track files: {error.strerror or error}") from error

    def close(self) -> None:
        """Flush and give both files their final names (idempotent).

        Files that could not be written completely (a write or the final flush failed, e.g. disk
        full) keep their ``.partial`` names, so a cut line never ends up in a final-named file.

        Raises:
            OutputWriteError: If the final flush failed.
        """
        failure: OSError | None = None
        for handle in (self._mot, self._jsonl):
            if handle is None:
                continue
            try:
                handle.close()
            except OSError as error:
                failure = failure or error
                self._damaged = True
        self._mot = self._jsonl = None
        if not self._damaged:
            for final, temporary in self._targets:
                if temporary.exists():
                    os.replace(temporary, final)
        if failure is not None:
            raise OutputWriteError(f"cannot write track files: {failure.strerror or failure}") from failure


class CropStore:
    """Face crops in ``faces/<track-id>/``: ``best.jpg`` per finished track, or periodic crops."""

    def __init__(self, folder: Path, jpeg_quality: int = 92) -> None:
        self.folder = folder
        self.jpeg_quality = jpeg_quality
        self.saved = 0

    def save(self, track_id: int, name: str, crop: np.ndarray) -> Path:
        """Save one crop as ``faces/<track_id>/<name>.jpg``."""
        ok, encoded = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise OutputWriteError(f"cannot encode a crop of track {track_id}")
        path = self.folder / str(track_id) / f"{name}.jpg"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputWriteError(f"cannot create {path.parent}: {error.strerror}") from error
        write_bytes_atomic(path, encoded.tobytes())
        self.saved += 1
        return path

    def save_best(self, track: FinishedTrack) -> Path | None:
        """Save the best crop of a finished track (if it has one)."""
        if track.best_crop is None or track.best_crop.size == 0:
            return None
        return self.save(track.track_id, "best", track.best_crop)
