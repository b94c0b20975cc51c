"""Data-anchor-sampling (PyramidBox, Tang et al. 2018): AInnoFace's scale augmentation, optional for FaceBoxes.

One face of the image is picked at random; with ``s`` its size (``sqrt(w*h)``) and ``i`` the
index of the anchor size closest to ``s``, a target anchor index ``j`` is drawn uniformly from
``0 .. min(last, i + 1)`` and a target size uniformly from ``[anchor_j / 2, 2 * anchor_j]``.
The image is rescaled by ``target / s`` and a ``size`` x ``size`` window containing that face is
cut out (padded with the mean colour where it leaves the image). Small faces become more
frequent (sizes are biased towards the small anchors) while large faces stay possible.

The crop is computed in source coordinates first and only the overlapping part is resized, so
extreme rescalings cost no more than a normal crop.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from detectors.training.augment import (
    INTERPOLATIONS,
    AugmentConfig,
    augment,
    distort_colours,
    flip_horizontally,
    small_faces_to_ignore,
)

PYRAMIDBOX_ANCHORS = (16.0, 32.0, 64.0, 128.0, 256.0, 512.0)
PAD_COLOUR = (104.0, 117.0, 123.0)


def _transform(boxes: np.ndarray, offset: np.ndarray, factor: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Map corner boxes: ``start + (box - offset) * factor`` per axis."""
    out = boxes.reshape(-1, 4).astype(np.float32).copy()
    out[:, [0, 2]] = start[0] + (out[:, [0, 2]] - offset[0]) * factor[0]
    out[:, [1, 3]] = start[1] + (out[:, [1, 3]] - offset[1]) * factor[1]
    return out


def _keep_inside(boxes: np.ndarray, size: int) -> np.ndarray:
    centres = (boxes[:, 0:2] + boxes[:, 2:4]) / 2
    inside = np.all((centres >= 0) & (centres < size), axis=1)
    return np.clip(boxes[inside], 0, size)


def data_anchor_sampling(
    image: np.ndarray,
    boxes: np.ndarray,
    ignore: np.ndarray,
    rng: np.random.Generator,
    size: int,
    anchor_sizes: tuple[float, ...] = PYRAMIDBOX_ANCHORS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Rescale around a random face and crop ``size`` x ``size``; None when there is no face.

    Returns ``(image, boxes, ignore)``: the uint8 BGR crop and the corner boxes whose centres fall
    inside it (clipped to it).
    """
    boxes = boxes.reshape(-1, 4).astype(np.float32)
    wh = np.clip(boxes[:, 2:4] - boxes[:, 0:2], 0, None)
    candidates = np.flatnonzero((wh[:, 0] > 0) & (wh[:, 1] > 0))
    if candidates.size == 0:
        return None
    face = boxes[candidates[rng.integers(candidates.size)]]
    face_w, face_h = float(face[2] - face[0]), float(face[3] - face[1])
    face_size = math.sqrt(face_w * face_h)
    anchors = np.asarray(anchor_sizes, dtype=np.float64)
    nearest = int(np.argmin(np.abs(anchors - face_size)))
    target_index = int(rng.integers(0, min(len(anchors) - 1, nearest + 1) + 1))
    target = rng.uniform(anchors[target_index] / 2, anchors[target_index] * 2)
    scale = min(target / face_size, 0.95 * size / max(face_w, face_h))  # the face must fit the crop
    window = size / scale

    height, width = image.shape[:2]
    # Integer window origin, chosen so the face lies inside the window.
    x0 = math.floor(rng.uniform(min(face[2] - window, face[0]), face[0]))
    y0 = math.floor(rng.uniform(min(face[3] - window, face[1]), face[1]))
    src0 = np.array([max(x0, 0), max(y0, 0)])
    src1 = np.array([min(math.ceil(x0 + window), width), min(math.ceil(y0 + window), height)])
    canvas = np.empty((size, size, 3), dtype=np.uint8)
    canvas[:] = PAD_COLOUR
    offset = np.array([x0, y0], dtype=np.float64)
    dst0 = np.clip(np.round((src0 - offset) * scale).astype(int), 0, size)
    dst1 = np.clip(np.round((src1 - offset) * scale).astype(int), 0, size)
    if np.all(src1 > src0) and np.all(dst1 > dst0):
        crop = image[src0[1] : src1[1], src0[0] : src1[0]]
        interpolation = INTERPOLATIONS[int(rng.integers(len(INTERPOLATIONS)))]
        canvas[dst0[1] : dst1[1], dst0[0] : dst1[0]] = cv2.resize(
            np.ascontiguousarray(crop), (int(dst1[0] - dst0[0]), int(dst1[1] - dst0[1])), interpolation=interpolation
        ).reshape(int(dst1[1] - dst0[1]), int(dst1[0] - dst0[0]), 3)
        factor = (dst1 - dst0) / (src1 - src0)
    else:  # the window misses the image entirely (cannot happen: it contains a face)
        factor = np.array([scale, scale])
        src0, dst0 = offset, np.zeros(2)
    new_boxes = _keep_inside(_transform(boxes, src0, factor, dst0), size)
    new_ignore = _keep_inside(_transform(ignore, src0, factor, dst0), size) if len(ignore) else ignore.reshape(-1, 4)
    return canvas, new_boxes.astype(np.float32), new_ignore.astype(np.float32)


def augment_with_das(
    image: np.ndarray,
    boxes: np.ndarray,
    ignore: np.ndarray,
    rng: np.random.Generator,
    config: AugmentConfig,
    anchor_sizes: tuple[float, ...] = PYRAMIDBOX_ANCHORS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop-in for :func:`detectors.training.augment.augment` using data-anchor-sampling with
    probability ``config.das_probability`` (images with faces only), the FaceBoxes-style square
    crop otherwise. Colour distortion, horizontal flip and the ``min_face`` -> ignore rule as
    there. With probability 0 it is exactly ``augment`` (same random draws).
    """
    if config.das_probability <= 0 or len(boxes) == 0 or rng.random() >= config.das_probability:
        return augment(image, boxes, ignore, rng, config)
    image = distort_colours(image, rng)
    sampled = data_anchor_sampling(image, boxes, ignore, rng, config.size, anchor_sizes)
    if sampled is None:
        return augment(image, boxes, ignore, rng, config)
    image, boxes, ignore = sampled
    if rng.random() < 0.5:
        image, boxes, ignore = flip_horizontally(image, boxes, ignore)
    boxes, ignore = small_faces_to_ignore(boxes, ignore, config.min_face)
    return image, boxes, ignore
