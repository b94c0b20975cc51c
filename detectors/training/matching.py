"""Anchor matching: which anchors are faces, which are background and which are ignored."""

from __future__ import annotations

import numpy as np

from detectors.box_coding import centers_to_corners, encode
from detectors.boxes import pairwise_iou

POSITIVE, NEGATIVE, IGNORED = 1, 0, -1


def match_anchors(
    anchors: np.ndarray, boxes: np.ndarray, ignore: np.ndarray, iou_threshold: float = 0.35
) -> tuple[np.ndarray, np.ndarray]:
    """Label every anchor and compute regression targets for the positives.

    The FaceBoxes rule: each face takes its best anchor, then every anchor whose IoU with a face
    exceeds ``iou_threshold`` is positive for its best face; the rest are negatives, except
    anchors overlapping an ignore region by at least ``iou_threshold``, which are ignored.

    Args:
        anchors: (A, 4) cx/cy/w/h anchors.
        boxes: (G, 4) corner face boxes.
        ignore: (K, 4) corner ignore regions.

    Returns:
        labels: (A,) int8 of POSITIVE / NEGATIVE / IGNORED.
        targets: (A, 4) float32 encoded boxes (zeros where not positive).
    """
    labels = np.full(len(anchors), NEGATIVE, dtype=np.int8)
    targets = np.zeros((len(anchors), 4), dtype=np.float32)
    anchor_boxes = centers_to_corners(anchors)
    if len(ignore):
        labels[pairwise_iou(anchor_boxes, ignore).max(axis=1) >= iou_threshold] = IGNORED
    if len(boxes) == 0:
        return labels, targets
    iou = pairwise_iou(anchor_boxes, boxes)
    best_face = iou.argmax(axis=1)
    best_face_iou = iou[np.arange(len(anchors)), best_face]
    best_anchor = iou.argmax(axis=0)
    # Faces claim their best anchor even below the threshold (the paper's first matching step).
    best_face[best_anchor] = np.arange(len(boxes))
    best_face_iou[best_anchor] = 1.0
    positive = best_face_iou >= iou_threshold
    labels[positive] = POSITIVE
    targets[positive] = encode(boxes[best_face[positive]], anchors[positive])
    return labels, targets
