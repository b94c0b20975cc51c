"""MultiBox loss of FaceBoxes: softmax classification with hard negative mining + smooth L1."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def multibox_loss(
    deltas: torch.Tensor,
    logits: torch.Tensor,
    labels: torch.Tensor,
    targets: torch.Tensor,
    negatives_per_positive: int = 3,
    localisation_weight: float = 2.0,
    background_weight: float = 0.0,
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

    localisation = F.smooth_l1_loss(deltas[positive], targets[positive], reduction="sum") / normaliser
    return classification, localisation_weight * localisation
