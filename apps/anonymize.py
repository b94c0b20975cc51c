"""Anonymisation of faces in output frames: blur, pixelate or fill an ellipse around each face.

The ellipse is inscribed in the face box grown by ``margin`` (a fraction of the box size on each
side), so hair line, chin and cheeks are covered as well. Only the pixels inside the ellipse
change; work is done on each face's bounding region only.
"""

from __future__ import annotations

from collections import deque
from enum import Enum

import cv2
import numpy as np

from tracker import TrackedFace
from tracker.geometry import box_areas, intersection_matrix


class AnonymizeMode(str, Enum):
    """How faces are hidden."""

    blur = "blur"
    pixelate = "pixelate"
    solid = "solid"


#: A face only predicted on this frame is hidden by its box grown by this many standard deviations
#: of its predicted centre on each side (about 98 % of a Gaussian position error is then inside).
UNCERTAINTY_SIGMAS = 2.0

#: A detection (down to the mask score) stays hidden this long at its box after the frame it was
#: found on, so a face the detector finds only on some frames (weak scores on a motion-blurred
#: head) is hidden on the frames between as well.
MASK_HOLD_SECONDS = 0.2

#: Pixelation block count across a face (fewer blocks hide more).
PIXELATE_BLOCKS = 8
#: Faces are blurred on a copy shrunk to this long side, then enlarged: the cost no longer grows with
#: the face (a Gaussian kernel half a 340 px face costs 27 ms at full size, 0.5 ms this way).
BLUR_SIDE = 24


def mask_box(face: TrackedFace) -> np.ndarray:
    """The box to hide for a tracked face: the detection matched on this frame when there is one,
    else the predicted box grown by :data:`UNCERTAINTY_SIGMAS` standard deviations of its centre."""
    if face.measured_box is not None:
        return np.asarray(face.measured_box, dtype=np.float64)
    grow = UNCERTAINTY_SIGMAS * face.position_std
    return np.asarray(face.box, dtype=np.float64) + np.array([-grow, -grow, grow, grow])


class DetectionHold:
    """Detections away from every track, kept for the next ``frames`` frames of the shot so they stay hidden there."""

    def __init__(self, frames: int) -> None:
        self._recent: deque[np.ndarray] = deque(maxlen=max(int(frames), 0))
        self._shot: int | None = None

    def boxes(self, detections: np.ndarray | None, tracked: np.ndarray, shot: int) -> np.ndarray:
        """The (N, 4) boxes to hide on this frame besides the tracks: all of ``detections`` (None:
        the detector did not run) and the held ones of the frames before. ``tracked`` are the tracks'
        mask boxes on this frame: a detection at least half inside one of them is that track's face,
        which the track's mask follows from now on, so it is not held (a held box of a moving face
        would trail behind it). A new ``shot`` drops the held boxes."""
        if shot != self._shot:
            self._recent.clear()
            self._shot = shot
        current = np.zeros((0, 4)) if detections is None else np.asarray(detections, np.float64).reshape(-1, 5)[:, :4]
        held = np.concatenate([current, *self._recent]).reshape(-1, 4)
        if self._recent.maxlen:
            self._recent.appendleft(current[_share_inside(current, tracked).max(axis=1, initial=0.0) < 0.5])
        return held


def _share_inside(boxes: np.ndarray, containers: np.ndarray) -> np.ndarray:
    """(N, M) share of the area of each of ``boxes`` (N, 4) that lies inside each of ``containers`` (M, 4)."""
    return intersection_matrix(boxes, containers) / np.maximum(box_areas(boxes), 1e-9)[:, None]


def ellipse_region(box: np.ndarray, margin: float, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Integer ``x1, y1, x2, y2`` of the grown box clipped to the frame, or None if nothing is inside."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    grow_x, grow_y = (x2 - x1) * margin, (y2 - y1) * margin
    left, top = max(int(np.floor(x1 - grow_x)), 0), max(int(np.floor(y1 - grow_y)), 0)
    right, bottom = min(int(np.ceil(x2 + grow_x)), width), min(int(np.ceil(y2 + grow_y)), height)
    if right <= left or bottom <= top:
        return None
    return left, top, right, bottom


def _ellipse_mask(box: np.ndarray, margin: float, region: tuple[int, int, int, int]) -> np.ndarray:
    """Boolean mask of the ellipse inscribed in the grown box, over ``region``."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    rx, ry = max((x2 - x1) * (0.5 + margin), 0.5), max((y2 - y1) * (0.5 + margin), 0.5)
    left, top, right, bottom = region
    ys, xs = np.ogrid[top:bottom, left:right]
    return ((xs + 0.5 - cx) / rx) ** 2 + ((ys + 0.5 - cy) / ry) ** 2 <= 1.0


def _hidden(patch: np.ndarray, mode: AnonymizeMode) -> np.ndarray:
    """The replacement pixels of one face region."""
    height, width = patch.shape[:2]
    if mode is AnonymizeMode.solid:
        return np.zeros_like(patch)
    if mode is AnonymizeMode.pixelate:
        small = cv2.resize(patch, (min(PIXELATE_BLOCKS, width), min(PIXELATE_BLOCKS, height)),
                           interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    return _blurred(patch)


def _blurred(patch: np.ndarray) -> np.ndarray:
    """A Gaussian blur with a kernel about half the face (nothing recognisable), computed at
    :data:`BLUR_SIDE` px on the long side and enlarged back to the patch's size."""
    height, width = patch.shape[:2]
    scale = min(BLUR_SIDE / max(width, height), 1.0)
    small_size = (max(round(width * scale), 1), max(round(height * scale), 1))
    small = cv2.resize(patch, small_size, interpolation=cv2.INTER_AREA) if scale < 1.0 else patch
    kernel = max(int(max(small_size) / 2) | 1, 3)  # odd, about half the face
    blurred = cv2.GaussianBlur(small, (kernel, kernel), 0)
    return cv2.resize(blurred, (width, height), interpolation=cv2.INTER_LINEAR) if scale < 1.0 else blurred


def anonymize_faces(frame: np.ndarray, boxes: np.ndarray, mode: AnonymizeMode, margin: float = 0.2) -> np.ndarray:
    """Hide every face of ``boxes`` ((N, >=4) ``x1, y1, x2, y2``) in ``frame``, in place; returns ``frame``."""
    height, width = frame.shape[:2]
    for box in boxes:
        region = ellipse_region(box, margin, width, height)
        if region is None:
            continue
        left, top, right, bottom = region
        patch = frame[top:bottom, left:right]
        mask = _ellipse_mask(box, margin, region)
        # OpenCV's masked copy writes into the frame's view: 0.01 ms where NumPy's boolean indexing
        # took 11 ms for a 340 px face
        cv2.copyTo(_hidden(patch, mode), mask.view(np.uint8), patch)
    return frame
