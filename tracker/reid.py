"""Re-identification by face descriptors, as the tracker sees it.

The tracker computes no descriptor itself (it needs no face-recognition package): the caller may
give :class:`~tracker.face_tracker.FaceTracker` an object with this interface (``apps.reidentify``
implements it with dlib). With one, the tracker

* offers each confirmed track's best crop when the track is confirmed and whenever the crop
  improves (the object decides which crops it describes, and when);
* keeps the tracks that end (lost beyond ``max_age_seconds``, or at a shot cut) dormant instead of
  finishing them, and asks, when a new track is confirmed, whether it shows the face of a dormant
  one: if so the new track takes the dormant track's id (before that id is output again) and
  carries on its record (first frame, hits, the better best crop);
* asks, before a lost track is re-associated with a detection by position and colour, whether the
  detection's face clearly disagrees with the track's, and refuses the match if so.

Without one, none of this happens and the tracker behaves exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from .track import BestCrop

MAX_DORMANT_TRACKS = 100
"""Ended tracks kept for re-identification; beyond this the longest dormant one is finished."""


class FaceIdentity(Protocol):
    """Face descriptors of tracks, for re-identification (see the module docstring)."""

    def offer(self, track_id: int, best: BestCrop) -> None:
        """The confirmed track ``track_id`` has a new best crop (it was just confirmed, or its crop improved)."""

    def match(self, best: BestCrop, candidates: Sequence[int]) -> int | None:
        """The id among the dormant ``candidates`` whose face ``best`` (a new track's crop) shows, or None."""

    def disagrees(self, track_id: int, frame: np.ndarray, box: np.ndarray) -> bool:
        """True if the face of ``box`` (``[x1, y1, x2, y2]`` in ``frame``) is clearly not that of ``track_id``."""
