"""Crop extraction and crop quality scoring."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tracker.quality import crop_quality, extract_crop, quality_upper_bound


def _texture(size: int, seed: int = 0, symmetric: bool = True) -> np.ndarray:
    """A sharp BGR test pattern; mirror-symmetric left/right (frontal-like) unless asked otherwise."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (size // 4, size // 4, 3)).astype(np.uint8)
    if symmetric:
        half = small.shape[1] // 2
        small[:, -half:] = small[:, :half][:, ::-1]
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_NEAREST)


def test_extract_crop_adds_margin() -> None:
    frame = np.arange(300 * 400 * 3, dtype=np.uint32).reshape(300, 400, 3).astype(np.uint8)
    crop = extract_crop(frame, np.array([100, 100, 200, 150]), margin=0.2)
    assert crop.shape == (70, 140, 3)
    np.testing.assert_array_equal(crop, frame[90:160, 80:220])
    crop[:] = 0  # a copy, not a view into the frame
    assert frame[90:160, 80:220].any()


def test_extract_crop_clips_to_frame() -> None:
    frame = np.full((100, 100, 3), 7, dtype=np.uint8)
    assert extract_crop(frame, np.array([-20, 80, 30, 130]), margin=0.0).shape == (20, 30, 3)
    assert extract_crop(frame, np.array([200, 200, 250, 250])).shape == (0, 0, 3)
    assert crop_quality(extract_crop(frame, np.array([200, 200, 250, 250])), 0.9) == 0.0


def test_sharp_crop_beats_blurred_crop() -> None:
    sharp = _texture(128)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 3.0)
    assert crop_quality(sharp, 0.9) > 1.2 * crop_quality(blurred, 0.9)


def test_larger_crop_beats_smaller_crop() -> None:
    large = _texture(160)
    small = cv2.resize(large, (48, 48), interpolation=cv2.INTER_AREA)
    assert crop_quality(large, 0.9) > 2.0 * crop_quality(small, 0.9)


def test_higher_score_beats_lower_score() -> None:
    crop = _texture(128)
    assert crop_quality(crop, 0.95) > crop_quality(crop, 0.6)


def test_symmetric_crop_beats_asymmetric_crop() -> None:
    frontal = _texture(128, seed=2, symmetric=True)
    profile = _texture(128, seed=2, symmetric=False)
    assert crop_quality(frontal, 0.9) > 1.3 * crop_quality(profile, 0.9)


@pytest.mark.parametrize("box", [[50, 40, 150, 160], [-30, -30, 60, 60], [10, 10, 400, 300]])
def test_upper_bound_is_never_exceeded(box: list[float]) -> None:
    frame = np.zeros((240, 320, 3), dtype=np.uint8)
    frame[:] = _texture(320)[:240]
    box_array = np.array(box, dtype=float)
    quality = crop_quality(extract_crop(frame, box_array, 0.2), 0.8)
    assert 0.0 < quality <= quality_upper_bound(frame.shape, box_array, 0.8, 0.2) <= 0.8
