"""Vectorised box geometry: IoU and centre distance matrices, box conversions.

Boxes are ``[x1, y1, x2, y2]`` rows in pixels. The Kalman state uses the
``[cx, cy, aspect, height]`` parameterisation with ``aspect = width / height``.
"""

from __future__ import annotations

import numpy as np


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Return the (N,) areas of (N, 4) boxes; degenerate boxes give 0."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.clip(b[:, 2] - b[:, 0], 0.0, None) * np.clip(b[:, 3] - b[:, 1], 0.0, None)


def intersection_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Return the (M, N) areas of the intersections of (M, 4) ``boxes_a`` with (N, 4) ``boxes_b``."""
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    inter_w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    inter_h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    return np.clip(inter_w, 0.0, None) * np.clip(inter_h, 0.0, None)


def iou_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Return the (M, N) intersection-over-union matrix of two box arrays.

    ``boxes_a`` is (M, 4) and ``boxes_b`` is (N, 4); degenerate boxes give 0.
    """
    inter = intersection_matrix(boxes_a, boxes_b)
    union = box_areas(boxes_a)[:, None] + box_areas(boxes_b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0.0)


def centre_distance_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Return the (M, N) distances between box centres, in box heights.

    Each distance is divided by the larger height of the two boxes, so 1.0
    means "one face height away" whatever the face size, and a degenerate
    (e.g. shrunk while leaving the frame) box on one side does not blow it up.
    """
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    centre_a = (a[:, :2] + a[:, 2:]) / 2.0
    centre_b = (b[:, :2] + b[:, 2:]) / 2.0
    dist = np.linalg.norm(centre_a[:, None, :] - centre_b[None, :, :], axis=2)
    height = np.maximum(np.maximum(a[:, None, 3] - a[:, None, 1], b[None, :, 3] - b[None, :, 1]), 1e-6)
    return dist / height


def xyxy_to_cxcyah(box: np.ndarray) -> np.ndarray:
    """Convert one ``[x1, y1, x2, y2]`` box to ``[cx, cy, width / height, height]``."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    height = y2 - y1
    return np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0, (x2 - x1) / height, height])


def cxcyah_to_xyxy(states: np.ndarray) -> np.ndarray:
    """Convert ``[cx, cy, width / height, height]`` rows (shape (..., 4)) to ``[x1, y1, x2, y2]``."""
    states = np.asarray(states, dtype=np.float64)
    half_w = states[..., 2] * states[..., 3] / 2.0
    half_h = states[..., 3] / 2.0
    cx, cy = states[..., 0], states[..., 1]
    return np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=-1)


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip ``[x1, y1, x2, y2]`` rows (shape (..., 4)) to the frame ``[0, width] x [0, height]``."""
    return np.clip(boxes, 0.0, np.array([width, height, width, height], dtype=np.float64))
