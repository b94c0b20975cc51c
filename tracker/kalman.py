"""Constant-velocity Kalman filter of one face box (filterpy).

State ``[cx, cy, a, h, vcx, vcy, va, vh]`` (centre, aspect ``w/h``, height
and their per-frame velocities), measurement ``[cx, cy, a, h]``: the
ByteTrack/BoT-SORT parameterisation rather than SORT's ``[cx, cy, area, ratio]``.

Why this model for faces:

* A face box has a nearly constant aspect ratio (about 0.75-0.85 for most
  detectors) while its size changes when the person walks towards or away from
  the camera. Modelling aspect and height separately lets the filter treat the
  aspect as almost static (tiny noise) and the height as the moving quantity;
  SORT's area state mixes both and its constant ratio has no velocity at all.
* The noise standard deviations are proportional to the current box height
  (1/20 of the height for positions, 1/160 for velocities, as in ByteTrack):
  a 300 px face close to the camera jitters and moves by many more pixels than
  a 30 px face in the background. Fixed pixel noise (SORT) is either too stiff
  for large faces or too loose for small ones.
* Height and aspect are clamped after each prediction so a shrinking box that
  is coasted for seconds never gets a negative size.

The time step is one video frame; frames on which the detector did not run are
predicted without an update.
"""

from __future__ import annotations

import numpy as np
from filterpy.kalman import KalmanFilter

from .geometry import cxcyah_to_xyxy, xyxy_to_cxcyah

POSITION_STD = 1.0 / 20.0
"""Std of position noise per frame, as a fraction of the box height."""
VELOCITY_STD = 1.0 / 160.0
"""Std of velocity noise per frame, as a fraction of the box height."""
ASPECT_STD = 1e-2
"""Std of the aspect ratio process noise (faces keep their aspect)."""
ASPECT_VELOCITY_STD = 1e-5
"""Std of the aspect ratio velocity process noise."""
ASPECT_MEASUREMENT_STD = 1e-1
"""Std of the measured aspect ratio (detector boxes wobble a bit)."""
MIN_HEIGHT = 2.0
"""Smallest box height in pixels a prediction may reach."""
MIN_ASPECT = 0.1
"""Smallest aspect ratio a prediction may reach."""


def _covariance_parts(fractions: tuple[float, ...], aspect_stds: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(per_height2, fixed)`` diagonal matrices for blocks of ``[cx, cy, a, h]``-like entries.

    Block ``i`` has std ``fractions[i] * height`` on cx, cy, h and the fixed
    ``aspect_stds[i]`` on the aspect, so its covariance is
    ``height**2 * per_height2 + fixed``.
    """
    scaled = np.concatenate([[f, f, 0.0, f] for f in fractions])
    fixed = np.concatenate([[0.0, 0.0, a, 0.0] for a in aspect_stds])
    return np.diag(scaled**2), np.diag(fixed**2)


_INITIAL = _covariance_parts((2.0 * POSITION_STD, 10.0 * VELOCITY_STD), (ASPECT_STD, ASPECT_VELOCITY_STD))
_PROCESS = _covariance_parts((POSITION_STD, VELOCITY_STD), (ASPECT_STD, ASPECT_VELOCITY_STD))
_MEASUREMENT = _covariance_parts((POSITION_STD,), (ASPECT_MEASUREMENT_STD,))


def _diagonal_inverse(matrix: np.ndarray) -> np.ndarray:
    """Invert a diagonal matrix (the innovation covariance of this model, see FaceKalman)."""
    return np.eye(len(matrix)) / matrix.diagonal()


def _covariance(height: float, parts: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Return the covariance ``height**2 * per_height2 + fixed`` for a box of this height."""
    return height * height * parts[0] + parts[1]


class FaceKalman:
    """Kalman filter of one face box, wrapping :class:`filterpy.kalman.KalmanFilter`.

    The four coordinates are independent (each is a position/velocity pair, the
    transition only couples a coordinate with its own velocity and all noise
    matrices are diagonal), so the covariance stays block diagonal and the
    innovation covariance ``S`` is exactly diagonal; the filter inverts it
    element-wise instead of calling ``np.linalg.inv`` (a third of filterpy's
    update time).
    """

    def __init__(self, box: np.ndarray) -> None:
        """Start a filter at the ``[x1, y1, x2, y2]`` box with zero velocity."""
        kf = KalmanFilter(dim_x=8, dim_z=4)
        kf.F = np.eye(8)
        kf.F[:4, 4:] = np.eye(4)
        kf.H = np.eye(4, 8)
        measurement = xyxy_to_cxcyah(box)
        kf.x = np.concatenate([measurement, np.zeros(4)]).reshape(8, 1)
        kf.P = _covariance(measurement[3], _INITIAL)
        kf.inv = _diagonal_inverse
        self._kf = kf

    @property
    def state(self) -> np.ndarray:
        """The 8-vector ``[cx, cy, a, h, vcx, vcy, va, vh]`` (a copy)."""
        return self._kf.x[:, 0].copy()

    @property
    def box(self) -> np.ndarray:
        """The current ``[x1, y1, x2, y2]`` estimate."""
        return cxcyah_to_xyxy(self._kf.x[:4, 0])

    @property
    def position_std(self) -> float:
        """Standard deviation in pixels of the centre estimate (the larger of x and y)."""
        return float(np.sqrt(max(self._kf.P[0, 0], self._kf.P[1, 1])))

    def predict(self) -> None:
        """Advance the state by one frame, keeping height and aspect positive."""
        self._kf.predict(Q=_covariance(self._kf.x[3, 0], _PROCESS))
        x = self._kf.x
        for index, minimum in ((3, MIN_HEIGHT), (2, MIN_ASPECT)):
            if x[index, 0] < minimum:
                x[index, 0] = minimum
                x[index + 4, 0] = max(x[index + 4, 0], 0.0)

    def hold(self, cx: float, cy: float) -> None:
        """Move the centre to ``(cx, cy)`` and stop all motion (position, size and aspect velocities)."""
        self._kf.x[0, 0] = cx
        self._kf.x[1, 0] = cy
        self._kf.x[4:, 0] = 0.0

    def update(self, box: np.ndarray) -> None:
        """Correct the state with a measured ``[x1, y1, x2, y2]`` box."""
        self._kf.update(xyxy_to_cxcyah(box), R=_covariance(self._kf.x[3, 0], _MEASUREMENT))
