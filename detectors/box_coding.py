"""SSD-style box coding between pixel boxes and anchor-relative regression targets.

A box is encoded relative to an anchor ``(acx, acy, aw, ah)`` as
``((cx - acx) / (v0 * aw), (cy - acy) / (v0 * ah), log(w / aw) / v1, log(h / ah) / v1)``
with the variances ``v0 = 0.1, v1 = 0.2`` of the FaceBoxes release.
"""

from __future__ import annotations

import numpy as np

CENTER_VARIANCE = 0.1
SIZE_VARIANCE = 0.2
_MAX_LOG_SCALE = np.log(1000.0 / 16.0)


def corners_to_centers(boxes: np.ndarray) -> np.ndarray:
    """Convert (N, 4) ``x1, y1, x2, y2`` boxes to ``cx, cy, w, h``."""
    wh = boxes[:, 2:4] - boxes[:, 0:2]
    return np.concatenate([boxes[:, 0:2] + wh / 2, wh], axis=1)


def centers_to_corners(boxes: np.ndarray) -> np.ndarray:
    """Convert (N, 4) ``cx, cy, w, h`` boxes to ``x1, y1, x2, y2``."""
    half = boxes[:, 2:4] / 2
    return np.concatenate([boxes[:, 0:2] - half, boxes[:, 0:2] + half], axis=1)


def encode(boxes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Regression targets for (N, 4) corner ``boxes`` w.r.t. (N, 4) cx/cy/w/h ``anchors``."""
    centers = corners_to_centers(boxes.astype(np.float32))
    wh = np.maximum(centers[:, 2:4], 1e-3)
    offset = (centers[:, 0:2] - anchors[:, 0:2]) / (CENTER_VARIANCE * anchors[:, 2:4])
    scale = np.log(wh / anchors[:, 2:4]) / SIZE_VARIANCE
    return np.concatenate([offset, scale], axis=1).astype(np.float32)


def decode(deltas: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Corner boxes from (N, 4) regression ``deltas`` w.r.t. (N, 4) cx/cy/w/h ``anchors``."""
    centers = anchors[:, 0:2] + deltas[:, 0:2] * CENTER_VARIANCE * anchors[:, 2:4]
    log_scale = np.clip(deltas[:, 2:4] * SIZE_VARIANCE, -_MAX_LOG_SCALE, _MAX_LOG_SCALE)
    wh = anchors[:, 2:4] * np.exp(log_scale)
    return centers_to_corners(np.concatenate([centers, wh], axis=1)).astype(np.float32)
