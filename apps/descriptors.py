"""Face descriptors: an aligned face chip and its 128-D identity descriptor (dlib's ResNet).

Needs the ``identity`` extra (``pip install -e '.[identity]'``): ``dlib-bin`` runs the models that
``face-recognition-models`` ships (the 5-point landmark model for alignment and the ResNet
descriptor; no download at run time). Faces of one person are usually closer than 0.6 in
Euclidean distance. With ``mirror`` a face's descriptor is the mean of its chip's and of the
left-right flipped chip's (test-time mirroring: measured in ``benchmarks/identity_selection.md``,
not the default: twice the cost, no gain on the held-out trials). With ``map_box`` the landmarks
are found in the dlib-like box our detector's box maps to (:func:`dlib_like_box`) instead of in
our box itself (measured in ``benchmarks/identity_selection.md``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

DESCRIPTOR_SIZE = 128
CHIP_SIZE = 150
"""Side of the aligned chip the descriptor network expects."""
CHIP_PADDING = 0.25
MIRROR = False
"""Default of :class:`FaceDescriber`: describe a face by its chip alone; True: as the mean of its
chip and its mirror image (twice the cost: dlib's batch of the two chips takes as long as two calls; galleries, tracks and
re-identification must all use the same setting)."""
MAP_BOX = False
"""Default of :class:`FaceDescriber`: find the landmarks in the detector's box itself; True: in the
box it maps to with :data:`BOX_MAPPING`."""
BOX_MAPPING = (-0.038, 0.029, 1.074, 0.800)
"""``(a, b, c, d)``: a box of centre ``(cx, cy)`` and size ``w`` x ``h`` maps to dlib's frontal
face detector's box, on which the 5-point landmark model was trained, of centre
``(cx + a w, cy + b h)`` and size ``c w`` x ``d h`` (medians over lfw-dev photos:
``benchmarks/identity.py --fit-box-mapping``)."""
LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
NETWORK_FILE = "dlib_face_recognition_resnet_model_v1.dat"
INSTALL_HINT = "pip install -e '.[identity]'"


class IdentityUnavailable(RuntimeError):
    """The ``identity`` extra (dlib and its face models) is not installed."""


def _models_folder() -> Path:
    """The folder of face-recognition-models' weights, found without importing the package (its
    ``__init__`` needs ``pkg_resources``, which recent setuptools no longer ship)."""
    spec = importlib.util.find_spec("face_recognition_models")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        folder = Path(location) / "models"
        if (folder / LANDMARKS_FILE).is_file() and (folder / NETWORK_FILE).is_file():
            return folder
    raise IdentityUnavailable(f"face identity needs the face-recognition-models weights: {INSTALL_HINT}")


def identity_problem() -> str | None:
    """Why descriptors cannot be computed here (one line naming the fix), or None when they can."""
    try:
        _models_folder()
        import dlib  # noqa: F401
    except (IdentityUnavailable, ImportError) as error:
        return str(error) if isinstance(error, IdentityUnavailable) else f"face identity needs dlib: {INSTALL_HINT} ({error})"
    return None


class FaceDescriber:
    """Computes descriptors of faces given as an image and the face's box in it.

    Loading takes about half a second (the two models); one instance per process. ``mirror``: the
    descriptor is the mean of the chip's and of the left-right flipped chip's. ``map_box``: the
    landmarks are found in :func:`dlib_like_box` of the face's box.
    """

    def __init__(self, mirror: bool = MIRROR, map_box: bool = MAP_BOX) -> None:
        problem = identity_problem()
        if problem is not None:
            raise IdentityUnavailable(problem)
        import dlib

        folder = _models_folder()
        self.mirror = mirror
        self.map_box = map_box
        self._dlib = dlib
        self._landmarks = dlib.shape_predictor(str(folder / LANDMARKS_FILE))
        self._network = dlib.face_recognition_model_v1(str(folder / NETWORK_FILE))

    def chip(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The face of ``box`` (``[x1, y1, x2, y2]`` in ``image``, a BGR or grey uint8 array) as an
        RGB ``CHIP_SIZE`` square, aligned on its 5 landmarks (eyes level, same scale)."""
        rgb = _rgb(image)
        x1, y1, x2, y2 = dlib_like_box(box) if self.map_box else (int(round(float(value))) for value in box[:4])
        shape = self._landmarks(rgb, self._dlib.rectangle(x1, y1, x2, y2))
        return np.asarray(self._dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING))

    def describe(self, image: np.ndarray, box: np.ndarray, jitters: int = 0) -> np.ndarray:
        """The 128-D descriptor (float32) of the face of ``box`` in ``image`` (see :meth:`describe_chip`)."""
        return self.describe_chip(self.chip(image, box), jitters)

    def describe_chip(self, chip: np.ndarray, jitters: int = 0) -> np.ndarray:
        """The 128-D descriptor (float32) of an aligned RGB chip (:meth:`chip`); with ``mirror``, the
        same for the chip and its mirror image. With ``jitters`` > 1, dlib's jittered mean: the chip
        randomly shifted, rotated, scaled and recoloured ``jitters`` times, each described (that many
        times the cost)."""
        if not self.mirror:
            return np.asarray(self._network.compute_face_descriptor(chip, jitters), dtype=np.float32)
        pair = self._network.compute_face_descriptor([chip, np.ascontiguousarray(chip[:, ::-1])], jitters)
        return np.mean(np.asarray(pair, dtype=np.float64), axis=0).astype(np.float32)


def dlib_like_box(box: np.ndarray,
                  mapping: tuple[float, float, float, float] = BOX_MAPPING) -> tuple[int, int, int, int]:
    """``box`` (``[x1, y1, x2, y2]``, our detector's) mapped to dlib's frontal detector's box of the same
    face (see :data:`BOX_MAPPING`), rounded to whole pixels."""
    x1, y1, x2, y2 = (float(value) for value in box[:4])
    width, height = x2 - x1, y2 - y1
    centre_x, centre_y = (x1 + x2) / 2 + mapping[0] * width, (y1 + y2) / 2 + mapping[1] * height
    half_width, half_height = mapping[2] * width / 2, mapping[3] * height / 2
    return (int(round(centre_x - half_width)), int(round(centre_y - half_height)),
            int(round(centre_x + half_width)), int(round(centre_y + half_height)))


def _rgb(image: np.ndarray) -> np.ndarray:
    """A contiguous RGB copy of a BGR (or grey) uint8 image, as dlib wants it."""
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    return np.ascontiguousarray(image[:, :, 2::-1])


def distances(descriptors: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Euclidean distances between every row of ``descriptors`` (N, 128) and of ``others`` (M, 128): (N, M)."""
    left = np.asarray(descriptors, dtype=np.float64).reshape(-1, DESCRIPTOR_SIZE)
    right = np.asarray(others, dtype=np.float64).reshape(-1, DESCRIPTOR_SIZE)
    squared = (left**2).sum(1)[:, None] + (right**2).sum(1)[None, :] - 2.0 * left @ right.T
    return np.sqrt(np.maximum(squared, 0.0))
