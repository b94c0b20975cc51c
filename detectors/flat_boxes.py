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


def _centred_coordinates(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Column and row coordinates of a flattened side x side image, minus their means (orthogonal
    to each other and to a constant, so a plane fit is three independent projections)."""
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float64)
    return (xs - xs.mean()).ravel(), (ys - ys.mean()).ravel()


_XS, _YS = _centred_coordinates(THUMBNAIL_SIDE)
#: Least-squares plane fit as one matrix: a thumbnail's grey levels times it give the residual.
_RESIDUAL = (np.eye(THUMBNAIL_SIDE**2) - 1.0 / THUMBNAIL_SIDE**2
             - np.outer(_XS, _XS) / float(_XS @ _XS) - np.outer(_YS, _YS) / float(_YS @ _YS)).astype(np.float32)


def _grey_thumbnail(frame: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """The 16x16 area-averaged thumbnail of ``box`` (clipped to the frame) as 256 float32 grey
    levels (mean of the colour channels), or None for an empty box."""
    height, width = frame.shape[:2]
    x1, y1 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x2, y2 = min(int(np.ceil(box[2])), width), min(int(np.ceil(box[3])), height)
    if x2 <= x1 or y2 <= y1:
        return None
    thumbnail = cv2.resize(frame[y1:y2, x1:x2], (THUMBNAIL_SIDE, THUMBNAIL_SIDE), interpolation=cv2.INTER_AREA)
    return thumbnail.reshape(THUMBNAIL_SIDE**2, -1)[:, :3].mean(axis=1, dtype=np.float32)


def box_contrasts(frame: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """For each box (rows ``x1, y1, x2, y2, ...`` in ``frame`` pixels, clipped to the frame): the
    standard deviation of the grey levels of its 16x16 area-averaged thumbnail around their
    best-fitting plane, so that a uniform box and a linear ramp both measure 0; 0 for an empty box."""
    if len(boxes) == 0:
        return np.zeros(0, np.float32)
    boxes = np.asarray(boxes).reshape(len(boxes), -1)
    thumbnails = [_grey_thumbnail(frame, box) for box in boxes]
    filled = [index for index, thumbnail in enumerate(thumbnails) if thumbnail is not None]
    contrasts = np.zeros(len(boxes), np.float32)
    if filled:
        residuals = np.stack([thumbnails[index] for index in filled]) @ _RESIDUAL
        contrasts[filled] = np.sqrt((residuals**2).mean(axis=1))
    return contrasts


def box_contrast(frame: np.ndarray, box: np.ndarray) -> float:
    """:func:`box_contrasts` of one box."""
    return float(box_contrasts(frame, np.asarray(box, dtype=np.float64)[None, :4])[0])


#: Boxes scoring under this are kept unchecked: nothing in the app uses them (the lowest score it
#: uses, for ``--anonymize`` masks, is 0.15), and AP evaluation at 0.05 returns dozens of them a frame.
MIN_CHECKED_SCORE = 0.15


def drop_flat_boxes(frame: np.ndarray, faces: np.ndarray, min_contrast: float = MIN_CONTRAST) -> np.ndarray:
    """The rows of ``faces`` (N, 5: box, score) whose box in ``frame`` is not flat, order kept; rows
    scoring under :data:`MIN_CHECKED_SCORE` are kept unchecked."""
    if len(faces) == 0:
        return faces
    keep = np.ones(len(faces), dtype=bool)
    checked = np.flatnonzero(faces[:, 4] >= MIN_CHECKED_SCORE)
    keep[checked] = box_contrasts(frame, faces[checked, :4]) >= min_contrast
    return faces[keep]
