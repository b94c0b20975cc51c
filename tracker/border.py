"""Faces cut by the frame border: which box sides are cut, and the full face box they imply.

A detector only sees the visible part of a face that enters or leaves the
picture, so its box ends at the frame edge: that side says where the picture
ends, not where the face ends. Fed as they are to the Kalman filter, such
boxes make the height and the aspect ratio change fast (a face sliding out at
the bottom keeps its width while its height shrinks), the filter learns these
as velocities and its predictions overshoot (boxes twice too wide a second
later) or shrink to nothing while the face is outside.

The tracker therefore keeps the *full* face box in its state and completes
cut detections before using them: the cut extent is inferred from the
measured extent of the other axis and the face's aspect ratio (``w / h``),
anchored at the inner, measured side. Output boxes are the state clipped to
the frame, which is what a cut detection (and ground truth) shows.
"""

from __future__ import annotations

import numpy as np

LEFT, TOP, RIGHT, BOTTOM = range(4)


def cut_sides(boxes: np.ndarray, width: int, height: int, tolerance: float) -> np.ndarray:
    """Return an (N, 4) bool array: which ``[x1, y1, x2, y2]`` sides lie at (or beyond) the frame border.

    A side counts as cut if it is within ``tolerance`` times the box size
    (width for x sides, height for y sides), and at least one pixel, of the
    frame edge: detector boxes of a cut face wobble around the edge.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    margin_x = np.maximum(tolerance * (boxes[:, 2] - boxes[:, 0]), 1.0)
    margin_y = np.maximum(tolerance * (boxes[:, 3] - boxes[:, 1]), 1.0)
    return np.stack(
        [
            boxes[:, 0] <= margin_x,
            boxes[:, 1] <= margin_y,
            boxes[:, 2] >= width - margin_x,
            boxes[:, 3] >= height - margin_y,
        ],
        axis=1,
    )


def complete_boxes(
    boxes: np.ndarray, cut: np.ndarray, aspect: float | np.ndarray, height_hint: float | np.ndarray = 0.0
) -> np.ndarray:
    """Return the full face boxes implied by boxes with ``cut`` sides (see :func:`cut_sides`).

    ``aspect`` (width / height) and ``height_hint`` (an expected face height,
    0 for none) are one value or one per box. Per axis with exactly one cut
    side, the extent is inferred and the cut side moved out so that the box
    keeps its inner side:

    * one axis cut: its extent comes from the other axis and the aspect;
    * both axes cut (a corner): the height is the largest of the visible
      height, the height implied by the visible width and ``height_hint``,
      and the width follows from the aspect.

    Boxes are only ever enlarged; boxes without a cut side, or spanning the
    whole frame along an axis (both sides cut), are returned unchanged.
    """
    boxes = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    cut = np.asarray(cut, dtype=bool).reshape(-1, 4)
    count = len(boxes)
    aspect = np.broadcast_to(np.asarray(aspect, dtype=np.float64), (count,))
    hint = np.broadcast_to(np.asarray(height_hint, dtype=np.float64), (count,))
    cut_x = cut[:, LEFT] ^ cut[:, RIGHT]
    cut_y = cut[:, TOP] ^ cut[:, BOTTOM]
    spanning = (cut[:, LEFT] & cut[:, RIGHT]) | (cut[:, TOP] & cut[:, BOTTOM])
    cut_x &= ~spanning
    cut_y &= ~spanning
    visible_w = boxes[:, 2] - boxes[:, 0]
    visible_h = boxes[:, 3] - boxes[:, 1]
    full_h = np.where(cut_y, np.maximum(visible_h, visible_w / aspect), visible_h)
    full_h = np.where(cut_x & cut_y, np.maximum(full_h, hint), full_h)
    full_w = np.where(cut_x, np.maximum(visible_w, aspect * full_h), visible_w)
    grow_w, grow_h = full_w - visible_w, full_h - visible_h
    boxes[:, 0] -= np.where(cut_x & cut[:, LEFT], grow_w, 0.0)
    boxes[:, 2] += np.where(cut_x & cut[:, RIGHT], grow_w, 0.0)
    boxes[:, 1] -= np.where(cut_y & cut[:, TOP], grow_h, 0.0)
    boxes[:, 3] += np.where(cut_y & cut[:, BOTTOM], grow_h, 0.0)
    return boxes


def visible_fractions(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Return the share of each box's area that lies inside the frame (0 for degenerate boxes)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    inside_w = np.clip(np.minimum(boxes[:, 2], width) - np.maximum(boxes[:, 0], 0.0), 0.0, None)
    inside_h = np.clip(np.minimum(boxes[:, 3], height) - np.maximum(boxes[:, 1], 0.0), 0.0, None)
    area = np.clip(boxes[:, 2] - boxes[:, 0], 0.0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0.0, None)
    return np.divide(inside_w * inside_h, area, out=np.zeros(len(boxes)), where=area > 0.0)
