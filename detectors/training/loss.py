"""MultiBox loss of FaceBoxes: softmax classification with hard negative mining + smooth L1.

An optional GIoU term (Rezatofighi et al., CVPR 2019) adds a loss on the overlap of the decoded
boxes, which smooth L1 on the deltas only approximates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from detectors.ainnoface.box_ops import aligned_iou
from detectors.box_coding import CENTER_VARIANCE, SIZE_VARIANCE

_MAX_LOG_SCALE = 4.0  # size change clamp when decoding for the GIoU term (a factor of ~55)


def anchor_frame_boxes(deltas: torch.Tensor) -> torch.Tensor:
    """Corner boxes that (..., 4) deltas encode relative to a unit anchor centred at the origin.

    Predictions and targets of the same anchor decode against the same anchor, and (G)IoU is
    unchanged by the per-axis scaling and shift that maps this unit anchor to the real one, so
    overlaps computed in this frame equal the overlaps in pixels.
    """
    centers = deltas[..., 0:2] * CENTER_VARIANCE
    half_sizes = torch.exp((deltas[..., 2:4] * SIZE_VARIANCE).clamp(-_MAX_LOG_SCALE, _MAX_LOG_SCALE)) / 2
    return torch.cat([centers - half_sizes, centers + half_sizes], dim=-1)


def multibox_loss(
    deltas: torch.Tensor,
    logits: torch.Tensor,
    labels: torch.Tensor,
    targets: torch.Tensor,
    negatives_per_positive: int = 3,
    localisation_weight: float = 2.0,
    background_weight: float = 0.0,
    giou_weight: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Classification and localisation losses, both normalised by the number of positives.

    Args:
        deltas: (N, A, 4) predicted box regressions.
        logits: (N, A, 2) class logits (background, face).
        labels: (N, A) int64 with 1 = face, 0 = background, -1 = ignored.
        targets: (N, A, 4) encoded boxes of the positives.
        negatives_per_positive: Hard negative mining ratio per image (at least 1 positive's worth
            of negatives is kept for images without faces).
        localisation_weight: Weight of the smooth-L1 term (2.0 in the FaceBoxes release).
        background_weight: Weight of the mean cross-entropy over *all* negatives. Hard negative
            mining alone never trains the easy background anchors, whose face scores then drift
            up (thousands of anchors above 0.05); this term keeps them low, so scores stay
            comparable across images and thresholds mean something.
        giou_weight: Weight of the ``1 - GIoU`` term between decoded predicted and target boxes of
            the positives, added to the localisation loss (0 = the release's smooth L1 only).

    Returns:
        ``(classification_loss, weighted_localisation_loss)``.
    """
    positive = labels == 1
    num_positive = positive.sum(dim=1, keepdim=True)
    normaliser = num_positive.sum().clamp(min=1).float()

    per_anchor_ce = F.cross_entropy(logits.reshape(-1, 2), labels.clamp(min=0).reshape(-1), reduction="none")
    per_anchor_ce = per_anchor_ce.view(labels.shape)
    mining_loss = per_anchor_ce.detach().clone()
    mining_loss[labels != 0] = -1.0  # only real negatives compete in the mining
    order = mining_loss.argsort(dim=1, descending=True)
    rank = order.argsort(dim=1)
    num_negative = (negatives_per_positive * num_positive).clamp(min=negatives_per_positive)
    num_negative = torch.minimum(num_negative, (labels == 0).sum(dim=1, keepdim=True))
    hard_negative = rank < num_negative
    selected = positive | (hard_negative & (labels == 0))
    classification = per_anchor_ce[selected].sum() / normaliser
    negatives = labels == 0
    if background_weight > 0 and bool(negatives.any()):
        classification = classification + background_weight * per_anchor_ce[negatives].mean()

    localisation = localisation_weight * F.smooth_l1_loss(deltas[positive], targets[positive], reduction="sum")
    if giou_weight > 0:
        overlap = aligned_iou(anchor_frame_boxes(deltas[positive]), anchor_frame_boxes(targets[positive]), generalized=True)
        localisation = localisation + giou_weight * (1.0 - overlap).sum()
    return classification, localisation / normaliser
