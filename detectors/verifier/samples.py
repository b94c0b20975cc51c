"""Training crops for the face verifier, mined from labelled images, generated featureless frames and face-free images.

Positives are labelled faces (jittered boxes) and the detectors' own detections that match a label
(also from a folder whose labels are trusted only as faces, such as machine-labelled images) and,
when asked, labelled faces cut by a simulated frame edge;
negatives are the detectors' detections that match none, random face-free squares of the same images,
the detectors' detections on generated featureless frames (plus random squares of them) and, when
given, their detections on a folder of images that hold no face (plus random squares of them). Every
crop is cut exactly as at run time (:func:`detectors.verification.crop_square`). Images are split by
name: those whose CRC32 is 0 modulo :data:`HOLDOUT_MODULUS` are held out (they choose the threshold).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from detectors.boxes import box_sides, pairwise_iou
from detectors.datasets.sample import FaceSample
from detectors.featureless import random_featureless_frame
from detectors.training.negatives import face_free_window
from detectors.verification import CROP_SIZE, MIN_CHECKED_SIDE, crop_square

#: One image in ten is held out.
HOLDOUT_MODULUS = 10
#: A detection with at least this IoU to a labelled face is a face ...
POSITIVE_IOU = 0.5
#: ... and one under this IoU to every labelled face (and touching no ignore region) is not.
NEGATIVE_IOU = 0.3
#: Jittered copies of every labelled face: centre moved by up to 10 % of the side, side x 0.85-1.15.
JITTERED_COPIES = 3
#: Source of the crops of labelled faces cut by a simulated frame edge.
EDGE_LABEL_SOURCE = "edge label"
#: Random face-free squares per training image and per featureless frame.
FREE_SQUARES_PER_IMAGE = 4
FREE_SQUARES_PER_FRAME = 2
#: Side range of the random face-free squares.
FREE_SQUARE_SIDES = (16, 512)

#: Copies of every labelled face cut by a simulated frame edge (a person walking into or out of the shot).
EDGE_CUT_COPIES = 2
#: Range of the part of a face's width or height that stays inside the frame when it is cut.
EDGE_CUT_KEPT = (0.4, 0.9)

#: A detector as the miner needs it: BGR frame -> (N, 5) boxes and scores.
Detect = Callable[[np.ndarray], np.ndarray]


def is_held_out(stem: str) -> bool:
    """Whether the image named ``stem`` is in the held-out split."""
    return zlib.crc32(stem.encode("utf-8")) % HOLDOUT_MODULUS == 0


@dataclass
class CropSet:
    """Crops with their labels, growing as images are mined.

    Attributes (as arrays after :meth:`arrays`): ``crops`` (N, S, S, 3) uint8 BGR, ``labels`` (N,)
    1 face / 0 not a face, ``held_out`` (N,) bool, ``sources`` (N,) str (``label``, ``detection <name>``,
    ``free``, ``featureless detection <name>``, ``featureless free``, ``face-free detection <name>``,
    ``face-free free``, ``extra label``, ``extra detection <name>``, ``edge label``), ``scores`` (N,) detector score
    (NaN for crops no detector made), ``sides`` (N,) the box's size in its image, px (the square
    root of its area, as the AP buckets measure faces).
    """

    crops: list[np.ndarray] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    held_out: list[bool] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    sides: list[float] = field(default_factory=list)
    #: Side of the square crops, px (the verifier's input).
    crop_size: int = CROP_SIZE

    def add(self, frame: np.ndarray, boxes: np.ndarray, label: int, held_out: bool, source: str,
            scores: np.ndarray | None = None) -> None:
        """Cut and append one crop per (N, 4+) box of ``frame``."""
        for index, box in enumerate(boxes):
            self.crops.append(crop_square(frame, box, self.crop_size))
            self.labels.append(label)
            self.held_out.append(held_out)
            self.sources.append(source)
            self.scores.append(float("nan") if scores is None else float(scores[index]))
        self.sides.extend(box_sides(boxes).tolist() if len(boxes) else [])

    def arrays(self) -> dict[str, np.ndarray]:
        """The set as arrays (see the class docstring), ready for ``np.savez``."""
        return {
            "crops": np.stack(self.crops) if self.crops else np.zeros((0, self.crop_size, self.crop_size, 3), np.uint8),
            "labels": np.array(self.labels, np.int64),
            "held_out": np.array(self.held_out, bool),
            "sources": np.array(self.sources),
            "scores": np.array(self.scores, np.float32),
            "sides": np.array(self.sides, np.float32),
        }


def jittered_boxes(boxes: np.ndarray, rng: np.random.Generator, copies: int = JITTERED_COPIES) -> np.ndarray:
    """``copies`` randomly moved and resized versions of every (N, 4) box, as detectors would place them."""
    if len(boxes) == 0:
        return np.zeros((0, 4), np.float32)
    repeated = np.repeat(boxes[:, :4].astype(np.float64), copies, axis=0)
    centres = (repeated[:, :2] + repeated[:, 2:]) / 2
    sizes = repeated[:, 2:] - repeated[:, :2]
    centres += rng.uniform(-0.1, 0.1, (len(repeated), 2)) * sizes
    sizes *= rng.uniform(0.85, 1.15, (len(repeated), 1))
    return np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1).astype(np.float32)


def split_detections(faces: np.ndarray, labels: np.ndarray, ignore: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The detections (N, 5) that match a labelled face and those that are surely not faces (see
    :data:`POSITIVE_IOU`, :data:`NEGATIVE_IOU`); detections under :data:`MIN_CHECKED_SIDE` are left out."""
    faces = faces[box_sides(faces) >= MIN_CHECKED_SIDE]
    if len(faces) == 0:
        return faces, faces
    best = pairwise_iou(faces[:, :4], labels).max(axis=1) if len(labels) else np.zeros(len(faces))
    touches_ignore = (pairwise_iou(faces[:, :4], ignore) > 0).any(axis=1) if len(ignore) else np.zeros(len(faces), bool)
    return faces[best >= POSITIVE_IOU], faces[(best < NEGATIVE_IOU) & ~touches_ignore]


