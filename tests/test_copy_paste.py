"""Copy-paste of small faces: pasted copies are small, labelled, clear of every face and ignore region,
and show the face they were cut from."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.training.augment import AugmentConfig
from detectors.training.copy_paste import MAX_PASTES, PASTED_SIDES, paste_small_faces


def _crop() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grey 512 px crop with one 100x120 face painted in a gradient and one ignore region."""
    image = np.full((512, 512, 3), 90, np.uint8)
    image[100:220, 100:200] = np.linspace(0, 255, 100, dtype=np.uint8)[None, :, None]
    return image, np.array([[100, 100, 200, 220]], np.float32), np.array([[300, 300, 360, 360]], np.float32)


def _touches(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1])


@pytest.mark.parametrize("seed", range(8))
def test_pasted_faces_are_small_labelled_and_clear_of_the_rest(seed: int) -> None:
    image, boxes, ignore = _crop()
    out, new_boxes, new_ignore = paste_small_faces(image, boxes, ignore, np.random.default_rng(seed), 1.0)
    pasted = new_boxes[1:]
    assert 1 <= len(pasted) <= MAX_PASTES
    np.testing.assert_array_equal(new_boxes[0], boxes[0])
    np.testing.assert_array_equal(new_ignore, ignore)
    sides = np.maximum(pasted[:, 2] - pasted[:, 0], pasted[:, 3] - pasted[:, 1])
    assert np.all(sides >= PASTED_SIDES[0] - 1) and np.all(sides <= PASTED_SIDES[1] + 1)
    for index, box in enumerate(pasted):
        assert not _touches(box, boxes[0]) and not _touches(box, ignore[0])
        assert not any(_touches(box, other) for other in np.delete(pasted, index, axis=0))
        x1, y1, x2, y2 = box.astype(int)
        inside = out[y1:y2, x1:x2, 0].astype(float)
        assert inside.std() > 20, "the pasted box should show the gradient face, not the grey background"
    assert np.array_equal(image, _crop()[0]), "the input image is not modified"


def test_no_paste_without_a_face_large_enough_or_at_probability_zero() -> None:
    image, boxes, ignore = _crop()
    small = np.array([[10, 10, 30, 30]], np.float32)  # 20 px: under the 24 px a source needs
    out, kept, _ = paste_small_faces(image, small, ignore, np.random.default_rng(0), 1.0)
    assert out is image and len(kept) == 1
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    out, kept, _ = paste_small_faces(image, boxes, ignore, rng, 0.0)
    assert out is image and len(kept) == 1 and rng.bit_generator.state == state  # no random number drawn


def test_off_by_default_in_the_augmentation() -> None:
    assert AugmentConfig().copy_paste_probability == 0.0


def test_training_crops_get_pasted_faces_when_asked(tmp_path) -> None:
    """Through the dataset, as training uses it: the same crop, plus labelled pasted faces."""
    import cv2

    from detectors.datasets.sample import FaceSample
    from detectors.training.data import AugmentedFaceSet

    path = tmp_path / "face.png"
    cv2.imwrite(str(path), np.random.default_rng(2).integers(0, 256, (400, 400, 3), dtype=np.uint8))
    sample = FaceSample(image_path=path, boxes=np.array([[100.0, 100, 300, 300]], np.float32),
                        ignore=np.zeros((0, 4), np.float32))
    plain = AugmentedFaceSet([sample], AugmentConfig(size=256), seed=3).augmented(0)
    pasted = AugmentedFaceSet([sample], AugmentConfig(size=256, copy_paste_probability=1.0), seed=3).augmented(0)
    assert len(pasted[1]) > len(plain[1])
    np.testing.assert_array_equal(pasted[1][: len(plain[1])], plain[1])
