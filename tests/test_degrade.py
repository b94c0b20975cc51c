"""Training degradations: motion blur, defocus and face masks change the crop, never the labels or the recipe without them."""

from __future__ import annotations

import cv2
import numpy as np

from detectors.training.augment import AugmentConfig
from detectors.training.data import AugmentedFaceSet
from detectors.training.degrade import MIN_MASKED_FACE, degrade, motion_blur_kernel, paint_face_mask, random_blur
from detectors.datasets import FaceSample


def _detail(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_motion_blur_kernel_is_a_normalised_line_at_its_angle() -> None:
    horizontal = motion_blur_kernel(9, 0.0)
    assert abs(float(horizontal.sum()) - 1.0) < 1e-6
    np.testing.assert_allclose(horizontal[4], np.full(9, 1 / 9), rtol=1e-6)  # the middle row only
    assert horizontal[:4].sum() == 0 and horizontal[5:].sum() == 0
    vertical = motion_blur_kernel(9, np.pi / 2)
    np.testing.assert_allclose(vertical[:, 4], np.full(9, 1 / 9), rtol=1e-6)


def test_random_blur_removes_detail_and_keeps_brightness() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    for seed in range(6):
        blurred, extent = random_blur(image, np.random.default_rng(seed))
        assert 1.8 <= extent <= 17
        assert blurred.shape == image.shape and blurred.dtype == np.uint8
        assert _detail(blurred) < 0.5 * _detail(image)
        assert abs(float(blurred.mean()) - float(image.mean())) < 2.0


def test_a_face_mask_covers_the_lower_face_only() -> None:
    image = np.full((100, 100, 3), 128, np.uint8)
    paint_face_mask(image, np.array([20.0, 20, 80, 80]), np.random.default_rng(0))
    changed = np.abs(image.astype(int) - 128).max(axis=2) > 0
    rows, columns = np.nonzero(changed)
    assert changed.sum() > 0.25 * 60 * 60  # at least a quarter of the face
    assert rows.min() >= 20 + 0.45 * 60 - 1 and rows.max() <= 80  # from about the nose down
    assert columns.min() >= 20 and columns.max() <= 80  # inside the box


def test_degrade_with_zero_probabilities_is_the_identity_and_draws_nothing() -> None:
    image = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    rng = np.random.default_rng(5)
    boxes, ignore = np.array([[10.0, 10, 50, 50]]), np.zeros((0, 4))
    out, kept, ignored = degrade(image, boxes, ignore, rng, 0.0, 0.0, smeared_face_ratio=3.0)
    assert out is image and kept is boxes and ignored is ignore
    assert rng.random() == np.random.default_rng(5).random()


def test_masks_only_on_faces_big_enough_and_the_input_is_not_changed() -> None:
    image = np.full((100, 100, 3), 128, np.uint8)
    tiny = np.array([[5.0, 5, 5 + MIN_MASKED_FACE - 1, 5 + MIN_MASKED_FACE - 1]])
    no_ignore = np.zeros((0, 4))
    assert (degrade(image, tiny, no_ignore, np.random.default_rng(0), 0.0, 1.0)[0] == 128).all()
    masked = degrade(image, np.array([[20.0, 20, 80, 80]]), no_ignore, np.random.default_rng(0), 0.0, 1.0)[0]
    assert (image == 128).all() and (masked != 128).any()


def test_training_crops_are_degraded_with_their_labels_unchanged(tmp_path) -> None:
    path = tmp_path / "face.png"
    rng = np.random.default_rng(2)
    cv2.imwrite(str(path), rng.integers(0, 256, (200, 200, 3), dtype=np.uint8))
    sample = FaceSample(image_path=path, boxes=np.array([[60.0, 60, 140, 140]], np.float32),
                        ignore=np.zeros((0, 4), np.float32))
    plain = AugmentedFaceSet([sample], AugmentConfig(size=128), seed=3)
    degraded = AugmentedFaceSet([sample], AugmentConfig(size=128, blur_probability=1.0, mask_probability=1.0), seed=3)
    image, boxes, ignore = plain.augmented(0)
    image2, boxes2, ignore2 = degraded.augmented(0)
    np.testing.assert_array_equal(boxes, boxes2)
    np.testing.assert_array_equal(ignore, ignore2)
    assert _detail(image2) < 0.5 * _detail(image)


def test_faces_smeared_past_recognition_become_ignore_regions() -> None:
    image = np.random.default_rng(3).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    boxes = np.array([[10.0, 10, 18, 18], [20.0, 20, 120, 120]], np.float32)  # 8 px and 100 px faces
    ignore = np.array([[0.0, 0, 4, 4]], np.float32)
    for seed in range(8):  # every blur's extent is 1.8-17 px: the 8 px face is smeared at ratio 5 (8 < 5 * 1.8), never the 100 px one (100 > 5 * 17)
        out, kept, ignored = degrade(image, boxes, ignore, np.random.default_rng(seed), 1.0, 0.0, smeared_face_ratio=5.0)
        np.testing.assert_array_equal(kept, boxes[1:])
        np.testing.assert_array_equal(ignored, np.concatenate([ignore, boxes[:1]]))
        _, kept, ignored = degrade(image, boxes, ignore, np.random.default_rng(seed), 1.0, 0.0)  # ratio 0: all kept
        np.testing.assert_array_equal(kept, boxes)
        np.testing.assert_array_equal(ignored, ignore)
