"""Vectorised box geometry: areas, pairwise IoU and non-maximum suppression."""

from __future__ import annotations

import numpy as np


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Areas of (N, 4) corner boxes (zero for degenerate boxes)."""
    wh = np.clip(boxes[:, 2:4] - boxes[:, 0:2], 0, None)
    return wh[:, 0] * wh[:, 1]


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (N, M) between (N, 4) and (M, 4) corner boxes."""
    top_left = np.maximum(a[:, None, 0:2], b[None, :, 0:2])
    bottom_right = np.minimum(a[:, None, 2:4], b[None, :, 2:4])
    wh = np.clip(bottom_right - top_left, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return inter / np.maximum(union, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_keep: int = 750) -> np.ndarray:
    """Greedy non-maximum suppression.

    Returns the indices of the kept boxes, highest score first. A box is suppressed when its
    IoU with an already kept, higher-scoring box exceeds ``iou_threshold``.
    """
    order = np.argsort(-scores, kind="stable")
    areas = box_area(boxes)
    keep: list[int] = []
    while order.size and len(keep) < max_keep:
        best = order[0]
        keep.append(int(best))
        rest = order[1:]
        top_left = np.maximum(boxes[best, 0:2], boxes[rest, 0:2])
        bottom_right = np.minimum(boxes[best, 2:4], boxes[rest, 2:4])
        wh = np.clip(bottom_right - top_left, 0, None)
        inter = wh[:, 0] * wh[:, 1]
        iou = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)
