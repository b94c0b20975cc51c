"""Gated costs of (track, detection) pairs and their assignment (Hungarian algorithm).

* :func:`iou_cost` - ``1 - IoU`` of predicted track boxes and detections;
  pairs below the IoU gate are impossible.
* :func:`distance_cost` - centre distance in box heights divided by a
  per-track radius; pairs beyond the radius are impossible. Used to
  re-identify lost tracks whose prediction drifted off the face during an
  occlusion.
* :func:`add_appearance` - mixes in the colour-histogram distance
  ``(1 - w) * motion + w * appearance`` and optionally forbids pairs whose
  colours differ too much (needed when motion evidence is weak).

:func:`assign` then solves the linear assignment over the allowed pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .geometry import centre_distance_matrix, iou_matrix

FORBIDDEN_COST = 1e6
"""Cost put on impossible pairs; the solver only uses them to fill the assignment and they are dropped."""


@dataclass(frozen=True, eq=False)
class GatedCost:
    """Cost matrix of (track, detection) pairs and the mask of allowed pairs, both (tracks, detections)."""

    cost: np.ndarray
    allowed: np.ndarray


@dataclass(frozen=True, eq=False)
class Assignment:
    """Result of :func:`assign`: matched index pairs and the leftovers."""

    matches: np.ndarray
    """(K, 2) int array of (track index, detection index)."""
    unmatched_tracks: np.ndarray
    unmatched_detections: np.ndarray


def iou_cost(track_boxes: np.ndarray, detection_boxes: np.ndarray, iou_gate: float) -> GatedCost:
    """Return the cost ``1 - IoU``, allowing only pairs with ``IoU >= iou_gate``."""
    iou = iou_matrix(track_boxes, detection_boxes)
    return GatedCost(cost=1.0 - iou, allowed=iou >= iou_gate)


def distance_cost(track_boxes: np.ndarray, detection_boxes: np.ndarray, radius: float | np.ndarray) -> GatedCost:
    """Return the centre distance in box heights over ``radius``, allowing pairs within the radius.

    ``radius`` (in box heights, positive) is one value or one per track; see
    :func:`~tracker.geometry.centre_distance_matrix` for the distance.
    """
    radius = np.broadcast_to(np.asarray(radius, dtype=np.float64), (len(track_boxes),))[:, None]
    distance = centre_distance_matrix(track_boxes, detection_boxes)
    return GatedCost(cost=distance / radius, allowed=distance <= radius)


def add_appearance(
    gated: GatedCost,
    appearance_distance: np.ndarray,
    weight: float,
    max_distance: float | None = None,
) -> GatedCost:
    """Mix an appearance distance matrix into the cost; forbid pairs above ``max_distance`` if given."""
    cost = (1.0 - weight) * gated.cost + weight * appearance_distance
    allowed = gated.allowed if max_distance is None else gated.allowed & (appearance_distance <= max_distance)
    return GatedCost(cost=cost, allowed=allowed)


def assign(cost: np.ndarray, allowed: np.ndarray) -> Assignment:
    """Solve the minimum-cost assignment restricted to ``allowed`` pairs."""
    num_tracks, num_detections = cost.shape
    matches = np.zeros((0, 2), dtype=np.intp)
    if num_tracks and num_detections and np.any(allowed):
        rows, cols = linear_sum_assignment(np.where(allowed, cost, FORBIDDEN_COST))
        keep = allowed[rows, cols]
        matches = np.stack([rows[keep], cols[keep]], axis=1).astype(np.intp)
    track_free = np.ones(num_tracks, dtype=bool)
    track_free[matches[:, 0]] = False
    detection_free = np.ones(num_detections, dtype=bool)
    detection_free[matches[:, 1]] = False
    return Assignment(
        matches=matches,
        unmatched_tracks=np.flatnonzero(track_free),
        unmatched_detections=np.flatnonzero(detection_free),
    )
