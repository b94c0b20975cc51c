"""Public result records of the face tracker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class TrackedFace:
    """A confirmed face visible on the current frame, as returned by ``FaceTracker.update``."""

    track_id: int
    box: np.ndarray
    """``[x1, y1, x2, y2]`` Kalman estimate, clipped to the frame when one was given."""
    score: float
    """Detector score of the last matched detection."""
    detected: bool
    """True if matched to a detection on this frame, False if only predicted."""
    age_frames: int
    """Frames since the track's first detection, counting both ends."""
    hits: int
    """Number of detections matched to the track so far."""
    measured_box: np.ndarray | None = None
    """The detection matched on this frame (full face box, not clipped); None when only predicted."""
    position_std: float = 0.0
    """Standard deviation in pixels of the box centre (grows while the track is only predicted)."""


@dataclass(eq=False)
class FinishedTrack:
    """A removed or finalised confirmed track with its best face crop."""

    track_id: int
    first_frame: int
    last_frame: int
    """Frame index of the last matched detection."""
    hits: int
    best_crop: np.ndarray | None
    """BGR uint8 crop (with margin) of the best detection; None if no frame was given."""
    best_quality: float
    """Quality of ``best_crop`` (see ``tracker.quality``); 0.0 without a crop."""
    best_frame: int
    """Frame index of ``best_crop``; -1 without a crop."""
    best_box: np.ndarray | None
    """Detection box ``[x1, y1, x2, y2]`` of ``best_crop``; None without a crop."""
