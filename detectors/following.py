"""The face follower: a tiny network that re-finds one tracked face inside its follow window.

Between full scans the tracker looks for every tracked face in a square window around its Kalman
prediction (:mod:`tracker.follow`). Running the face detector in each window costs about as much as
a scan for ten faces at 1080p. :class:`FaceFollower` instead runs a small CNN (``follower.onnx``,
trained by :mod:`detectors.follower`) on each window shrunk to 64 x 64 pixels: it answers whether a
face of about the window's expected size is near its centre and where that face's box is, as
MediaPipe's face pipeline re-finds a face in a region of interest taken from the previous frame
instead of running its detector again. All windows of a frame go through the network in one call.
numpy, OpenCV and ONNX Runtime only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detectors.preprocess import resize_for_detection, to_bgr
from detectors.small_models import SmallModelLoadError, open_small_model
from detectors.verification import crops_to_batch
from detectors.windows import cut_window, snap_windows

#: Side of the network's square input.
INPUT_SIZE = 64
#: Windows whose face probability is under this give no measurement (the tracker's own score
#: thresholds then decide, as for detections; see :meth:`FaceFollower.__call__`).
MIN_PRESENCE = 0.05

#: Where the shipped follower lives.
SHIPPED_FOLLOWER = Path(__file__).resolve().parent / "weights" / "follower.onnx"


class FollowerLoadError(SmallModelLoadError):
    """The follower model is missing, unreadable or not a FaceTrack follower."""


def window_crops(frame: np.ndarray, windows: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """(N, size, size, 3) uint8 BGR crops of whole-pixel square ``windows`` of ``frame`` (parts
    outside the frame filled as :func:`detectors.windows.cut_window` does)."""
    crops = np.empty((len(windows), size, size, 3), np.uint8)
    for row, window in enumerate(windows):
        crops[row] = resize_for_detection(cut_window(frame, window), (size, size))
    return crops


def boxes_in_frame(relative: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """(N, 4) frame-pixel boxes of (N, 4) boxes given in window-side units inside whole-pixel ``windows``."""
    windows = np.asarray(windows, dtype=np.float64).reshape(-1, 4)
    side = (windows[:, 2] - windows[:, 0])[:, None]
    return np.asarray(relative, dtype=np.float64).reshape(-1, 4) * side + windows[:, [0, 1, 0, 1]]


def decode_peak(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Face probability (N,) and box (N, 4, ``x1, y1, x2, y2`` in window sides) of each window from the
    network's (N, 5, C, C) maps: the heatmap's highest cell, the centre offset and log sizes read there."""
    maps = np.asarray(maps, dtype=np.float64)
    count, _, cells, _ = maps.shape
    flat = maps.reshape(count, 5, cells * cells)
    peak = np.argmax(flat[:, 0], axis=1)
    at_peak = flat[np.arange(count), :, peak]
    row, column = np.divmod(peak, cells)
    centre_x = (column + at_peak[:, 1]) / cells
    centre_y = (row + at_peak[:, 2]) / cells
    half_width, half_height = np.exp(np.clip(at_peak[:, 3:5], -10.0, 3.0)).T / 2.0
    boxes = np.stack([centre_x - half_width, centre_y - half_height, centre_x + half_width, centre_y + half_height], axis=1)
    return 1.0 / (1.0 + np.exp(-at_peak[:, 0])), boxes


class FaceFollower:
    """The exported follower network (its input size read from the ONNX file).

    Called like the detector's window search (``follower(frame, windows)``, see
    :meth:`detectors.runtime.OnnxFaceDetector.detect_windows`), so :meth:`tracker.FaceTracker.follow`
    takes either.

    Args:
        model_path: A ``follower.onnx`` exported by :func:`detectors.follower.train.export_follower`
            (None: :data:`SHIPPED_FOLLOWER`).
        threads: CPU threads of its ONNX Runtime session (None: ONNX Runtime decides).
    """

    def __init__(self, model_path: str | Path | None = None, threads: int | None = None) -> None:
        self.session, metadata = open_small_model(model_path or SHIPPED_FOLLOWER, "facetrack_follower", "face follower", threads,
                                                  "--follow-with detector", FollowerLoadError)
        self.input_size = int(metadata.get("input_size", INPUT_SIZE))
        self._input_name = self.session.get_inputs()[0].name

    def locate(self, frame: np.ndarray, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Face probability (N,) and frame-pixel box (N, 4) of the face in each whole-pixel window."""
        if len(windows) == 0:
            return np.zeros(0, np.float32), np.zeros((0, 4), np.float64)
        crops = window_crops(to_bgr(frame), windows, self.input_size)
        (maps,) = self.session.run(None, {self._input_name: crops_to_batch(crops)})
        presence, boxes = decode_peak(maps)
        return presence.astype(np.float32), boxes_in_frame(boxes, windows)

    def __call__(self, frame: np.ndarray, windows: np.ndarray) -> list[np.ndarray]:
        """The face in each window: one (K, 5) float32 ``x1, y1, x2, y2, score`` array per window,
        K = 1 when its face probability (the score) is :data:`MIN_PRESENCE` or more and its box
        inside the frame is not empty, else 0. Windows are snapped to whole pixels first."""
        snapped = snap_windows(windows)
        presence, boxes = self.locate(frame, snapped)
        height, width = frame.shape[:2]
        results = []
        for probability, box in zip(presence, boxes, strict=True):
            x1, x2 = np.clip(box[[0, 2]], 0, width)
            y1, y2 = np.clip(box[[1, 3]], 0, height)
            found = probability >= MIN_PRESENCE and x2 > x1 and y2 > y1 and np.isfinite(box).all()
            row = np.array([[x1, y1, x2, y2, probability]], np.float32)
            results.append(row if found else np.zeros((0, 5), np.float32))
        return results