def free_squares(height: int, width: int, regions: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``count`` random squares (log-uniform sides in :data:`FREE_SQUARE_SIDES`) overlapping no region."""
    squares = []
    low, high = np.log(FREE_SQUARE_SIDES[0]), np.log(min(FREE_SQUARE_SIDES[1], height, width))
    for _ in range(count):
        if high < low:
            break
        window = face_free_window(height, width, regions, int(np.exp(rng.uniform(low, high))), rng)
        if window is not None:
            squares.append(window)
    return np.array(squares, np.float32).reshape(-1, 4)


def mine_labelled(samples: Sequence[FaceSample], detectors: dict[str, Detect], crops: CropSet, seed: int = 0,
                  faces_only: bool = False) -> None:
    """Add the crops of every labelled image: jittered labels, the detectors' matches and misses, free squares.

    With ``faces_only`` (images whose unlabelled regions may hold faces, such as machine-labelled ones)
    only the faces are added, with sources ``extra label`` and ``extra detection <name>``.
    """
    prefix = "extra " if faces_only else ""
    for index, sample in enumerate(samples):
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        rng = np.random.default_rng((seed, index))
        held_out = is_held_out(sample.stem)
        labels = sample.boxes[box_sides(sample.boxes) >= MIN_CHECKED_SIDE]
        crops.add(image, jittered_boxes(labels, rng), 1, held_out, f"{prefix}label")
        for name, detect in detectors.items():
            matches, misses = split_detections(detect(image), sample.boxes, sample.ignore)
            crops.add(image, matches, 1, held_out, f"{prefix}detection {name}", matches[:, 4])
            if not faces_only:
                crops.add(image, misses, 0, held_out, f"detection {name}", misses[:, 4])
        if not faces_only:
            regions = np.concatenate([sample.boxes.reshape(-1, 4), sample.ignore.reshape(-1, 4)])
            crops.add(image, free_squares(*image.shape[:2], regions, FREE_SQUARES_PER_IMAGE, rng), 0, held_out, "free")


def edge_cut_view(image: np.ndarray, box: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``image`` cut along a line through ``box`` (x1, y1, x2, y2, inside the image) parallel to one of its
    sides, chosen at random, so that only a random part (:data:`EDGE_CUT_KEPT`) of the face stays in the
    frame, as when a person enters or leaves a shot; and the box of what stays, in the cut image's
    coordinates (it touches the new frame's edge, as a detector's box of that face would)."""
    x1, y1, x2, y2 = (float(value) for value in box[:4])
    kept = rng.uniform(*EDGE_CUT_KEPT)
    side = int(rng.integers(4))
    if side < 2:  # a vertical frame edge crosses the face
        cut = int(round(x2 - kept * (x2 - x1) if side == 0 else x1 + kept * (x2 - x1)))
        cut = min(max(cut, 1), image.shape[1] - 1)
        if side == 0:  # the left part of the face is outside
            return image[:, cut:], np.array([0, y1, x2 - cut, y2], np.float32)
        return image[:, :cut], np.array([x1, y1, cut, y2], np.float32)
    cut = int(round(y2 - kept * (y2 - y1) if side == 2 else y1 + kept * (y2 - y1)))
    cut = min(max(cut, 1), image.shape[0] - 1)
    if side == 2:  # the top of the face is outside
        return image[cut:], np.array([x1, 0, x2, y2 - cut], np.float32)
    return image[:cut], np.array([x1, y1, x2, cut], np.float32)


def mine_edge_cut_faces(samples: Sequence[FaceSample], crops: CropSet, seed: int = 2, copies: int = EDGE_CUT_COPIES) -> None:
    """Add ``copies`` crops of every labelled face of :data:`MIN_CHECKED_SIDE` and up, each cut by a
    simulated frame edge (:func:`edge_cut_view`), as faces of source :data:`EDGE_LABEL_SOURCE`; a cut face under
    :data:`MIN_CHECKED_SIDE` is left out (the verifier never judges it)."""
    for index, sample in enumerate(samples):
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        rng = np.random.default_rng((seed, index))
        height, width = image.shape[:2]
        labels = sample.boxes[box_sides(sample.boxes) >= MIN_CHECKED_SIDE]
        for box in np.repeat(labels[:, :4], copies, axis=0):
            view, cut_box = edge_cut_view(image, np.clip(box, 0, [width, height, width, height]), rng)
            if box_sides(cut_box[None])[0] >= MIN_CHECKED_SIDE:
                crops.add(view, cut_box[None], 1, is_held_out(sample.stem), EDGE_LABEL_SOURCE)


def add_face_free(frame: np.ndarray, detectors: dict[str, Detect], crops: CropSet, held_out: bool, kind: str,
                  rng: np.random.Generator) -> None:
    """Add every detection (of :data:`MIN_CHECKED_SIDE` and up) of each detector on ``frame``, which
    holds no face, and :data:`FREE_SQUARES_PER_FRAME` random squares of it, all as non-faces with
    sources ``<kind> detection <name>`` and ``<kind> free``."""
    for name, detect in detectors.items():
        faces = detect(frame)
        faces = faces[box_sides(faces) >= MIN_CHECKED_SIDE]
        crops.add(frame, faces, 0, held_out, f"{kind} detection {name}", faces[:, 4])
    none = np.zeros((0, 4), np.float32)
    crops.add(frame, free_squares(*frame.shape[:2], none, FREE_SQUARES_PER_FRAME, rng), 0, held_out, f"{kind} free")


def mine_featureless(count: int, detectors: dict[str, Detect], crops: CropSet, seed: int = 100_000) -> None:
    """Add the detectors' detections on ``count`` generated featureless frames and random squares of them."""
    for index in range(count):
        rng = np.random.default_rng(seed + index)
        width = int(rng.integers(320, 1921))
        height = int(width * rng.uniform(0.5, 1.0))
        frame = random_featureless_frame(rng, height, width)
        add_face_free(frame, detectors, crops, index % HOLDOUT_MODULUS == 0, "featureless", rng)


def mine_face_free_images(paths: Sequence[Path], detectors: dict[str, Detect], crops: CropSet, seed: int = 200_000) -> int:
    """Add the detectors' detections on every readable image of ``paths`` (images that hold no face)
    and random squares of them; held out by name as the labelled images. Returns how many were read."""
    read = 0
    for index, path in enumerate(paths):
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            continue
        read += 1
        add_face_free(frame, detectors, crops, is_held_out(path.stem), "face-free", np.random.default_rng(seed + index))
    return read
