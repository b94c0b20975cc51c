"""Hard negatives: training images without any face, so every anchor (the largest ones included)
learns what is not a face.

A training epoch holds every annotated image once (all positives, large faces included) plus
``negative_count`` face-free images, a share ``AugmentConfig.negative_fraction`` of the epoch
(e.g. 0.08: 208 negatives next to 2,393 images). Each negative is, with equal probability:

* a **face-free crop** of a training image: a square overlapping no labelled face and no ignore
  region (difficult faces included), of a side drawn log-uniformly between
  :data:`MIN_CROP_SIDE` px and the image's short side and resized to the full training canvas,
  so the 256 and 512 px anchors see only background (smaller sides are tried when a side finds
  no free place; if none does, a featureless frame is used);
* a **featureless frame** (:func:`detectors.featureless.random_featureless_frame`: flat, gradient,
  dark noise, blurred noise, stripes; a third of them heavily JPEG-compressed).

Both get the colour distortion of positives and a random resize interpolation.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from detectors.boxes import pairwise_iou
from detectors.featureless import random_featureless_frame
from detectors.training.augment import INTERPOLATIONS, distort_colours

#: Smallest side of a face-free crop in source pixels (smaller crops are mostly blur once enlarged).
MIN_CROP_SIDE = 48
#: Random positions tried per crop side before a smaller side is tried.
POSITION_TRIES = 10
#: Each failed side is shrunk by this factor.
SHRINK = 0.7


def negative_count(num_samples: int, fraction: float) -> int:
    """Negatives to add to ``num_samples`` positives so that they make ``fraction`` of the total."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"negative fraction must be in [0, 1), got {fraction}")
    return round(num_samples * fraction / (1.0 - fraction))


def overlaps_any(window: np.ndarray, regions: np.ndarray) -> bool:
    """Whether the corner box ``window`` (4,) shares any area with one of ``regions`` (N, 4)."""
    if len(regions) == 0:
        return False
    return bool((pairwise_iou(window.reshape(1, 4), regions.reshape(-1, 4)) > 0).any())


def face_free_window(
    height: int, width: int, regions: np.ndarray, side: int, rng: np.random.Generator, tries: int = POSITION_TRIES
) -> np.ndarray | None:
    """A random ``side`` x ``side`` corner box inside the image overlapping none of ``regions``, or None."""
    if side > min(height, width):
        return None
    for _ in range(tries):
        x0, y0 = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
        window = np.array([x0, y0, x0 + side, y0 + side], dtype=np.float32)
        if not overlaps_any(window, regions):
            return window
    return None


def face_free_crop(
    image: np.ndarray, regions: np.ndarray, rng: np.random.Generator, min_side: int = MIN_CROP_SIDE
) -> np.ndarray | None:
    """A square crop of ``image`` that overlaps none of ``regions`` (faces and ignore regions), of a
    log-uniform random side between ``min_side`` and the short side (smaller when that finds no
    free place); None if not even ``min_side`` fits anywhere."""
    height, width = image.shape[:2]
    short = min(height, width)
    if short < min_side:
        return None
    side = math.exp(rng.uniform(math.log(min_side), math.log(short)))
    while True:
        window = face_free_window(height, width, regions, int(side), rng)
        if window is not None:
            x0, y0, x1, y1 = window.astype(int)
            return image[y0:y1, x0:x1]
        if int(side) <= min_side:
            return None
        side = max(side * SHRINK, min_side)


def hard_negative(
    image: np.ndarray, boxes: np.ndarray, ignore: np.ndarray, rng: np.random.Generator, size: int
) -> np.ndarray:
    """One face-free ``size`` x ``size`` BGR training image made from a training image with its face
    ``boxes`` and ``ignore`` regions, or generated (see the module docstring)."""
    crop = None
    if rng.random() < 0.5:
        crop = face_free_crop(image, np.concatenate([boxes.reshape(-1, 4), ignore.reshape(-1, 4)]), rng)
    if crop is None:
        crop = random_featureless_frame(rng, size, size)
    crop = distort_colours(np.ascontiguousarray(crop), rng)
    interpolation = INTERPOLATIONS[int(rng.integers(len(INTERPOLATIONS)))]
    return cv2.resize(crop, (size, size), interpolation=interpolation)
