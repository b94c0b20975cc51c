"""Data-anchor-sampling augmentation (PyramidBox) used to train AInnoFace (and optionally FaceBoxes)."""

from __future__ import annotations

import numpy as np

from detectors.training.anchor_sampling import augment_with_das, data_anchor_sampling
from detectors.training.augment import AugmentConfig, augment


def test_data_anchor_sampling_rescales_the_face_to_an_anchor_range() -> None:
    rng = np.random.default_rng(0)
    image = np.random.default_rng(1).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    face = np.array([[100, 100, 140, 150]], np.float32)  # size 44.7: nearest anchor 32 -> targets 8..128 px
    ignore = np.array([[300, 20, 330, 60]], np.float32)
    sizes = []
    for _ in range(200):
        out_image, boxes, out_ignore = data_anchor_sampling(image, face, ignore, rng, 160)
        assert out_image.shape == (160, 160, 3) and out_image.dtype == np.uint8
        assert boxes.shape == (1, 4)  # the sampled face always stays in the crop
        assert np.all(boxes >= 0) and np.all(boxes <= 160) and out_ignore.shape[1] == 4
        sizes.append(np.sqrt((boxes[0, 2] - boxes[0, 0]) * (boxes[0, 3] - boxes[0, 1])))
    sizes = np.asarray(sizes)
    assert sizes.min() >= 7 and sizes.max() <= 135
    assert (sizes < 32).mean() > 0.25 and (sizes > 64).mean() > 0.1  # biased small, large still possible
    assert data_anchor_sampling(image, np.zeros((0, 4), np.float32), ignore, rng, 160) is None


def test_augment_with_das_output_contract() -> None:
    rng = np.random.default_rng(2)
    image = np.random.default_rng(3).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    boxes = np.array([[10, 10, 20, 22], [150, 60, 230, 160]], np.float32)
    for index in range(40):
        out_image, out_boxes, out_ignore = augment_with_das(
            image, boxes if index % 4 else boxes[:0], np.zeros((0, 4), np.float32), rng, AugmentConfig(size=128, das_probability=0.5)
        )
        assert out_image.shape == (128, 128, 3)
        assert out_boxes.dtype == np.float32 and out_boxes.shape[1] == 4 and out_ignore.shape[1] == 4
        sizes = np.sqrt((out_boxes[:, 2] - out_boxes[:, 0]) * (out_boxes[:, 3] - out_boxes[:, 1]))
        assert np.all(sizes >= 6.0)  # smaller faces became ignore regions


def test_probability_zero_is_exactly_the_square_crop_augmentation() -> None:
    image = np.random.default_rng(4).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    boxes = np.array([[10, 10, 40, 44], [150, 60, 230, 160]], np.float32)
    no_ignore = np.zeros((0, 4), np.float32)
    config = AugmentConfig(size=128)
    for seed in range(10):
        expected = augment(image, boxes, no_ignore, np.random.default_rng(seed), config)
        got = augment_with_das(image, boxes, no_ignore, np.random.default_rng(seed), config)
        for want, have in zip(expected, got):
            np.testing.assert_array_equal(want, have)


def test_probability_one_always_samples_around_a_face() -> None:
    # a 300x400 image with one 20 px face: square crops keep its size ratio to the image, DAS
    # rescales it to 8-128 px in a 160 crop whatever the image size; only DAS pads with the mean
    image = np.full((300, 400, 3), 255, np.uint8)
    face = np.array([[190, 140, 210, 160]], np.float32)
    config = AugmentConfig(size=160, das_probability=1.0)
    rng = np.random.default_rng(5)
    sizes = []
    for _ in range(30):
        _, out_boxes, _ = augment_with_das(image, face, np.zeros((0, 4), np.float32), rng, config)
        if len(out_boxes):
            sizes.append(float(np.sqrt(np.prod(out_boxes[0, 2:] - out_boxes[0, :2]))))
    square_crop_sizes = {20 * 160 / (300 * scale) for scale in (0.3, 0.45, 0.6, 0.8, 1.0)}
    assert len(sizes) >= 25
    assert sum(min(abs(size - known) for known in square_crop_sizes) > 0.5 for size in sizes) >= 20
