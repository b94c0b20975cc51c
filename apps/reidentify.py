"""Face descriptors of one video's tracks while they are tracked (``--identify``): re-identification.

:class:`TrackIdentities` is the tracker's :class:`tracker.reid.FaceIdentity`. It describes a
bounded number of good crops per track (the crop the track is confirmed with, then a best crop at
least ``IMPROVEMENT`` times better than the last one described, ``MAX_DESCRIBED`` in all) in the
describer's child process (:mod:`apps.describer_process`), so the detect+track thread does not wait
for them. Two rare events wait for a descriptor on that thread (about 35 ms each):

* a new track is confirmed while tracks of the video have ended (lost beyond ``--max-age`` or at a
  shot cut): its crop is described and compared with theirs; the nearest one under
  ``REID_DISTANCE`` gives the new track its id (before that id is output again, so every output,
  tracks.txt, tracks.jsonl, faces/<id>/, summary.json and identity.json, holds one id per person);
* a lost track is about to be re-associated with a detection by position and colour: the
  detection's face is described, and the match is refused when it is farther than
  ``VETO_DISTANCE`` from every descriptor of the track.

Distances are the smallest over the pairs of descriptors (a track's faces differ in pose).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from apps.descriptors import distances
from apps.describer_process import DescriberProcess
from tracker import FinishedTrack
from tracker.quality import extract_crop
from tracker.track import BestCrop

REID_DISTANCE = 1.097
"""An ended track's id goes to a new track nearer than this. On lfw-dev (``benchmarks/identity.py``),
0.05 % of the pairs of photos of two different people are nearer than this and 94 % of the pairs of one
person's photos: frames of one video differ far less than two LFW photos, so a person returning is
usually far under it, and a wrong merge (which would join two people in every output) is rare. (dlib's
0.5 carried over to SFace at the same share of different-person pairs: ``--match-thresholds``.)"""
VETO_DISTANCE = 1.379
"""A lost track refuses a detection farther than this from all its descriptors. On lfw-dev, 0.55 %
of the pairs of one person's photos are farther than this (dlib's 0.75 carried over at that share)
and 29 % of the pairs of different people: a refusal is almost always right."""
IMPROVEMENT = 1.25
"""A track's best crop is described again once its quality is this many times the last described one."""
MAX_DESCRIBED = 3
"""Crops described per track while it is tracked (a returning face's crop comes on top)."""


def box_in_crop(box: np.ndarray, margin: float) -> np.ndarray:
    """Where the face ``box`` (frame coordinates) lies in its crop cut with ``margin`` per side
    (:func:`tracker.quality.extract_crop`: only the left and top edges move the origin)."""
    x1, y1, x2, y2 = (float(value) for value in box[:4])
    left = max(math.floor(x1 - margin * (x2 - x1)), 0)
    top = max(math.floor(y1 - margin * (y2 - y1)), 0)
    return np.array([x1 - left, y1 - top, x2 - left, y2 - top])


@dataclass
class _TrackFaces:
    """What is known of one track's face: crops described, descriptors, and those still being computed."""

    crops: list[BestCrop] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)
    descriptors: list[np.ndarray] = field(default_factory=list)


class TrackIdentities:
    """Face descriptors of one video's tracks (see the module docstring); ``crop_margin`` is the
    tracker's (where the face lies in a best crop)."""

    def __init__(self, describer: DescriberProcess, crop_margin: float) -> None:
        self._describer = describer
        self._margin = crop_margin
        self._tracks: dict[int, _TrackFaces] = {}
        self._lock = threading.Lock()  # the writing thread reads finished tracks while tracking goes on
        self._unclaimed: tuple[BestCrop, np.ndarray] | None = None
        self.reidentified = 0
        """New tracks that took an ended track's id."""
        self.refused = 0
        """Position/colour re-associations refused because the faces disagree."""

    def offer(self, track_id: int, best: BestCrop) -> None:
        """Describe ``best`` of ``track_id`` in the background when it is the first crop or clearly
        better than the last one described, ``MAX_DESCRIBED`` at most (a :class:`FaceIdentity` method)."""
        with self._lock:
            faces = self._tracks.setdefault(track_id, _TrackFaces())
            if any(crop is best for crop in faces.crops):
                return
            if self._unclaimed is not None and self._unclaimed[0] is best:  # described by match(): reused
                faces.crops.append(best)
                faces.descriptors.append(self._unclaimed[1])
                self._unclaimed = None
                return
            if len(faces.crops) >= MAX_DESCRIBED or (faces.crops and best.quality < IMPROVEMENT * faces.crops[-1].quality):
                return
            faces.crops.append(best)
            faces.pending.append(self._describer.submit(best.crop, box_in_crop(best.box, self._margin)))

    def match(self, best: BestCrop, candidates: Sequence[int]) -> int | None:
        """The ended track among ``candidates`` whose face the new crop ``best`` shows (nearest under
        ``REID_DISTANCE``), or None; waits for the descriptors."""
        descriptor = self._describer.describe(best.crop, box_in_crop(best.box, self._margin))
        if descriptor is None:
            return None
        nearest, track_id = min(((self._distance(candidate, descriptor), candidate) for candidate in candidates),
                                key=lambda pair: pair[0])
        if nearest >= REID_DISTANCE:
            self._unclaimed = (best, descriptor)
            return None
        with self._lock:
            faces = self._tracks[track_id]
            faces.crops.append(best)
            faces.descriptors.append(descriptor)
        self.reidentified += 1
        return track_id

    def disagrees(self, track_id: int, frame: np.ndarray, box: np.ndarray) -> bool:
        """True if the face of ``box`` in ``frame`` is farther than ``VETO_DISTANCE`` from every
        descriptor of ``track_id`` (False when the track has none); waits for the descriptors."""
        if not self.descriptors(track_id):
            return False
        descriptor = self._describer.describe(extract_crop(frame, box, self._margin), box_in_crop(box, self._margin))
        refuse = descriptor is not None and self._distance(track_id, descriptor) > VETO_DISTANCE
        self.refused += int(refuse)
        return refuse

    def descriptors(self, track_id: int) -> list[np.ndarray]:
        """Every descriptor of ``track_id`` (waiting for those still being computed)."""
        with self._lock:
            faces = self._tracks.get(track_id)
            if faces is None:
                return []
            keys, faces.pending = faces.pending, []
        computed = [self._describer.result(key) for key in keys]
        with self._lock:
            faces.descriptors.extend(descriptor for descriptor in computed if descriptor is not None)
            return list(faces.descriptors)

    def finished(self, track: FinishedTrack) -> list[np.ndarray]:
        """The descriptors of a finished track: those computed while it was tracked, else (none was)
        one of its best crop, computed now; empty when it has no crop."""
        computed = self.descriptors(track.track_id)
        if computed or track.best_crop is None or track.best_crop.size == 0 or track.best_box is None:
            return computed
        descriptor = self._describer.describe(track.best_crop, box_in_crop(track.best_box, self._margin))
        return [] if descriptor is None else [descriptor]

    def _distance(self, track_id: int, descriptor: np.ndarray) -> float:
        """The smallest distance between ``descriptor`` and those of ``track_id`` (inf without any)."""
        mine = self.descriptors(track_id)
        return float(distances(descriptor, np.stack(mine)).min()) if mine else float("inf")
