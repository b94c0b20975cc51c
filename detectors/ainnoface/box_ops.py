"""Box geometry and SSD box coding in torch, identical to :mod:`detectors.box_coding` (numpy).

Boxes are ``x1, y1, x2, y2`` corners, anchors ``cx, cy, w, h`` centres; deltas use the
variances 0.1 / 0.2 and the decoder clamps ``log(w / w_anchor)`` to +-log(1000/16), like the
numpy decoder of the runtime.

Two-step regression (SRN's STR): ``refined = decode(d1, anchor)`` and
``box = decode(d2, refined)``. Because the coding is relative to the anchor's centre and size,
the composition is independent of the anchor itself::

    encode(box, anchor) = (d1_xy + d2_xy * exp(v1 * d1_wh),  d1_wh + d2_wh)

(with the decoder's clamp applied to each step's ``v1 * d_wh``), which is what
:func:`compose_deltas` computes: the exported model re-encodes its two-step boxes against the
original anchors without needing the anchors in the graph.
"""

from __future__ import annotations

import math

import torch

from detectors.box_coding import CENTER_VARIANCE, SIZE_VARIANCE

MAX_LOG_SCALE = math.log(1000.0 / 16.0)


def centers_to_corners(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) ``cx, cy, w, h`` -> ``x1, y1, x2, y2``."""
    half = boxes[..., 2:4] / 2
    return torch.cat([boxes[..., 0:2] - half, boxes[..., 0:2] + half], dim=-1)


def corners_to_centers(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) ``x1, y1, x2, y2`` -> ``cx, cy, w, h``."""
    wh = boxes[..., 2:4] - boxes[..., 0:2]
    return torch.cat([boxes[..., 0:2] + wh / 2, wh], dim=-1)


def _log_scale(deltas: torch.Tensor) -> torch.Tensor:
    return torch.clamp(deltas[..., 2:4] * SIZE_VARIANCE, -MAX_LOG_SCALE, MAX_LOG_SCALE)


def apply_deltas(deltas: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Centre-form boxes from (..., 4) ``deltas`` w.r.t. broadcastable centre-form ``anchors``."""
    centers = anchors[..., 0:2] + deltas[..., 0:2] * CENTER_VARIANCE * anchors[..., 2:4]
    wh = anchors[..., 2:4] * torch.exp(_log_scale(deltas))
    return torch.cat([centers, wh], dim=-1)


def decode(deltas: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Corner boxes from ``deltas`` w.r.t. centre-form ``anchors`` (= numpy ``box_coding.decode``)."""
    return centers_to_corners(apply_deltas(deltas, anchors))


def encode(boxes: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Deltas of corner ``boxes`` w.r.t. centre-form ``anchors`` (= numpy ``box_coding.encode``)."""
    centers = corners_to_centers(boxes)
    wh = torch.clamp(centers[..., 2:4], min=1e-3)
    offset = (centers[..., 0:2] - anchors[..., 0:2]) / (CENTER_VARIANCE * anchors[..., 2:4])
    scale = torch.log(wh / anchors[..., 2:4]) / SIZE_VARIANCE
    return torch.cat([offset, scale], dim=-1)


def refine_anchors(first_deltas: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """First step of STR: the refined anchors (centre form)."""
    return apply_deltas(first_deltas, anchors)


def two_step_decode(first_deltas: torch.Tensor, second_deltas: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Corner boxes of the second step regressed from the first step's refined anchors."""
    return decode(second_deltas, refine_anchors(first_deltas, anchors))


def compose_deltas(first_deltas: torch.Tensor, second_deltas: torch.Tensor) -> torch.Tensor:
    """Deltas w.r.t. the original anchors of the box :func:`two_step_decode` produces.

    Exact for any anchor (see the module docstring); the numpy decoder reproduces the two-step box
    as long as the composed size change stays within its clamp (a factor 62.5).
    """
    first_scale = _log_scale(first_deltas)
    second_scale = _log_scale(second_deltas)
    centers = first_deltas[..., 0:2] + second_deltas[..., 0:2] * torch.exp(first_scale)
    return torch.cat([centers, (first_scale + second_scale) / SIZE_VARIANCE], dim=-1)


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    wh = (boxes[..., 2:4] - boxes[..., 0:2]).clamp(min=0)
    return wh[..., 0] * wh[..., 1]


def pairwise_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, M) IoU between (N, 4) and (M, 4) corner boxes."""
    top_left = torch.maximum(a[:, None, 0:2], b[None, :, 0:2])
    bottom_right = torch.minimum(a[:, None, 2:4], b[None, :, 2:4])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return inter / union.clamp(min=1e-9)


def aligned_iou(a: torch.Tensor, b: torch.Tensor, generalized: bool = False) -> torch.Tensor:
    """(N,) IoU (or GIoU) between corresponding rows of two (N, 4) corner box tensors."""
    top_left = torch.maximum(a[:, 0:2], b[:, 0:2])
    bottom_right = torch.minimum(a[:, 2:4], b[:, 2:4])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    union = (box_area(a) + box_area(b) - inter).clamp(min=1e-9)
    iou = inter / union
    if not generalized:
        return iou
    hull_wh = (torch.maximum(a[:, 2:4], b[:, 2:4]) - torch.minimum(a[:, 0:2], b[:, 0:2])).clamp(min=0)
    hull = (hull_wh[:, 0] * hull_wh[:, 1]).clamp(min=1e-9)
    return iou - (hull - union) / hull
