"""Anchor matching in torch (RetinaNet rule + best anchor per face + ignore regions).

Used twice per image by SRN's two steps: against the original anchors for the first step and
against the (detached) refined anchors for the second step.
"""

from __future__ import annotations

import torch

from detectors.ainnoface.box_ops import pairwise_iou

POSITIVE, NEGATIVE, IGNORED = 1, 0, -1


def match_anchors(
    anchors: torch.Tensor,
    boxes: torch.Tensor,
    ignore: torch.Tensor | None = None,
    positive_iou: float = 0.5,
    negative_iou: float = 0.4,
    ignore_iou: float = 0.4,
    best_anchor_per_face: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Label anchors of one image.

    Rules, in order of precedence (last wins):

    1. every anchor is a negative;
    2. anchors whose IoU with an ignore region is ``>= ignore_iou`` are ignored (the default equals
       ``negative_iou``: exactly the anchors that would not be clean negatives were the region a
       face);
    3. anchors whose best face IoU is in ``[negative_iou, positive_iou)`` are ignored;
    4. anchors with a face IoU ``>= positive_iou`` are positives of their best face;
    5. every face claims its best anchor (if they overlap at all) as a positive, so faces between
       anchor sizes still get one.

    Args:
        anchors: (A, 4) corner anchors (or refined anchors).
        boxes: (G, 4) corner face boxes; boxes without area are skipped.
        ignore: (K, 4) corner ignore regions, or None.

    Returns:
        labels: (A,) int64 of POSITIVE / NEGATIVE / IGNORED.
        matched: (A,) int64 index of each anchor's face in ``boxes`` (0 where not positive).
    """
    count = anchors.shape[0]
    labels = torch.full((count,), NEGATIVE, dtype=torch.int64, device=anchors.device)
    matched = torch.zeros(count, dtype=torch.int64, device=anchors.device)
    if ignore is not None and ignore.numel():
        labels[pairwise_iou(anchors, ignore.reshape(-1, 4)).amax(dim=1) >= ignore_iou] = IGNORED
    boxes = boxes.reshape(-1, 4)
    valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    if not bool(valid.any()) or count == 0:
        return labels, matched
    face_ids = torch.nonzero(valid).flatten()
    iou = pairwise_iou(anchors, boxes[face_ids])
    best_iou, best_face = iou.max(dim=1)
    labels[(best_iou >= negative_iou) & (best_iou < positive_iou)] = IGNORED
    positive = best_iou >= positive_iou
    labels[positive] = POSITIVE
    matched[positive] = face_ids[best_face[positive]]
    if best_anchor_per_face:
        face_best_iou, best_anchor = iou.max(dim=0)
        overlapping = face_best_iou > 0
        labels[best_anchor[overlapping]] = POSITIVE
        matched[best_anchor[overlapping]] = face_ids[overlapping]
    return labels, matched
