"""Degradations that video has and the labelled photos rarely show: motion blur, defocus and face masks.

Applied to a training crop after its augmentation (at the training size), with the probabilities of
:class:`detectors.training.augment.AugmentConfig`; the labels do not change: a blurred face and a
face behind a surgical mask are still faces. Issue 15 names both misses (a motion-blurred head in
a moving clip, masked surgeons); augmenting with occlusion follows the "hard positive" idea of
Kisantal et al. 2019 and Ghiasi et al. 2021. numpy + OpenCV only.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Motion blur streak lengths, in training-crop pixels.
MOTION_LENGTHS = (3, 17)
#: Gaussian (defocus) blur standard deviations, in training-crop pixels.
DEFOCUS_SIGMAS = (0.6, 2.5)
#: BGR colours of face masks: surgical blue and green, white, black, grey.
MASK_COLOURS = ((222, 196, 150), (190, 215, 170), (238, 238, 238), (30, 30, 30), (150, 150, 150))
#: Faces smaller than this (short side, training-crop pixels) get no mask: it would be a smudge.
MIN_MASKED_FACE = 16


def motion_blur_kernel(length: int, angle: float) -> np.ndarray:
    """A ``length`` x ``length`` kernel that averages along a line through its centre at ``angle``
    radians (a straight camera or subject motion during the exposure); it sums to 1."""
    kernel = np.zeros((length, length), np.float32)
    centre = (length - 1) / 2
    offset = np.array([np.cos(angle), np.sin(angle)]) * centre
    start = np.round(np.array([centre, centre]) - offset).astype(int)
    end = np.round(np.array([centre, centre]) + offset).astype(int)
    cv2.line(kernel, (int(start[0]), int(start[1])), (int(end[0]), int(end[1])), 1.0, thickness=1)
    return kernel / kernel.sum()


def random_blur(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """``image`` blurred by a random motion streak (two times in three) or a random defocus, and
    the blur's extent in pixels (the streak's length, or three standard deviations of the defocus)."""
    if rng.random() < 2 / 3:
        length = int(rng.integers(MOTION_LENGTHS[0], MOTION_LENGTHS[1] + 1))
        kernel = motion_blur_kernel(length, float(rng.uniform(0, np.pi)))
        return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT), float(length)
    sigma = float(rng.uniform(*DEFOCUS_SIGMAS))
    blurred = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    return blurred, 3.0 * sigma


def paint_face_mask(image: np.ndarray, box: np.ndarray, rng: np.random.Generator) -> None:
    """Paint a face mask over the lower face of ``box`` (``x1, y1, x2, y2``) in place: a rounded
    shape from about the nose down to the chin, in a mask colour with a little shading."""
    x1, y1, x2, y2 = (float(value) for value in box[:4])
    width, height = x2 - x1, y2 - y1
    top = y1 + height * rng.uniform(0.45, 0.6)
    bottom = y2 - height * rng.uniform(0.0, 0.08)
    inset = width * rng.uniform(0.05, 0.12)
    corners = np.array([[x1 + inset, top], [x2 - inset, top],
                        [x2 - inset * 1.5, bottom], [x1 + inset * 1.5, bottom]])
    colour = np.array(MASK_COLOURS[int(rng.integers(len(MASK_COLOURS)))], np.float32)
    colour = np.clip(colour * rng.uniform(0.7, 1.1), 0, 255)
    layer = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(layer, np.round(corners).astype(np.int32), 1, lineType=cv2.LINE_AA)
    inside = layer.astype(bool)
    if not inside.any():
        return
    shading = rng.normal(0, 6, (int(inside.sum()), 1)).astype(np.float32)
    image[inside] = np.clip(colour[None, :] + shading, 0, 255).astype(np.uint8)


def degrade(
    image: np.ndarray,
    boxes: np.ndarray,
    ignore: np.ndarray,
    rng: np.random.Generator,
    blur_probability: float,
    mask_probability: float,
    smeared_face_ratio: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A training crop with face masks painted on some faces (each face of at least
    :data:`MIN_MASKED_FACE` px with ``mask_probability``), then blurred with ``blur_probability``;
    returns ``(image, boxes, ignore)``.

    A blurred face whose short side is under ``smeared_face_ratio`` times the blur's extent is
    smeared past recognition: it becomes an ignore region rather than a face to learn (0: every
    face stays a face). Draws no random number for a probability of 0, so a recipe without
    degradations keeps its random stream (and its crops) exactly.
    """
    out = image
    if mask_probability > 0:
        for box in boxes.reshape(-1, 4):
            if min(box[2] - box[0], box[3] - box[1]) >= MIN_MASKED_FACE and rng.random() < mask_probability:
                out = out.copy() if out is image else out
                paint_face_mask(out, box, rng)
    if blur_probability > 0 and rng.random() < blur_probability:
        out, extent = random_blur(out, rng)
        boxes, ignore = boxes.reshape(-1, 4), ignore.reshape(-1, 4)
        smeared = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) < smeared_face_ratio * extent
        if smeared.any():
            boxes, ignore = boxes[~smeared], np.concatenate([ignore, boxes[smeared]]).astype(np.float32)
    return out, boxes, ignore
