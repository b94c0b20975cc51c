"""Gated assignment of detections to tracks (Hungarian algorithm).

The cost of a (track, detection) pair is built in two steps:

1. :func:`motion_cost` - ``1 - IoU`` of the predicted track box and the
   detection; pairs below the IoU gate are impossible, except for lost tracks
   (re-identification): they may match a detection within a radius (in track
   box heights) at cost ``1 + distance / radius``, i.e. always worse than any
   overlapping pair and better the closer it is.
2. :func:`add_appearance` - optionally mixes in the colour-histogram distance
   ``(1 - w) * motion + w * appearance`` and forbids re-identification pairs
   whose colours differ too much (distance alone is weak evidence after an
   occlusion).

:func:`assign` then solves the linear assignment over the allowed pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .geometry import centre_distance_matrix, iou_matrix

FORBIDDEN_COST = 1e6
"""Cost put on impossible pairs so the solver never prefers them."""


@dataclass(frozen=True, eq=False)
class MotionCost:
    """Motion cost matrix with its gating masks, all of shape (tracks, detections)."""

    cost: np.ndarray
    allowed: np.ndarray
    reid_pairs: np.ndarray
    """Allowed pairs that rely on the re-identification distance gate, not on IoU."""


@dataclass(frozen=True, eq=False)
class Assignment:
    """Result of :func:`assign`: matched index pairs and the leftovers."""

    matches: np.ndarray
    """(K, 2) int array of (track index, detection index)."""
    unmatched_tracks: np.ndarray
    unmatched_detections: np.ndarray


def motion_cost(
    track_boxes: np.ndarray,
    detection_boxes: np.ndarray,
    iou_gate: float,
    reid_tracks: np.ndarray,
    reid_radius: float,
) -> MotionCost:
    """Return the gated motion cost between predicted track boxes and detections.

    ``reid_tracks`` is a boolean per track telling which tracks (the lost ones)
    may also match non-overlapping detections within ``reid_radius`` box heights.
    """
    iou = iou_matrix(track_boxes, detection_boxes)
    overlapping = iou >= iou_gate
    cost = 1.0 - iou
    reid_pairs = np.zeros_like(overlapping)
    if reid_radius > 0.0 and np.any(reid_tracks):
        distance = centre_distance_matrix(track_boxes, detection_boxes)
        reid_pairs = np.asarray(reid_tracks, bool)[:, None] & ~overlapping & (distance <= reid_radius)
        cost = np.where(overlapping, cost, 1.0 + distance / reid_radius)
    return MotionCost(cost=cost, allowed=overlapping | reid_pairs, reid_pairs=reid_pairs)


def add_appearance(
    motion: MotionCost,
    appearance_distance: np.ndarray,
    weight: float,
    reid_max_distance: float,
) -> MotionCost:
    """Mix an appearance distance matrix into the cost and gate re-id pairs by it."""
    cost = (1.0 - weight) * motion.cost + weight * appearance_distance
    rejected = motion.reid_pairs & (appearance_distance > reid_max_distance)
    return MotionCost(cost=cost, allowed=motion.allowed & ~rejected, reid_pairs=motion.reid_pairs & ~rejected)


def assign(cost: np.ndarray, allowed: np.ndarray) -> Assignment:
    """Solve the minimum-cost assignment restricted to ``allowed`` pairs."""
    num_tracks, num_detections = cost.shape
    matches = np.zeros((0, 2), dtype=np.intp)
    if num_tracks and num_detections and np.any(allowed):
        rows, cols = linear_sum_assignment(np.where(allowed, cost, FORBIDDEN_COST))
        keep = allowed[rows, cols]
        matches = np.stack([rows[keep], cols[keep]], axis=1).astype(np.intp)
    return Assignment(
        matches=matches,
        unmatched_tracks=np.setdiff1d(np.arange(num_tracks), matches[:, 0]),
        unmatched_detections=np.setdiff1d(np.arange(num_detections), matches[:, 1]),
    )
