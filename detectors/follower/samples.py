"""Training windows for the face follower, cut from labelled images and generated featureless frames.

A follow window is a square around a track's predicted position, 2 to 4 times the face's size
(:mod:`tracker.follow`); the prediction is off by the face's motion. So windows are drawn around every
labelled face with a random size (:data:`WINDOW_SCALES` times the face) and a random centre offset,
and labelled by one rule (:func:`window_target`): the face to follow is the labelled face of a
plausible size (:data:`SIZE_RANGE` of the window's side) whose centre is nearest the window's centre
and within :data:`CENTRE_REACH` of it; with none, the window holds no face to follow. Windows where
the rule is unsure (a face just outside the reach or the size range, an ignore region) are dropped.
Negatives also come from face-free squares and featureless frames. A share of windows is motion
blurred (fast faces are). Every window is cut exactly as at run time
(:func:`detectors.following.window_crops`). Images are held out as for the verifier
(:mod:`detectors.datasets.held_out`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from detectors.boxes import box_sides
from detectors.datasets.held_out import HOLDOUT_MODULUS, labelled_images
from detectors.datasets.sample import FaceSample
from detectors.featureless import random_featureless_frame
from detectors.following import INPUT_SIZE, window_crops
from detectors.verifier.samples import free_squares
from detectors.windows import snap_windows

#: Window side relative to the face's longer side (log-uniform).
WINDOW_SCALES = (1.8, 4.5)
#: The face to follow has its centre within this share of the window's side from the window's
#: centre (on each axis) and a longer side within this share range of the window's side.
CENTRE_REACH = 0.4
SIZE_RANGE = (0.15, 0.75)
#: Faces within these looser bounds but outside the strict ones make a window ambiguous (dropped).
UNSURE_REACH = 0.55
UNSURE_SIZE_RANGE = (0.1, 0.9)
#: Spread of the window centre's offset from the face (standard deviation, share of the window side).
OFFSET_SPREAD = 0.15
#: Labelled faces smaller than this (longer side, pixels) are not followed.
MIN_FACE = 10.0
#: Windows per labelled face around it, and moved away from it (mostly negatives).
WINDOWS_PER_FACE = 6
AWAY_WINDOWS_PER_FACE = 1
#: Face-free squares per image and random windows per generated featureless frame.
FREE_SQUARES_PER_IMAGE = 6
WINDOWS_PER_FEATURELESS_FRAME = 4
#: Share of windows blurred along a random line of 3 to 9 pixels (at the network's input size).
MOTION_BLUR = 0.25


@dataclass
class WindowSet:
    """Windows with their labels, growing as images are cut.

    Attributes (as arrays after :meth:`arrays`): ``crops`` (N, S, S, 3) uint8 BGR, ``presence`` (N,)
    1 a face to follow / 0 none, ``boxes`` (N, 4) float32 the face's box in window-side units (NaN
    without a face), ``held_out`` (N,) bool, ``sources`` (N,) str (``around``, ``away``, ``free``,
    ``featureless``).
    """

    crops: list[np.ndarray] = field(default_factory=list)
    presence: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    held_out: list[bool] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add(self, crop: np.ndarray, box: np.ndarray | None, held_out: bool, source: str) -> None:
        """Append one window crop and the box of its face in window-side units (None: no face)."""
        self.crops.append(crop)
        self.presence.append(0 if box is None else 1)
        self.boxes.append(np.full(4, np.nan, np.float32) if box is None else np.asarray(box, np.float32))
        self.held_out.append(held_out)
        self.sources.append(source)

    def arrays(self) -> dict[str, np.ndarray]:
        """The set as arrays (see the class docstring), ready for ``np.savez``."""
        return {
            "crops": np.stack(self.crops) if self.crops else np.zeros((0, INPUT_SIZE, INPUT_SIZE, 3), np.uint8),
            "presence": np.array(self.presence, np.int64),
            "boxes": np.array(self.boxes, np.float32).reshape(-1, 4),
            "held_out": np.array(self.held_out, bool),
            "sources": np.array(self.sources),
        }


def window_target(window: np.ndarray, faces: np.ndarray, ignore: np.ndarray) -> tuple[bool, np.ndarray | None]:
    """Whether the whole-pixel square ``window`` is usable, and its face to follow (see the module
    docstring) in window-side units, or None.

    ``faces`` and ``ignore`` are (N, 4) boxes in image pixels; an ignore region whose centre is within
    :data:`UNSURE_REACH` makes the window unusable.
    """
    side = float(window[2] - window[0])
    centre = (window[:2] + window[2:]) / 2.0

    def near(boxes: np.ndarray, reach: float) -> np.ndarray:
        centres = (boxes[:, :2] + boxes[:, 2:4]) / 2.0
        return (np.abs(centres - centre) <= reach * side).all(axis=1)

    faces = np.asarray(faces, np.float64).reshape(-1, 4)
    ignore = np.asarray(ignore, np.float64).reshape(-1, 4)
    if near(ignore, UNSURE_REACH).any():
        return False, None
    relative = box_sides(faces) / side
    fits = near(faces, CENTRE_REACH) & (relative >= SIZE_RANGE[0]) & (relative <= SIZE_RANGE[1])
    unsure = near(faces, UNSURE_REACH) & (relative >= UNSURE_SIZE_RANGE[0]) & (relative <= UNSURE_SIZE_RANGE[1]) & ~fits
    if unsure.any():
        return False, None
    if not fits.any():
        return True, None
    candidates = np.flatnonzero(fits)
    centres = (faces[candidates, :2] + faces[candidates, 2:]) / 2.0
    nearest = candidates[np.argmin(np.hypot(*(centres - centre).T))]
    return True, (faces[nearest] - np.tile(window[:2], 2)) / side


def windows_around(faces: np.ndarray, count: int, rng: np.random.Generator, away: bool = False) -> np.ndarray:
    """``count`` random square windows (float ``x1, y1, x2, y2``) around each (N, 4) face: sides of
    :data:`WINDOW_SCALES` times the face, centres moved by :data:`OFFSET_SPREAD` of the side (``away``:
    moved so the face's centre lies outside the window, by up to 0.9 of its side on one axis)."""
    faces = np.repeat(np.asarray(faces, np.float64).reshape(-1, 4), count, axis=0)
    sides = box_sides(faces) * np.exp(rng.uniform(*np.log(WINDOW_SCALES), len(faces)))
    if away:
        offsets = rng.uniform(-0.9, 0.9, (len(faces), 2))
        axis = rng.integers(0, 2, len(faces))
        offsets[np.arange(len(faces)), axis] = rng.choice([-1.0, 1.0], len(faces)) * rng.uniform(0.55, 0.9, len(faces))
    else:
        offsets = np.clip(rng.normal(0.0, OFFSET_SPREAD, (len(faces), 2)), -CENTRE_REACH, CENTRE_REACH)
    centres = (faces[:, :2] + faces[:, 2:]) / 2.0 - offsets * sides[:, None]
    return np.concatenate([centres - sides[:, None] / 2, centres + sides[:, None] / 2], axis=1)


def motion_blur(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``crop`` blurred along a random line of 3 to 9 pixels."""
    length = int(rng.integers(3, 10))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), float(rng.uniform(0, 180)), 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    return cv2.filter2D(crop, -1, kernel / max(float(kernel.sum()), 1e-6))


def add_windows(windows_set: WindowSet, image: np.ndarray, windows: np.ndarray, faces: np.ndarray, ignore: np.ndarray,
                held_out: bool, source: str, rng: np.random.Generator) -> None:
    """Label (:func:`window_target`), cut (some motion blurred) and append the usable ``windows`` of ``image``."""
    snapped = snap_windows(windows)
    labelled = [(window, *window_target(window, faces, ignore)) for window in snapped]
    usable = [(window, box) for window, ok, box in labelled if ok]
    if not usable:
        return
    crops = window_crops(image, np.array([window for window, _ in usable]))
    for crop, (_, box) in zip(crops, usable, strict=True):
        if rng.random() < MOTION_BLUR:
            crop = motion_blur(crop, rng)
        windows_set.add(crop, box, held_out, source)


def cut_labelled(samples: Sequence[FaceSample], windows_set: WindowSet, seed: int = 0) -> None:
    """Add the windows of every labelled image: around its faces, moved away from them, and face-free squares."""
    for sample, image, rng, held_out in labelled_images(samples, seed):
        followed = sample.boxes[box_sides(sample.boxes) >= MIN_FACE]
        for source, count, away in (("around", WINDOWS_PER_FACE, False), ("away", AWAY_WINDOWS_PER_FACE, True)):
            windows = windows_around(followed, count, rng, away)
            add_windows(windows_set, image, windows, sample.boxes, sample.ignore, held_out, source, rng)
        regions = np.concatenate([sample.boxes.reshape(-1, 4), sample.ignore.reshape(-1, 4)])
        squares = free_squares(*image.shape[:2], regions, FREE_SQUARES_PER_IMAGE, rng)
        add_windows(windows_set, image, squares, sample.boxes, sample.ignore, held_out, "free", rng)


def cut_featureless(count: int, windows_set: WindowSet, seed: int = 200_000) -> None:
    """Add random windows of ``count`` generated featureless frames (no face to follow in any)."""
    none = np.zeros((0, 4), np.float32)
    for index in range(count):
        rng = np.random.default_rng(seed + index)
        width = int(rng.integers(320, 1921))
        height = int(width * rng.uniform(0.5, 1.0))
        frame = random_featureless_frame(rng, height, width)
        squares = free_squares(height, width, none, WINDOWS_PER_FEATURELESS_FRAME, rng)
        add_windows(windows_set, frame, squares, none, none, index % HOLDOUT_MODULUS == 0, "featureless", rng)
