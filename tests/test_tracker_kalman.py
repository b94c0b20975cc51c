"""Kalman filter of one face box: constant-velocity behaviour and guards."""

from __future__ import annotations

import numpy as np

from tracker.kalman import MIN_HEIGHT, FaceKalman


def _box(cx: float, cy: float, height: float, aspect: float = 0.8) -> np.ndarray:
    half_w = aspect * height / 2.0
    return np.array([cx - half_w, cy - height / 2.0, cx + half_w, cy + height / 2.0])


def _learn_motion(velocity: tuple[float, float], frames: int = 30) -> FaceKalman:
    """Filter fed with a box moving at constant ``velocity`` px/frame for ``frames`` frames."""
    kalman = FaceKalman(_box(100.0, 200.0, 80.0))
    for frame in range(1, frames):
        kalman.predict()
        kalman.update(_box(100.0 + velocity[0] * frame, 200.0 + velocity[1] * frame, 80.0))
    return kalman


def test_constant_velocity_is_learned_and_predicted() -> None:
    kalman = _learn_motion((3.0, -2.0), frames=30)
    state = kalman.state
    np.testing.assert_allclose(state[4:6], [3.0, -2.0], atol=0.1)
    kalman.predict()
    np.testing.assert_allclose(kalman.box, _box(100.0 + 3.0 * 30, 200.0 - 2.0 * 30, 80.0), atol=1.0)


def test_update_pulls_estimate_to_measurement() -> None:
    kalman = FaceKalman(_box(100.0, 100.0, 60.0))
    kalman.predict()
    kalman.update(_box(110.0, 100.0, 60.0))
    cx = kalman.state[0]
    assert 100.0 < cx <= 110.0
    assert cx > 105.0  # a fresh track trusts measurements more than its zero-velocity prior


def test_prediction_without_updates_continues_linearly() -> None:
    kalman = _learn_motion((4.0, 1.0))
    start = kalman.state[:2]
    for _ in range(10):
        kalman.predict()
    np.testing.assert_allclose(kalman.state[:2] - start, [40.0, 10.0], atol=2.0)
    assert kalman.state[3] > 70.0  # size unchanged


def test_shrinking_box_never_gets_negative_size() -> None:
    kalman = FaceKalman(_box(100.0, 100.0, 60.0))
    for frame in range(1, 15):
        kalman.predict()
        kalman.update(_box(100.0, 100.0, 60.0 - 4.0 * frame))  # shrinks 4 px per frame
    assert kalman.state[7] < 0.0
    for _ in range(100):
        kalman.predict()
        state = kalman.state
        assert state[3] >= MIN_HEIGHT and state[2] > 0.0
    box = kalman.box
    assert np.all(np.isfinite(box)) and box[2] > box[0] and box[3] > box[1]


def test_elementwise_inverse_equals_general_inverse() -> None:
    """The filter's diagonal innovation inverse must give the textbook result."""
    fast = FaceKalman(_box(50.0, 60.0, 40.0))
    reference = FaceKalman(_box(50.0, 60.0, 40.0))
    reference._kf.inv = np.linalg.inv
    rng = np.random.default_rng(3)
    for frame in range(1, 20):
        measurement = _box(50.0 + 2 * frame, 60.0 - frame, 40.0 + 0.5 * frame) + rng.normal(0, 1.5, 4)
        for kalman in (fast, reference):
            kalman.predict()
            kalman.update(measurement)
    np.testing.assert_allclose(fast.state, reference.state, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fast._kf.P, reference._kf.P, rtol=1e-9, atol=1e-9)
