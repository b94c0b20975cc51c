"""Real-time multi-face tracker (Kalman + Hungarian, ByteTrack-style two rounds).

Usage::

    from tracker import FaceTracker, TrackerConfig

    tracker = FaceTracker(TrackerConfig(), fps=25.0)
    for detections, frame in video:          # detections: (N, 5) array or None
        faces = tracker.update(detections, frame)
        for finished in tracker.pop_finished():
            save(finished.best_crop)
    remaining = tracker.finalize()
"""

from .config import TrackerConfig
from .face_tracker import FaceTracker
from .results import FinishedTrack, TrackedFace

__all__ = ["FaceTracker", "FinishedTrack", "TrackedFace", "TrackerConfig"]
