"""A cheap guard against faces reported where the image holds nothing: black, flat, ramp and noise-only boxes.

A face, even a small, dark or blurred one, has eyes, a mouth and a face outline: structure at a
scale of a few pixels of a 16x16 thumbnail of its box. A black frame, a flat title card, a smooth
gradient (a fade, a sky, a lit wall) or dark sensor noise has none once the box is averaged down to
that thumbnail (noise averages out) and the best-fitting plane (a linear ramp of grey levels) is
taken away. Boxes whose thumbnail's grey levels spread around that plane by less than
:data:`MIN_CONTRAST` are dropped.

Cost per box on a 1080p frame: 0.07 ms at 85 px, 0.5 ms at 800 px (one core; a follow window costs
about 1.2 ms of FaceBoxes).

This only guards what it can see: gradients, textures and photos have structure, so there the model
itself must not fire (hard negatives in training, :mod:`detectors.training.negatives`).
"""

from __future__ import annotations

import cv2
import numpy as np

#: Side of the thumbnail a box is averaged down to before its contrast is measured.
THUMBNAIL_SIDE = 16
#: Standard deviation (grey levels, 0-255) around the best-fitting plane under which a box's
#: thumbnail counts as flat. The
#: faintest of the 8,457 labelled faces of 16 px and up in ../shared/data (faces/train, faces/dev,
#: pseudo) measures 2.9, 99.9 % of them 7.3 or more
#: (``python benchmarks/false_faces.py --contrast ../shared/data/faces/train ../shared/data/faces/dev ../shared/data/pseudo``).
MIN_CONTRAST = 2.0


def _plane_projection(side: int) -> np.ndarray:
    """The (side*side, side*side) matrix that maps a flattened side x side image to the
    least-squares plane ``a + b*x + c*y`` through it."""
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float64)
    design = np.stack([np.ones(side * side), xs.ravel(), ys.ravel()], axis=1)
    return design @ np.linalg.pinv(design)


_PLANE = _plane_projection(THUMBNAIL_SIDE)


def box_contrast(frame: np.ndarray, box: np.ndarray) -> float:
    """Standard deviation of the grey levels (mean of the colour channels) of the 16x16
    area-averaged thumbnail of ``box`` around their best-fitting plane, so that a uniform box and
    a linear ramp both measure 0
    (``x1, y1, x2, y2`` in ``frame`` pixels, clipped to the frame); 0 for an empty box."""
    height, width = frame.shape[:2]
    x1, y1 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x2, y2 = min(int(np.ceil(box[2])), width), min(int(np.ceil(box[3])), height)
    if x2 <= x1 or y2 <= y1:
        return 0.0
    thumbnail = cv2.resize(frame[y1:y2, x1:x2], (THUMBNAIL_SIDE, THUMBNAIL_SIDE), interpolation=cv2.INTER_AREA)
    grey = thumbnail.reshape(THUMBNAIL_SIDE, THUMBNAIL_SIDE, -1)[:, :, :3].mean(axis=2).ravel()
    return float((grey - _PLANE @ grey).std())


def drop_flat_boxes(frame: np.ndarray, faces: np.ndarray, min_contrast: float = MIN_CONTRAST) -> np.ndarray:
    """The rows of ``faces`` (N, >=4: boxes first) whose box in ``frame`` is not flat, order kept."""
    if len(faces) == 0:
        return faces
    keep = [box_contrast(frame, face[:4]) >= min_contrast for face in faces]
    return faces[np.asarray(keep, dtype=bool)]
