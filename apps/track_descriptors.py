"""Descriptors of one video's finished tracks (``--identify``), kept in ``identity.json``.

Each track's descriptors are those computed while it was tracked (:mod:`apps.reidentify`: up to
three good crops, plus a returning face's), or, when none was, one of its best crop computed when it
finishes; both in the describer's child process. The file is read back by :mod:`apps.people` once
every video of the batch is done::

    {"tracks": [{"id": 3, "best_crop": "faces/3/best.jpg" or null, "descriptors": [[128 floats], ...]}],
     "reidentified": 1, "refused": 0}

(``reidentified``: new tracks that took an ended track's id; ``refused``: position/colour
re-associations refused because the faces disagreed.)
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from apps.descriptors import FaceDescriber
from apps.reidentify import TrackIdentities
from apps.writers import write_bytes_atomic
from tracker import FinishedTrack

IDENTITY_FILE = "identity.json"


@functools.lru_cache(maxsize=1)
def shared_describer() -> FaceDescriber:
    """One in-process :class:`FaceDescriber` (loading its models takes about half a second), for the gallery."""
    return FaceDescriber()


class TrackDescriptors:
    """Collects the descriptors of one video's finished tracks from ``identities``; :meth:`write` saves them."""

    def __init__(self, identities: TrackIdentities) -> None:
        self.identities = identities
        self.tracks: list[dict] = []

    def add(self, track: FinishedTrack, best_crop: str | None) -> None:
        """Record the descriptors of ``track`` (a track without any is left out); ``best_crop`` is
        where its best crop was saved, relative to the video's output folder (None: not saved)."""
        descriptors = self.identities.finished(track)
        if descriptors:
            self.tracks.append({"id": track.track_id, "best_crop": best_crop,
                                "descriptors": [[round(float(value), 5) for value in row] for row in descriptors]})

    def write(self, folder: Path) -> None:
        """Write ``folder/identity.json``."""
        document = {"tracks": self.tracks, "reidentified": self.identities.reidentified,
                    "refused": self.identities.refused}
        write_bytes_atomic(folder / IDENTITY_FILE, (json.dumps(document) + "\n").encode("utf-8"))
