"""Face crop extraction and quality scoring for best-crop selection.

The quality of a crop is a product of factors in [0, 1]::

    quality = score * size * (0.5 + 0.5 * sharpness) * (0.5 + 0.5 * frontal)

* ``score``: the detector confidence (occluded or odd faces score lower).
* ``size``: the shorter crop side relative to ``FULL_SIZE_SIDE`` (160 px, i.e.
  a ~112 px face plus the default 20 % margin, the input size of common face
  recognition models), saturating at 1: a larger crop has more detail, but
  beyond recognition resolution it no longer matters.
* ``sharpness``: variance of the Laplacian of the grey crop resampled to
  ``ANALYSIS_SIZE`` pixels, mapped to [0, 1) by ``v / (v + SHARPNESS_HALF)``.
  Resampling to a fixed size makes the value comparable between face sizes.
* ``frontal``: left/right mirror symmetry (normalised correlation of the grey
  crop with its mirror image); a frontal face is symmetric, a profile is not.

Sharpness and frontal-ness are proxies, so they can at most halve the quality
instead of zeroing it. Because both are <= 1, ``score * size`` is an upper bound
that the tracker computes from the box alone to skip crops that cannot beat the
current best (:func:`quality_upper_bound`).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

FULL_SIZE_SIDE = 160.0
"""Shorter crop side (pixels) at which the size factor saturates at 1."""
ANALYSIS_SIZE = 64
"""Side of the grey image on which sharpness and symmetry are measured."""
SHARPNESS_HALF = 100.0
"""Laplacian variance (at ANALYSIS_SIZE) that maps to a sharpness of 0.5."""


def crop_bounds(frame_shape: tuple[int, ...], box: np.ndarray, margin: float) -> tuple[int, int, int, int]:
    """Return the integer ``(x1, y1, x2, y2)`` of ``box`` grown by ``margin``, clipped to the frame."""
    height, width = frame_shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    pad_x = margin * (x2 - x1)
    pad_y = margin * (y2 - y1)
    left = min(max(math.floor(x1 - pad_x), 0), width)
    top = min(max(math.floor(y1 - pad_y), 0), height)
    right = min(max(math.ceil(x2 + pad_x), left), width)
    bottom = min(max(math.ceil(y2 + pad_y), top), height)
    return left, top, right, bottom


def extract_crop(frame: np.ndarray, box: np.ndarray, margin: float = 0.2) -> np.ndarray:
    """Return a copy of ``frame`` inside ``box`` enlarged by ``margin`` of its size per side.

    The crop is clipped to the frame; a box entirely outside gives an empty
    (0, 0, 3) array.
    """
    left, top, right, bottom = crop_bounds(frame.shape, box, margin)
    return frame[top:bottom, left:right].copy()


def size_factor(width: float, height: float) -> float:
    """Return the size factor in [0, 1] of a crop of the given size."""
    return float(min(1.0, max(0.0, min(width, height)) / FULL_SIZE_SIDE))


def quality_upper_bound(frame_shape: tuple[int, ...], box: np.ndarray, score: float, margin: float) -> float:
    """Return the largest quality the crop of ``box`` could have (``score * size``)."""
    left, top, right, bottom = crop_bounds(frame_shape, box, margin)
    return min(max(float(score), 0.0), 1.0) * size_factor(right - left, bottom - top)


def _analysis_grey(crop: np.ndarray) -> np.ndarray:
    """Return the crop as an ANALYSIS_SIZE square grey image.

    Large crops are first subsampled (nearest neighbour, cheap) to at most
    four times the analysis size, then halved with a Gaussian pyramid
    (anti-aliasing) before the final resize.
    """
    height, width = crop.shape[:2]
    stride = max(1, min(height, width) // (2 * ANALYSIS_SIZE))
    sampled = crop
    if stride > 1:
        sampled = cv2.resize(crop, (width // stride, height // stride), interpolation=cv2.INTER_NEAREST)
    grey = cv2.cvtColor(sampled, cv2.COLOR_BGR2GRAY) if sampled.ndim == 3 else sampled
    while min(grey.shape[:2]) >= 2 * ANALYSIS_SIZE:
        grey = cv2.pyrDown(grey)
    return cv2.resize(grey, (ANALYSIS_SIZE, ANALYSIS_SIZE), interpolation=cv2.INTER_LINEAR)


def _sharpness(grey: np.ndarray) -> float:
    """Return the normalised variance of the Laplacian, in [0, 1)."""
    _, std = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_32F))
    variance = float(std[0, 0]) ** 2
    return variance / (variance + SHARPNESS_HALF)


def _frontal(grey: np.ndarray) -> float:
    """Return the normalised correlation of the image with its mirror image, in [0, 1].

    1 for a perfectly left/right symmetric crop (frontal face), low for a
    profile; a uniform image (no structure at all) gives 0.
    """
    centred = grey.astype(np.float32)
    centred -= centred.mean()
    energy = float(np.vdot(centred, centred))
    if energy < 1e-6:
        return 0.0
    correlation = float(np.vdot(centred, np.ascontiguousarray(centred[:, ::-1]))) / energy
    return min(max(correlation, 0.0), 1.0)


def crop_quality(crop: np.ndarray, score: float) -> float:
    """Return the quality in [0, 1] of a BGR face crop detected with ``score``.

    Combines detector score, size, sharpness and frontal-ness as described in
    the module docstring; an empty crop has quality 0.
    """
    if crop.size == 0:
        return 0.0
    grey = _analysis_grey(crop)
    bound = min(max(float(score), 0.0), 1.0) * size_factor(crop.shape[1], crop.shape[0])
    return bound * (0.5 + 0.5 * _sharpness(grey)) * (0.5 + 0.5 * _frontal(grey))
