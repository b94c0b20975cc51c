"""Descriptors of one video's finished tracks (``--identify``), kept in ``identity.json``.

Each finished track is described from its best crop (the tracker's best-quality face of the track)
when it finishes, on the writing thread: the detect+track thread never waits for it. The file is
read back by :mod:`apps.people` once every video of the batch is done::

    {"tracks": [{"id": 3, "best_crop": "faces/3/best.jpg" or null, "descriptors": [[128 floats]]}]}
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np

from apps.descriptors import FaceDescriber
from apps.writers import write_bytes_atomic
from tracker import FinishedTrack

IDENTITY_FILE = "identity.json"


@functools.lru_cache(maxsize=1)
def shared_describer() -> FaceDescriber:
    """One :class:`FaceDescriber` per process (loading its models takes about half a second)."""
    return FaceDescriber()


def box_in_crop(box: np.ndarray, margin: float) -> np.ndarray:
    """Where the face ``box`` (frame coordinates) lies in its crop cut with ``margin`` per side
    (:func:`tracker.quality.extract_crop`: only the left and top edges move the origin)."""
    x1, y1, x2, y2 = (float(value) for value in box[:4])
    left = max(math.floor(x1 - margin * (x2 - x1)), 0)
    top = max(math.floor(y1 - margin * (y2 - y1)), 0)
    return np.array([x1 - left, y1 - top, x2 - left, y2 - top])


class TrackDescriptors:
    """Collects the descriptors of one video's finished tracks; :meth:`write` saves them."""

    def __init__(self, crop_margin: float) -> None:
        self.crop_margin = crop_margin
        self.tracks: list[dict] = []

    def add(self, track: FinishedTrack, best_crop: str | None) -> None:
        """Describe ``track`` from its best crop (a track without one is left out); ``best_crop`` is
        where that crop was saved, relative to the video's output folder (None: not saved)."""
        if track.best_crop is None or track.best_crop.size == 0 or track.best_box is None:
            return
        descriptor = shared_describer().describe(track.best_crop, box_in_crop(track.best_box, self.crop_margin))
        self.tracks.append({"id": track.track_id, "best_crop": best_crop,
                            "descriptors": [[round(float(value), 5) for value in descriptor]]})

    def write(self, folder: Path) -> None:
        """Write ``folder/identity.json``."""
        write_bytes_atomic(folder / IDENTITY_FILE, (json.dumps({"tracks": self.tracks}) + "\n").encode("utf-8"))
