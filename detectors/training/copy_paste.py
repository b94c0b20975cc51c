"""Copy-paste of small faces: more small faces per training crop, cut from the crop's own larger faces.

Small faces are the most frequent and the hardest (Kisantal et al. 2019, "Augmentation for small
object detection", pasted extra small objects into training images; Ghiasi et al. 2021, "Simple
Copy-Paste"). Here a crop's labelled faces of :data:`MIN_SOURCE_SIDE` px or more are scaled down to
a side drawn log-uniformly in :data:`PASTED_SIDES` and pasted with a feathered edge at random places
whose box, with a margin, touches no face or ignore region; every pasted box becomes a labelled face.
"""

from __future__ import annotations

import cv2
import numpy as np

from detectors.training.negatives import overlaps_any

#: Faces at least this large (short side, px in the crop) are copied.
MIN_SOURCE_SIDE = 24.0
#: Range of the pasted faces' longer side (px).
PASTED_SIDES = (12.0, 32.0)
#: At most this many faces are pasted into one crop.
MAX_PASTES = 4
#: Places tried per pasted face.
PLACE_TRIES = 20
#: A pasted box keeps this share of its side clear of every other box and ignore region.
CLEAR_MARGIN = 0.25


def _crowds(box: np.ndarray, others: np.ndarray, margin: float) -> bool:
    """Whether ``box`` grown by ``margin`` of its side on every edge shares area with any of ``others`` (M, 4)."""
    grow = margin * max(box[2] - box[0], box[3] - box[1])
    return overlaps_any(box + np.array([-grow, -grow, grow, grow], np.float32), others)


def blend_into(image: np.ndarray, patch: np.ndarray, alpha: np.ndarray, left: int, top: int) -> None:
    """Blend ``patch`` (H, W, 3) into ``image`` at (left, top), in place, with ``alpha`` (H, W, 1) in 0..1."""
    height, width = patch.shape[:2]
    region = image[top : top + height, left : left + width].astype(np.float32)
    image[top : top + height, left : left + width] = np.round(alpha * patch + (1 - alpha) * region).astype(np.uint8)


def _feathered_paste(image: np.ndarray, patch: np.ndarray, left: int, top: int) -> None:
    """Blend ``patch`` into ``image`` at (left, top) with an alpha that fades over its outer pixels."""
    height, width = patch.shape[:2]
    ramp_y = np.minimum(np.arange(height) + 1, np.arange(height)[::-1] + 1) / max(2.0, height / 6)
    ramp_x = np.minimum(np.arange(width) + 1, np.arange(width)[::-1] + 1) / max(2.0, width / 6)
    blend_into(image, patch, np.clip(np.minimum.outer(ramp_y, ramp_x), 0.0, 1.0)[..., None], left, top)


def paste_small_faces(
    image: np.ndarray, boxes: np.ndarray, ignore: np.ndarray, rng: np.random.Generator, probability: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """With ``probability``, the crop with up to :data:`MAX_PASTES` small copies of its larger faces
    pasted in; returns ``(image, boxes, ignore)`` (the input arrays are not modified).

    Draws no random number for a probability of 0, so a recipe without it keeps its random stream.
    """
    boxes = boxes.reshape(-1, 4)
    if probability <= 0 or rng.random() >= probability:
        return image, boxes, ignore
    sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    sources = boxes[sides >= MIN_SOURCE_SIDE]
    if len(sources) == 0:
        return image, boxes, ignore
    out = image.copy()
    height, width = out.shape[:2]
    occupied = np.concatenate([boxes, ignore.reshape(-1, 4)]).astype(np.float32)
    pasted = []
    for _ in range(int(rng.integers(1, MAX_PASTES + 1))):
        x1, y1, x2, y2 = sources[int(rng.integers(len(sources)))]
        scale = np.exp(rng.uniform(*np.log(PASTED_SIDES))) / max(x2 - x1, y2 - y1)
        new_w, new_h = max(int(round((x2 - x1) * scale)), 2), max(int(round((y2 - y1) * scale)), 2)
        if new_w >= width or new_h >= height:
            continue
        patch = cv2.resize(image[int(y1) : int(np.ceil(y2)), int(x1) : int(np.ceil(x2))], (new_w, new_h),
                           interpolation=cv2.INTER_AREA).astype(np.float32)
        for _ in range(PLACE_TRIES):
            left, top = int(rng.integers(0, width - new_w)), int(rng.integers(0, height - new_h))
            box = np.array([left, top, left + new_w, top + new_h], np.float32)
            if not _crowds(box, occupied, CLEAR_MARGIN):
                _feathered_paste(out, patch, left, top)
                occupied = np.concatenate([occupied, box[None]])
                pasted.append(box)
                break
    if not pasted:
        return image, boxes, ignore
    return out, np.concatenate([boxes, np.stack(pasted)]).astype(np.float32), ignore
