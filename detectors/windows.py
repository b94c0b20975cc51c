"""Detection inside square windows of a frame: the per-face "follow" windows of the tracker.

A window is a square ``[x1, y1, x2, y2]`` in frame pixels, usually centred on a tracked face's
predicted position and a few times its size. Each window is cut out of the frame (the parts
outside the frame are filled with the training mean, as the letterbox padding), resized to
``tile`` x ``tile`` pixels and stacked into one ``(N, 3, tile, tile)`` batch, so all windows of a
frame cost one network call. Detections are mapped back to frame pixels exactly: windows are
snapped to whole pixels, and a window of side ``s`` at ``(x1, y1)`` maps tile point ``u`` to
frame point ``x1 + u * s / tile`` (OpenCV's resize uses the same pixel-area convention).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from detectors.anchors import AnchorLevel, generate_anchors
from detectors.postprocess import PostprocessConfig, postprocess
from detectors.preprocess import BGR_MEAN, resize_for_detection, to_bgr

#: Takes an (N, 3, H, W) float32 BGR batch, returns (N, A, 4) deltas and (N, A) face probabilities.
BatchForwardFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def snap_windows(windows: np.ndarray) -> np.ndarray:
    """Whole-pixel square windows ``[x1, y1, x2, y2]`` (int64) closest to the given ones.

    The side is the rounded larger side of each window (at least 1 px), the centre is kept.
    """
    windows = np.asarray(windows, dtype=np.float64).reshape(-1, 4)
    side = np.maximum(np.round(np.maximum(windows[:, 2] - windows[:, 0], windows[:, 3] - windows[:, 1])), 1.0)
    cx = (windows[:, 0] + windows[:, 2]) / 2
    cy = (windows[:, 1] + windows[:, 3]) / 2
    x1 = np.round(cx - side / 2)
    y1 = np.round(cy - side / 2)
    return np.stack([x1, y1, x1 + side, y1 + side], axis=1).astype(np.int64)


def cut_window(frame: np.ndarray, window: np.ndarray) -> np.ndarray:
    """The pixels of a whole-pixel ``window`` of ``frame``; parts outside the frame are :data:`BGR_MEAN`."""
    x1, y1, x2, y2 = (int(v) for v in window)
    height, width = frame.shape[:2]
    if x1 >= 0 and y1 >= 0 and x2 <= width and y2 <= height:
        return frame[y1:y2, x1:x2]
    patch = np.empty((y2 - y1, x2 - x1, 3), dtype=np.uint8)
    patch[:] = np.round(BGR_MEAN).astype(np.uint8)
    left, top, right, bottom = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    if right > left and bottom > top:
        patch[top - y1 : bottom - y1, left - x1 : right - x1] = frame[top:bottom, left:right]
    return patch


def window_batch(frame: np.ndarray, windows: np.ndarray, tile: int) -> np.ndarray:
    """An (N, 3, tile, tile) float32 BGR batch of the whole-pixel ``windows`` of ``frame``."""
    batch = np.empty((len(windows), 3, tile, tile), dtype=np.float32)
    for row, window in enumerate(windows):
        patch = resize_for_detection(cut_window(frame, window), (tile, tile))
        for channel in range(3):
            batch[row, channel] = patch[:, :, channel]
    return batch


def detect_windows(
    frame: np.ndarray,
    windows: np.ndarray,
    forward: BatchForwardFn,
    levels: tuple[AnchorLevel, ...],
    tile: int,
    post: PostprocessConfig,
) -> list[np.ndarray]:
    """Faces in each window of ``frame``: one (K, 5) float32 ``x1, y1, x2, y2, score`` array per window.

    Boxes are in frame pixels, clipped to the window and to the frame. ``tile`` must be a multiple
    of the model's padding multiple. Windows are snapped with :func:`snap_windows` first.
    """
    frame = to_bgr(frame)
    snapped = snap_windows(windows)
    if len(snapped) == 0:
        return []
    deltas, scores = forward(window_batch(frame, snapped, tile))
    anchors = generate_anchors(levels, tile, tile)
    height, width = frame.shape[:2]
    results = []
    for window, window_deltas, window_scores in zip(snapped, deltas, scores, strict=True):
        found = postprocess(window_deltas, window_scores, anchors, post)
        side = float(window[2] - window[0])
        found[:, :4] = np.clip(found[:, :4], 0, tile) * (side / tile)
        found[:, [0, 2]] = np.clip(found[:, [0, 2]] + window[0], 0, width)
        found[:, [1, 3]] = np.clip(found[:, [1, 3]] + window[1], 0, height)
        keep = (found[:, 2] > found[:, 0]) & (found[:, 3] > found[:, 1])
        results.append(found[keep].astype(np.float32))
    return results
