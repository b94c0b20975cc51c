"""State of one tracked face: Kalman filter, lifecycle counters, appearance, best crop."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .appearance import blend_embedding
from .geometry import cxcyah_to_xyxy
from .kalman import FaceKalman
from .quality import crop_quality, extract_crop, quality_upper_bound
from .results import FinishedTrack


@dataclass(eq=False)
class BestCrop:
    """The best-quality crop seen so far for a track."""

    crop: np.ndarray
    quality: float
    frame_index: int
    box: np.ndarray


class Track:
    """One face track. Tentative (``track_id`` 0) until it gets an id on confirmation.

    Lifecycle counters: ``hits`` counts matched detections, ``misses`` counts
    consecutive *detector* frames without a match (frames without detector run
    do not count) and ``frames_since_update`` counts video frames since the last
    match. A track with ``misses > 0`` is lost. ``last_crop_check_hit`` is the
    value of ``hits`` when a crop was last scored.
    """

    def __init__(self, box: np.ndarray, score: float, frame_index: int, embedding: np.ndarray | None) -> None:
        """Start a tentative track from a detection on frame ``frame_index``."""
        self.kalman = FaceKalman(box)
        self.track_id = 0
        self.first_frame = frame_index
        self.last_frame = frame_index
        self.hits = 1
        self.misses = 0
        self.frames_since_update = 0
        self.score = float(score)
        #: The box of the last matched detection (completed to the full face at a border).
        self.measured_box = np.asarray(box, dtype=np.float64)[:4].copy()
        self.embedding = embedding
        self.best: BestCrop | None = None
        self.last_crop_check_hit = 0
        #: The last frame on which the track had a follow window (-2: never).
        self.window_frame = -2

    @property
    def confirmed(self) -> bool:
        """True once the track has an id (ids start at 1)."""
        return self.track_id > 0

    @property
    def lost(self) -> bool:
        """True if the detector missed the track on its last run."""
        return self.misses > 0

    def predict(self) -> None:
        """Advance the track by one video frame."""
        self.kalman.predict()
        self.frames_since_update += 1

    def update(
        self,
        box: np.ndarray,
        score: float,
        frame_index: int,
        embedding: np.ndarray | None,
        appearance_momentum: float,
        hit: bool = True,
    ) -> None:
        """Correct the track with a matched detection; ``embedding`` None keeps the appearance. With
        ``hit`` False the detection corrects the track and ends a miss but does not count towards its
        confirmation (a weak detection of a tentative track)."""
        self.kalman.update(box)
        self.measured_box = np.asarray(box, dtype=np.float64)[:4].copy()
        self.hits += int(hit)
        self.misses = 0
        self.frames_since_update = 0
        self.last_frame = frame_index
        self.score = float(score)
        if embedding is not None:
            self.embedding = (
                embedding if self.embedding is None else blend_embedding(self.embedding, embedding, appearance_momentum)
            )

    def mark_missed(self) -> None:
        """Record that the detector ran and did not find this track."""
        self.misses += 1

    def crop_gain(
        self, frame_shape: tuple[int, ...], box: np.ndarray, score: float, margin: float, check_every: int
    ) -> float:
        """Return by how much the crop of a detection could at most beat the best crop.

        The ratio of the detection's quality upper bound to the best quality so
        far: infinite without a crop, 0 if a crop was scored less than
        ``check_every`` hits ago; values <= 1 mean it cannot win.
        """
        if self.best is None:
            return math.inf
        if self.hits - self.last_crop_check_hit < check_every:
            return 0.0
        return quality_upper_bound(frame_shape, box, score, margin) / max(self.best.quality, 1e-12)

    def offer_crop(self, frame: np.ndarray, box: np.ndarray, score: float, frame_index: int, margin: float) -> None:
        """Score the crop of the detection ``box`` and keep it if it beats the best crop."""
        self.last_crop_check_hit = self.hits
        crop = extract_crop(frame, box, margin)
        quality = crop_quality(crop, score)
        if crop.size and (self.best is None or quality > self.best.quality):
            self.best = BestCrop(crop=crop, quality=quality, frame_index=frame_index, box=np.array(box[:4], float))

    def resume(self, ended: Track) -> None:
        """Carry on the record of ``ended``, a track of the same face that ended earlier: its id, first
        frame and hits, and its best crop when that one is better (re-identification, :mod:`tracker.reid`)."""
        self.track_id = ended.track_id
        self.first_frame = ended.first_frame
        self.hits += ended.hits
        if ended.best is not None and (self.best is None or ended.best.quality > self.best.quality):
            self.best = ended.best

    def finish(self) -> FinishedTrack:
        """Return the record of this (confirmed) track for crop saving."""
        best = self.best
        return FinishedTrack(
            track_id=self.track_id,
            first_frame=self.first_frame,
            last_frame=self.last_frame,
            hits=self.hits,
            best_crop=None if best is None else best.crop,
            best_quality=0.0 if best is None else best.quality,
            best_frame=-1 if best is None else best.frame_index,
            best_box=None if best is None else best.box,
        )


def track_boxes(tracks: list[Track]) -> np.ndarray:
    """Return the (N, 4) ``[x1, y1, x2, y2]`` Kalman estimates of the tracks in one conversion."""
    states = np.array([track.kalman.state[:4] for track in tracks]).reshape(-1, 4)
    return cxcyah_to_xyxy(states)
