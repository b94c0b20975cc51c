"""AInnoFace training losses: SRN two-step sigmoid focal loss + IoU-based regression loss.

Per image, anchors are matched twice: the first step against the original anchors, the second
step against the first step's refined anchors (detached; identical to the originals on levels
without first-step regression). Then

* ``cls1``: focal loss of the first-step classifier on the STC levels;
* ``reg1``: IoU loss of the first-step boxes (``decode(d1, anchor)``) on the STR levels;
* ``cls2``: focal loss of the second-step classifier on every level, except the anchors the first
  step rejects (STC levels, first-step face probability ``< first_step_threshold``, detached):
  SRN's filtering, so the second classifier concentrates on the hard negatives it will see at
  test time. Rejected *positives* are kept by default (``keep_rejected_positives``): the
  second step's positive set (and its normaliser) then does not depend on the state of the
  first step, which matters early in training;
* ``reg2``: IoU loss of the second-step boxes (``decode(d2, refined anchor)``) on every level.

Each loss is summed over the batch and divided by its own positive count (at least 1):
``cls1`` by the positives on the STC levels, ``reg1`` by those on the STR levels, ``cls2`` and
``reg2`` by the second-step positives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from detectors.ainnoface.box_ops import aligned_iou, centers_to_corners, decode, refine_anchors
from detectors.ainnoface.matching import POSITIVE, match_anchors

IOU_LOSSES = ("iou", "linear_iou", "giou")


@dataclass(frozen=True)
class LossConfig:
    """Matching thresholds and loss weights.

    Attributes:
        positive_iou / negative_iou: First-step matching thresholds (RetinaNet/SRN: 0.5 / 0.4).
        second_positive_iou / second_negative_iou: Second-step thresholds (against refined
            anchors; SRN-style setups may raise them since refined anchors fit better).
        ignore_iou: IoU with an ignore region from which a non-positive anchor is ignored.
        focal_alpha / focal_gamma: Focal loss parameters (0.25 / 2).
        regression: ``"iou"`` (UnitBox ``-ln IoU``, the paper's IoU loss), ``"linear_iou"``
            (``1 - IoU``) or ``"giou"`` (``1 - GIoU``: non-zero gradients for boxes that stop
            overlapping; default).
        regression_weight: Weight of both regression terms.
        first_step_weight: Weight of both first-step terms.
        first_step_threshold: SRN's rejection threshold on the first-step face probability.
        keep_rejected_positives: See the module docstring.
    """

    positive_iou: float = 0.5
    negative_iou: float = 0.4
    second_positive_iou: float = 0.5
    second_negative_iou: float = 0.4
    ignore_iou: float = 0.4
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    regression: str = "giou"
    regression_weight: float = 1.0
    first_step_weight: float = 1.0
    first_step_threshold: float = 0.01
    keep_rejected_positives: bool = True


def sigmoid_focal_loss(
    logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0
) -> torch.Tensor:
    """Element-wise focal loss ``-alpha_t (1 - p_t)^gamma log(p_t)`` (Lin et al.).

    ``alpha_t`` is ``alpha`` for positives and ``1 - alpha`` for negatives; ``alpha < 0``
    disables the weighting.
    """
    targets = targets.to(logits.dtype)
    probability = torch.sigmoid(logits)
    cross_entropy = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = probability * targets + (1 - probability) * (1 - targets)
    loss = cross_entropy * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss


def iou_loss(predicted: torch.Tensor, target: torch.Tensor, kind: str = "giou", eps: float = 1e-6) -> torch.Tensor:
    """Element-wise IoU-based loss between (N, 4) corner boxes: 0 for perfect boxes."""
    if kind == "giou":
        return 1.0 - aligned_iou(predicted, target, generalized=True)
    iou = aligned_iou(predicted, target)
    if kind == "iou":
        return -torch.log(iou.clamp(min=eps))
    if kind == "linear_iou":
        return 1.0 - iou
    raise ValueError(f"unknown IoU loss {kind!r}: use one of {IOU_LOSSES}")


def _as_tensor(value, like: torch.Tensor) -> torch.Tensor:
    if value is None:
        return torch.zeros((0, 4), dtype=like.dtype, device=like.device)
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.array(value, dtype=np.float32))  # copy: anchors are read-only
    return value.to(device=like.device, dtype=like.dtype).reshape(-1, 4)


def match_batch(
    anchors: torch.Tensor,
    refined: torch.Tensor,
    gt_boxes_list: Sequence,
    ignore_list: Sequence | None,
    config: LossConfig,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two-step matching of a batch.

    Args:
        anchors: (A, 4) centre-form original anchors.
        refined: (N, A, 4) centre-form refined anchors (detached).

    Returns:
        ``labels1, targets1, labels2, targets2``: (N, A) int64 labels and (N, A, 4) corner boxes
        of the matched faces (zeros where not positive).
    """
    anchor_corners = centers_to_corners(anchors)
    labels1, targets1, labels2, targets2 = [], [], [], []
    for index in range(refined.shape[0]):
        boxes = _as_tensor(gt_boxes_list[index], anchors)
        ignore = _as_tensor(ignore_list[index] if ignore_list is not None else None, anchors)
        for step_anchors, positive_iou, negative_iou, labels_out, targets_out in (
            (anchor_corners, config.positive_iou, config.negative_iou, labels1, targets1),
            (
                centers_to_corners(refined[index]),
                config.second_positive_iou,
                config.second_negative_iou,
                labels2,
                targets2,
            ),
        ):
            labels, matched = match_anchors(step_anchors, boxes, ignore, positive_iou, negative_iou, config.ignore_iou)
            targets = boxes[matched] if len(boxes) else torch.zeros_like(step_anchors)
            targets = torch.where((labels == POSITIVE)[:, None], targets, torch.zeros_like(targets))
            labels_out.append(labels)
            targets_out.append(targets)
    return torch.stack(labels1), torch.stack(targets1), torch.stack(labels2), torch.stack(targets2)


def ainnoface_loss(
    outputs,
    anchors,
    gt_boxes_list: Sequence,
    ignore_list: Sequence | None = None,
    config: LossConfig | None = None,
) -> dict[str, torch.Tensor]:
    """The four SRN losses of a batch and their weighted ``total``.

    Args:
        outputs: The :class:`detectors.ainnoface.model.AInnoFaceOutput` of the batch.
        anchors: (A, 4) ``cx, cy, w, h`` anchors of the (padded) batch size, numpy or torch, from
            ``generate_anchors(config.levels, H, W)``.
        gt_boxes_list: Per image, (G, 4) corner face boxes (numpy or torch) in input pixels.
        ignore_list: Per image, (K, 4) corner ignore regions (or None).
        config: Thresholds and weights.

    Returns:
        ``{"cls1", "reg1", "cls2", "reg2", "total"}`` scalar tensors (``total`` is the one to
        back-propagate).
    """
    config = config or LossConfig()
    cls1, reg1, cls2, reg2 = outputs.cls1, outputs.reg1, outputs.cls2, outputs.reg2
    batch, count = cls2.shape
    anchors = _as_tensor(anchors, cls2)
    if anchors.shape[0] != count:
        raise ValueError(f"{anchors.shape[0]} anchors for {count} predictions: wrong input size or levels")
    cls1_mask = outputs.cls1_mask.to(cls2.device)[None].expand(batch, count)
    reg1_mask = outputs.reg1_mask.to(cls2.device)[None].expand(batch, count)
    batch_anchors = anchors[None].expand(batch, count, 4)

    refined = refine_anchors(reg1.detach(), batch_anchors)
    labels1, targets1, labels2, targets2 = match_batch(anchors, refined, gt_boxes_list, ignore_list, config)

    def focal(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return sigmoid_focal_loss(logits, labels == POSITIVE, config.focal_alpha, config.focal_gamma).sum()

    def regression(deltas: torch.Tensor, base: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return iou_loss(decode(deltas, base), targets, config.regression).sum()

    valid1 = (labels1 >= 0) & cls1_mask
    positives1_cls = ((labels1 == POSITIVE) & cls1_mask).sum().clamp(min=1)
    loss_cls1 = focal(cls1[valid1], labels1[valid1]) / positives1_cls

    positive1_reg = (labels1 == POSITIVE) & reg1_mask
    loss_reg1 = regression(reg1[positive1_reg], batch_anchors[positive1_reg], targets1[positive1_reg])
    loss_reg1 = loss_reg1 / positive1_reg.sum().clamp(min=1)

    rejected = cls1_mask & (torch.sigmoid(cls1.detach()) < config.first_step_threshold)
    if config.keep_rejected_positives:
        rejected = rejected & (labels2 != POSITIVE)
    valid2 = (labels2 >= 0) & ~rejected
    positive2 = (labels2 == POSITIVE) & ~rejected
    normaliser2 = positive2.sum().clamp(min=1)
    loss_cls2 = focal(cls2[valid2], labels2[valid2]) / normaliser2
    loss_reg2 = regression(reg2[positive2], refined[positive2], targets2[positive2]) / normaliser2

    total = config.first_step_weight * (loss_cls1 + config.regression_weight * loss_reg1)
    total = total + loss_cls2 + config.regression_weight * loss_reg2
    return {"cls1": loss_cls1, "reg1": loss_reg1, "cls2": loss_cls2, "reg2": loss_reg2, "total": total}
