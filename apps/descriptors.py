"""Face descriptors: an aligned face chip and its 128-D identity descriptor (SFace).

The descriptor network is OpenCV Zoo's SFace (a MobileFaceNet, Apache-2.0), shipped inside FaceTrack
(:mod:`apps.sface_weights`) and run by onnxruntime. Aligning a face needs the ``identity`` extra
(``pip install -e '.[identity]'``): ``dlib-bin`` runs the 68-point landmark model that
``face-recognition-models`` ships (no download at run time); the eye centres, nose tip and mouth
corners are warped onto SFace's 112 px five-point template. The descriptor is L2-normalised, so the
Euclidean distance between two faces is sqrt(2 - 2 cos) of their features (0 to 2). With ``mirror`` a
face's descriptor is that of the mean of its chip's and of the left-right flipped chip's features
(twice the cost; not the default). With ``map_box`` the landmarks are found in the dlib-like box our
detector's box maps to (:func:`dlib_like_box`) instead of in our box itself (measured in
``benchmarks/identity_selection.md`` with dlib's own descriptor; not the default).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

DESCRIPTOR_NETWORK = "sface-2021dec"
"""Which network computes the descriptors (descriptors of different networks are not comparable)."""
DESCRIPTOR_SIZE = 128
CHIP_SIZE = 112
"""Side of the aligned chip the descriptor network expects."""
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]])
"""Where the eye centres, nose tip and mouth corners go in the chip (the usual 112 px five-point
template of ArcFace-style recognizers, SFace's included)."""
MIRROR = False
"""Default of :class:`FaceDescriber`: describe a face by its chip alone; True: by the mean of its
chip's and its mirror image's features (twice the cost; galleries, tracks and re-identification must
all use the same setting)."""
MAP_BOX = False
"""Default of :class:`FaceDescriber`: find the landmarks in the detector's box itself; True: in the
box it maps to with :data:`BOX_MAPPING`."""
BOX_MAPPING = (-0.038, 0.029, 1.074, 0.800)
"""``(a, b, c, d)``: a box of centre ``(cx, cy)`` and size ``w`` x ``h`` maps to dlib's frontal
face detector's box, on which dlib's landmark models were trained, of centre
``(cx + a w, cy + b h)`` and size ``c w`` x ``d h`` (medians over lfw-dev photos:
``benchmarks/identity.py --fit-box-mapping``)."""
LANDMARKS_FILE = "shape_predictor_68_face_landmarks.dat"
INSTALL_HINT = "pip install -e '.[identity]'"


class IdentityUnavailable(RuntimeError):
    """The ``identity`` extra (dlib and its landmark model) is not installed."""


def _models_folder() -> Path:
    """The folder of face-recognition-models' weights, found without importing the package (its
    ``__init__`` needs ``pkg_resources``, which recent setuptools no longer ship)."""
    spec = importlib.util.find_spec("face_recognition_models")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        folder = Path(location) / "models"
        if (folder / LANDMARKS_FILE).is_file():
            return folder
    raise IdentityUnavailable(f"face identity needs the face-recognition-models weights: {INSTALL_HINT}")


def identity_problem() -> str | None:
    """Why descriptors cannot be computed here (one line naming the fix), or None when they can."""
    from apps import sface_weights

    if not sface_weights.SFACE_FILE.is_file():
        return f"face identity needs the descriptor network {sface_weights.SFACE_FILE}, missing from this installation"
    try:
        _models_folder()
        import dlib  # noqa: F401
    except (IdentityUnavailable, ImportError) as error:
        return str(error) if isinstance(error, IdentityUnavailable) else f"face identity needs dlib: {INSTALL_HINT} ({error})"
    return None


class FaceDescriber:
    """Computes descriptors of faces given as an image and the face's box in it.

    Loading takes about a second (the landmark model and SFace); one instance per process. ``mirror``:
    the descriptor is that of the mean of the chip's and of the left-right flipped chip's features.
    ``map_box``: the landmarks are found in :func:`dlib_like_box` of the face's box.
    """

    def __init__(self, mirror: bool = MIRROR, map_box: bool = MAP_BOX) -> None:
        problem = identity_problem()
        if problem is not None:
            raise IdentityUnavailable(problem)
        import dlib
        import onnxruntime

        from apps import sface_weights
        from detectors.sessions import QUIET_SEVERITY, session_options

        self.mirror = mirror
        self.map_box = map_box
        self._dlib = dlib
        self._landmarks = dlib.shape_predictor(str(_models_folder() / LANDMARKS_FILE))
        options = session_options(threads=1)  # one face at a time, beside the detector's threads
        options.log_severity_level = QUIET_SEVERITY
        self._network = onnxruntime.InferenceSession(str(sface_weights.SFACE_FILE), options, providers=["CPUExecutionProvider"])
        self._input = self._network.get_inputs()[0].name

    def chip(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The face of ``box`` (``[x1, y1, x2, y2]`` in ``image``, a BGR or grey uint8 array) as an
        RGB ``CHIP_SIZE`` square, its eye centres, nose tip and mouth corners on :data:`TEMPLATE`."""
        rgb = _rgb(image)
        x1, y1, x2, y2 = dlib_like_box(box) if self.map_box else (int(round(float(value))) for value in box[:4])
        shape = self._landmarks(rgb, self._dlib.rectangle(x1, y1, x2, y2))
        points = np.array([[point.x, point.y] for point in shape.parts()], dtype=np.float64)
        anchors = np.stack([points[36:42].mean(axis=0), points[42:48].mean(axis=0), points[30], points[48], points[54]])
        return cv2.warpAffine(rgb, similarity_transform(anchors, TEMPLATE), (CHIP_SIZE, CHIP_SIZE),
                              flags=cv2.INTER_LINEAR)

    def describe(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The 128-D descriptor (float32, unit length) of the face of ``box`` in ``image`` (see :meth:`describe_chip`)."""
        return self.describe_chip(self.chip(image, box))

    def describe_chip(self, chip: np.ndarray) -> np.ndarray:
        """The 128-D descriptor (float32, unit length) of an aligned RGB chip (:meth:`chip`); with
        ``mirror``, of the mean of the chip's and of its mirror image's features."""
        chips = [chip, chip[:, ::-1]] if self.mirror else [chip]
        batch = np.ascontiguousarray(np.stack(chips).transpose(0, 3, 1, 2), dtype=np.float32)
        features = np.concatenate([self._network.run(None, {self._input: one[None]})[0] for one in batch])
        feature = features.astype(np.float64).mean(axis=0)
        return (feature / max(float(np.linalg.norm(feature)), 1e-12)).astype(np.float32)


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2 x 3 least-squares similarity (rotation, uniform scale, shift; no mirroring) taking the
    (N, 2) points ``source`` onto ``target`` (Umeyama's method)."""
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    centred_source, centred_target = source - source_mean, target - target_mean
    u, singular, vt = np.linalg.svd(centred_target.T @ centred_source / len(source))
    sign = np.array([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ np.diag(sign) @ vt
    scale = (singular * sign).sum() / centred_source.var(axis=0).sum()
    return np.hstack([scale * rotation, (target_mean - scale * rotation @ source_mean)[:, None]])


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
    """A contiguous RGB copy of a BGR (or grey) uint8 image, as dlib and SFace want it."""
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    return np.ascontiguousarray(image[:, :, 2::-1])


def distances(descriptors: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Euclidean distances between every row of ``descriptors`` (N, 128) and of ``others`` (M, 128): (N, M)."""
    left = np.asarray(descriptors, dtype=np.float64).reshape(-1, DESCRIPTOR_SIZE)
    right = np.asarray(others, dtype=np.float64).reshape(-1, DESCRIPTOR_SIZE)
    squared = (left**2).sum(1)[:, None] + (right**2).sum(1)[None, :] - 2.0 * left @ right.T
    return np.sqrt(np.maximum(squared, 0.0))
