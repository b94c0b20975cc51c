"""Follow windows: where to look for each tracked face on frames without a full-frame scan.

Between full scans every live track gets a square window centred on its Kalman prediction; the
detector runs inside the windows only (see ``detectors.windows``) and the best detection in each
window, gated against the prediction, becomes the track's measurement (Tracktor's idea of letting
the detector re-localise known objects; MediaPipe's schedule of a full scan now and then).

Window side (``face`` = the larger side of the predicted box)::

    side = clip(face + 2 * (speed + 3 * sigma), scale * face, max_scale * face)

``speed`` is the predicted centre's motion per frame and ``sigma`` the standard deviation of the
predicted centre (both in pixels): a fast or long-unmeasured face gets a larger window, a steady
one the minimum of ``scale`` faces, so the face fills ``1 / scale`` of the detector's tile.
"""

from __future__ import annotations

import numpy as np

from .association import GatedCost
from .geometry import box_areas, centre_distance_matrix, cxcyah_to_xyxy, iou_matrix


def follow_windows(states: np.ndarray, position_stds: np.ndarray, scale: float, max_scale: float) -> np.ndarray:
    """Square windows ``[x1, y1, x2, y2]`` around Kalman states ``[cx, cy, a, h, vcx, vcy, ...]``.

    ``position_stds`` holds each prediction's centre standard deviation in pixels.
    """
    states = np.asarray(states, dtype=np.float64).reshape(-1, 8)
    boxes = cxcyah_to_xyxy(states[:, :4])
    face = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    speed = np.hypot(states[:, 4], states[:, 5])
    side = np.clip(face + 2.0 * (speed + 3.0 * np.asarray(position_stds, dtype=np.float64)), scale * face, max_scale * face)
    half = np.maximum(side, 1.0) / 2.0
    return np.stack([states[:, 0] - half, states[:, 1] - half, states[:, 0] + half, states[:, 1] + half], axis=1)


def follow_cost(predicted: np.ndarray, windows: np.ndarray, detections: np.ndarray, size_ratio: float) -> GatedCost:
    """Cost of measuring each track (rows) by each detection box (columns) found in the windows.

    For the faces that moved too far from their prediction to overlap it (a fast face that turned):
    a pair is allowed when the detection's centre lies in the track's window and its size is within
    ``size_ratio`` (< 1) of the predicted size. The cost is the centre distance in box heights plus
    the log size difference, so the face closest to the prediction wins over a neighbour.
    """
    predicted = np.asarray(predicted, dtype=np.float64).reshape(-1, 4)
    detections = np.asarray(detections, dtype=np.float64).reshape(-1, 4)
    centres = (detections[:, :2] + detections[:, 2:]) / 2.0
    inside = (
        (centres[None, :, 0] >= windows[:, None, 0]) & (centres[None, :, 0] <= windows[:, None, 2])
        & (centres[None, :, 1] >= windows[:, None, 1]) & (centres[None, :, 1] <= windows[:, None, 3])
    )
    log_ratio = np.abs(np.log(np.sqrt(box_areas(detections) + 1e-9)[None, :] / np.sqrt(box_areas(predicted) + 1e-9)[:, None]))
    distance = centre_distance_matrix(predicted, detections)
    return GatedCost(cost=distance + log_ratio, allowed=inside & (log_ratio <= -np.log(size_ratio)))


def merge_window_detections(detections: list[np.ndarray], overlap: float = 0.5) -> np.ndarray:
    """One (N, 5) array of the detections of all windows, the same face found in several
    overlapping windows kept once (its highest-scoring box; greedy suppression at IoU > ``overlap``)."""
    pooled = np.concatenate([np.asarray(d, dtype=np.float64).reshape(-1, 5) for d in detections] or [np.zeros((0, 5))])
    pooled = pooled[np.argsort(-pooled[:, 4], kind="stable")]
    iou = iou_matrix(pooled[:, :4], pooled[:, :4])
    keep = np.ones(len(pooled), dtype=bool)
    for row in range(len(pooled)):
        if keep[row]:
            keep[row + 1 :] &= iou[row, row + 1 :] <= overlap
    return pooled[keep]
