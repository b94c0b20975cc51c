"""Training-time augmentation of FaceBoxes (numpy + OpenCV).

Following the paper: colour distortion, a random square crop of 0.3-1.0 of the short side
(faces are kept when their centre falls inside the crop), horizontal flip and a resize to the
training size with a random interpolation. Faces that end up smaller than ``min_face`` pixels
become ignore regions rather than positives, so the model is not pushed towards faces it cannot
see.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from detectors.boxes import box_area, mirror_boxes

INTERPOLATIONS = (cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_AREA, cv2.INTER_NEAREST, cv2.INTER_LANCZOS4)
CROP_SCALES = (0.3, 0.45, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation parameters.

    Attributes:
        size: Side of the square training image.
        min_face: Faces below this size (sqrt(w*h), after resizing) become ignore regions.
        crop_tries: Attempts to find a crop that keeps at least one face.
        das_probability: Probability of a data-anchor-sampling crop instead of the square crop
            (:mod:`detectors.training.anchor_sampling`).
        negative_fraction: Share of each epoch's samples that are face-free hard negatives, added
            to the annotated images (:mod:`detectors.training.negatives`).
        blur_probability: Share of annotated crops blurred by motion or defocus
            (:mod:`detectors.training.degrade`).
        mask_probability: Probability that a face of a crop gets a face mask painted on.
        smeared_face_ratio: Blurred faces smaller than this times the blur's extent become ignore
            regions (0: they stay faces).
        copy_paste_probability: Share of annotated crops that get small copies of their larger faces
            pasted in (:mod:`detectors.training.copy_paste`).
    """

    size: int = 640
    min_face: float = 6.0
    crop_tries: int = 30
    das_probability: float = 0.0
    negative_fraction: float = 0.0
    blur_probability: float = 0.0
    mask_probability: float = 0.0
    smeared_face_ratio: float = 0.0
    copy_paste_probability: float = 0.0


def distort_colours(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random brightness, contrast, saturation and hue changes, each with probability 0.5."""
    out = image.astype(np.float32)
    if rng.random() < 0.5:
        out += rng.uniform(-32, 32)
    if rng.random() < 0.5:
        out *= rng.uniform(0.5, 1.5)
    out = np.clip(out, 0, 255).astype(np.uint8)
    saturation = rng.uniform(0.5, 1.5) if rng.random() < 0.5 else None
    hue_shift = rng.uniform(-9, 9) if rng.random() < 0.5 else None  # OpenCV hue is 0..180: +-18 deg
    if saturation is not None or hue_shift is not None:
        hsv = cv2.cvtColor(out, cv2.COLOR_BGR2HSV).astype(np.float32)
        if saturation is not None:
            hsv[..., 1] *= saturation
        if hue_shift is not None:
            hsv[..., 0] = (hsv[..., 0] + hue_shift) % 180
        hsv = np.clip(hsv, 0, [180, 255, 255])
        out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
    return out


def _centres_inside(boxes: np.ndarray, crop: np.ndarray) -> np.ndarray:
    centres = (boxes[:, 0:2] + boxes[:, 2:4]) / 2
    return np.all((centres >= crop[0:2]) & (centres < crop[2:4]), axis=1)


def random_square_crop(
    image: np.ndarray, boxes: np.ndarray, ignore: np.ndarray, rng: np.random.Generator, tries: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop a random square of 0.3-1.0 x the short side keeping the faces centred inside it.

    Falls back to a square of the short side when no crop keeps a face.
    """
    height, width = image.shape[:2]
    short = min(height, width)
    crop = None
    for _ in range(tries):
        side = max(int(short * rng.choice(CROP_SCALES)), 1)
        x0 = int(rng.integers(0, width - side + 1))
        y0 = int(rng.integers(0, height - side + 1))
        candidate = np.array([x0, y0, x0 + side, y0 + side], dtype=np.float32)
        if len(boxes) == 0 or _centres_inside(boxes, candidate).any():
            crop = candidate
            break
    if crop is None:
        x0 = int(rng.integers(0, width - short + 1))
        y0 = int(rng.integers(0, height - short + 1))
        crop = np.array([x0, y0, x0 + short, y0 + short], dtype=np.float32)

    def shift(selected: np.ndarray) -> np.ndarray:
        moved = selected.copy()
        moved[:, 0:2] = np.maximum(moved[:, 0:2], crop[0:2]) - crop[0:2]
        moved[:, 2:4] = np.minimum(moved[:, 2:4], crop[2:4]) - crop[0:2]
        return moved

    kept = shift(boxes[_centres_inside(boxes, crop)])
    kept_ignore = shift(ignore[_centres_inside(ignore, crop)])
    x0, y0, x1, y1 = crop.astype(int)
    return image[y0:y1, x0:x1], kept, kept_ignore


def flip_horizontally(
    image: np.ndarray, boxes: np.ndarray, ignore: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mirrored image (contiguous) with its (N, 4) face and ignore boxes mirrored too."""
    width = image.shape[1]
    return (np.ascontiguousarray(image[:, ::-1]), mirror_boxes(boxes.reshape(-1, 4), width),
            mirror_boxes(ignore.reshape(-1, 4), width))


def small_faces_to_ignore(
    boxes: np.ndarray, ignore: np.ndarray, min_face: float
) -> tuple[np.ndarray, np.ndarray]:
    """Faces under ``min_face`` px (sqrt(w*h)) moved to the ignore regions; float32 ``(boxes, ignore)``."""
    too_small = np.sqrt(box_area(boxes)) < min_face
    ignore = np.concatenate([ignore.reshape(-1, 4), boxes[too_small]], axis=0)
    return boxes[~too_small].astype(np.float32), ignore.astype(np.float32)


def augment(
    image: np.ndarray, boxes: np.ndarray, ignore: np.ndarray, rng: np.random.Generator, config: AugmentConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply the full training augmentation; returns ``(image, boxes, ignore)`` at ``config.size``."""
    image = distort_colours(image, rng)
    image, boxes, ignore = random_square_crop(image, boxes, ignore, rng, config.crop_tries)
    if rng.random() < 0.5:
        image, boxes, ignore = flip_horizontally(image, boxes, ignore)
    scale = config.size / image.shape[0]
    interpolation = INTERPOLATIONS[int(rng.integers(len(INTERPOLATIONS)))]
    image = cv2.resize(np.ascontiguousarray(image), (config.size, config.size), interpolation=interpolation)
    boxes, ignore = small_faces_to_ignore(boxes.reshape(-1, 4) * scale, ignore.reshape(-1, 4) * scale, config.min_face)
    return image, boxes, ignore
