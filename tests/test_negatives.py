"""Hard negatives in training: face-free crops, generated featureless frames, and their share of an epoch."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from detectors.datasets.sample import FaceSample
from detectors.featureless import BENCHMARK_KINDS, BENCHMARK_SIZES, benchmark_frames, random_featureless_frame
from detectors.training.augment import AugmentConfig
from detectors.training.negatives import (
    MIN_CROP_SIDE,
    face_free_crop,
    face_free_window,
    hard_negative,
    negative_count,
    overlaps_any,
)

FACE_VALUE = 255


def _image_with_faces(boxes: np.ndarray, shape: tuple[int, int] = (240, 320)) -> np.ndarray:
    """A dark image whose face boxes are painted white, so a crop shows whether it touches one."""
    image = np.full((*shape, 3), 40, np.uint8)
    for x0, y0, x1, y1 in boxes.astype(int):
        image[y0:y1, x0:x1] = FACE_VALUE
    return image


def test_negative_count_makes_the_requested_share_of_an_epoch() -> None:
    assert negative_count(2393, 0.0) == 0
    assert negative_count(92, 0.08) == 8  # 8 of 100
    assert negative_count(2393, 0.08) / (2393 + negative_count(2393, 0.08)) == pytest.approx(0.08, abs=0.001)
    with pytest.raises(ValueError):
        negative_count(10, 1.0)


def test_overlap_means_shared_area_not_touching_edges() -> None:
    regions = np.array([[10, 10, 20, 20]], np.float32)
    assert overlaps_any(np.array([15, 15, 30, 30], np.float32), regions)
    assert not overlaps_any(np.array([20, 0, 40, 20], np.float32), regions)
    assert not overlaps_any(np.array([0, 0, 5, 5], np.float32), np.zeros((0, 4), np.float32))


def test_face_free_windows_never_overlap_a_face_and_give_up_when_none_fits() -> None:
    faces = np.array([[100, 50, 180, 150], [20, 160, 60, 200]], np.float32)
    for seed in range(50):
        window = face_free_window(240, 320, faces, 64, np.random.default_rng(seed), tries=50)
        assert window is not None and not overlaps_any(window, faces)
        assert window[2] - window[0] == 64 and window[2] <= 320 and window[3] <= 240
    covering = np.array([[0, 0, 320, 240]], np.float32)
    assert face_free_window(240, 320, covering, 64, np.random.default_rng(0)) is None
    assert face_free_window(240, 320, faces, 241, np.random.default_rng(0)) is None


def test_face_free_crops_hold_no_face_pixel_and_come_in_many_sizes() -> None:
    faces = np.array([[100, 50, 180, 150], [200, 120, 230, 160]], np.float32)
    ignore = np.array([[10, 10, 40, 40]], np.float32)
    image = _image_with_faces(np.concatenate([faces, ignore]))
    sides = []
    for seed in range(40):
        crop = face_free_crop(image, np.concatenate([faces, ignore]), np.random.default_rng(seed))
        assert crop is not None and crop.shape[0] == crop.shape[1] >= MIN_CROP_SIDE
        assert (crop != FACE_VALUE).all()
        sides.append(crop.shape[0])
    assert min(sides) < 70 and max(sides) > 100
    assert face_free_crop(image[:40, :40], np.zeros((0, 4), np.float32), np.random.default_rng(0)) is None
    assert face_free_crop(image, np.array([[0, 0, 320, 240]], np.float32), np.random.default_rng(0)) is None


def test_hard_negatives_are_training_sized_and_reproducible() -> None:
    faces = np.array([[100, 50, 180, 150]], np.float32)
    image = _image_with_faces(faces)
    made = [hard_negative(image, faces, np.zeros((0, 4), np.float32), np.random.default_rng(seed), 96)
            for seed in range(12)]
    assert all(negative.shape == (96, 96, 3) and negative.dtype == np.uint8 for negative in made)
    again = hard_negative(image, faces, np.zeros((0, 4), np.float32), np.random.default_rng(3), 96)
    np.testing.assert_array_equal(again, made[3])
    assert len({negative.tobytes() for negative in made}) == len(made)


def test_featureless_frames_cover_every_kind_and_size_deterministically() -> None:
    frames = benchmark_frames()
    assert len(frames) == len(BENCHMARK_KINDS) * len(BENCHMARK_SIZES)
    for name, frame in frames:
        width, height = (int(value) for value in name.split()[1].split("x"))
        assert frame.shape == (height, width, 3) and frame.dtype == np.uint8
    black = dict(frames)["black 640x480"]
    assert not black.any()
    np.testing.assert_array_equal(dict(benchmark_frames())["dark-noise 640x480"], dict(frames)["dark-noise 640x480"])
    for seed in range(20):
        frame = random_featureless_frame(np.random.default_rng(seed), 64, 80)
        assert frame.shape == (64, 80, 3) and frame.dtype == np.uint8


def _write_face_image(folder: Path) -> FaceSample:
    faces = np.array([[20, 20, 70, 70]], np.float32)
    path = folder / "face.png"
    cv2.imwrite(str(path), _image_with_faces(faces, (160, 200)))
    return FaceSample(path, faces)


def test_training_sets_add_negatives_after_every_annotated_image(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from detectors.ainnoface.training import AInnoFaceTrainingSet
    from detectors.faceboxes.config import SMALL2_LEVELS
    from detectors.training.data import FaceTrainingSet

    samples = [_write_face_image(tmp_path)] * 3
    plain = FaceTrainingSet(samples, SMALL2_LEVELS, AugmentConfig(size=64), seed=2)
    mixed = FaceTrainingSet(samples, SMALL2_LEVELS, AugmentConfig(size=64, negative_fraction=0.5), seed=2)
    assert len(plain) == 3 and len(mixed) == 6
    for index in range(3):  # the annotated images are unchanged (same random draws)
        for before, after in zip(plain[index], mixed[index]):
            assert torch.equal(before, after)
        assert (mixed[index][1] == 1).any()
    for index in range(3, 6):
        assert not (mixed[index][1] == 1).any()  # no positive anchor in a negative
    ainnoface = AInnoFaceTrainingSet(samples, AugmentConfig(size=64, negative_fraction=0.25))
    assert len(ainnoface) == 4
    image, boxes, ignore = ainnoface[3]
    assert image.shape == (3, 64, 64) and boxes.shape == (0, 4) and ignore.shape == (0, 4)


def test_a_tiny_training_run_with_negatives(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from detectors.training.train import TrainConfig, train

    images, annotations = tmp_path / "data" / "images", tmp_path / "data" / "annotations"
    images.mkdir(parents=True)
    annotations.mkdir()
    sample = _write_face_image(images)
    (annotations / "face.xml").write_text(
        "<annotation><object><name>face</name><bndbox><xmin>20</xmin><ymin>20</ymin><xmax>70</xmax><ymax>70</ymax>"
        "</bndbox></object></annotation>"
    )
    assert sample.image_path.exists()
    config = TrainConfig(run_dir=str(tmp_path / "run"), variant="small", train_sets=[str(tmp_path / "data")],
                         dev_set=str(tmp_path / "data"), epochs=1, batch_size=2, image_size=64, workers=0, threads=1,
                         negative_fraction=0.5, eval_every=1, bf16=False)
    run_dir = train(config, log=lambda message: None)
    assert (run_dir / "last.pt").exists()
