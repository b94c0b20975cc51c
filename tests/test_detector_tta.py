"""Test-time augmentation (detectors.tta): mirroring, box voting, pass merging, and the runtime option."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from detectors import load_detector
from detectors.boxes import pairwise_iou
from detectors.postprocess import box_vote
from detectors.tta import TestTimeAugmentation, detect_with_tta, mirror_boxes, sizes_kept


def test_mirror_boxes_maps_back_to_the_original_frame() -> None:
    found = np.array([[10, 5, 30, 25, 0.9]], np.float32)
    np.testing.assert_array_equal(mirror_boxes(found, 100), np.array([[70, 5, 90, 25, 0.9]], np.float32))
    np.testing.assert_array_equal(mirror_boxes(mirror_boxes(found, 100), 100), found)


def test_box_vote_averages_overlapping_boxes_by_score_and_keeps_the_top_score() -> None:
    pooled = np.array([
        [0, 0, 10, 10, 0.9],
        [1, 1, 11, 11, 0.3],    # IoU 0.68 with the first: voted in, then suppressed
        [50, 50, 60, 60, 0.8],  # a separate face
    ], np.float32)
    merged = box_vote(pooled, nms_threshold=0.4, vote_iou=0.5)
    assert merged.shape == (2, 5)
    np.testing.assert_allclose(merged[0], [0.25, 0.25, 10.25, 10.25, 0.9], atol=1e-6)
    np.testing.assert_allclose(merged[1], [50, 50, 60, 60, 0.8])
    assert box_vote(np.zeros((0, 5), np.float32), 0.4, 0.5).shape == (0, 5)


def test_box_vote_ignores_neighbours_below_the_score_ratio() -> None:
    pooled = np.array([[0, 0, 10, 10, 0.9], [1, 1, 11, 11, 0.3]], np.float32)
    np.testing.assert_allclose(box_vote(pooled, 0.4, 0.5, min_score_ratio=0.5), [[0, 0, 10, 10, 0.9]])
    np.testing.assert_allclose(box_vote(pooled, 0.4, 0.5, min_score_ratio=0.3)[0, 0], 0.25, atol=1e-6)


def test_box_vote_leaves_boxes_from_max_size_up_alone() -> None:
    small = np.array([[0, 0, 10, 10, 0.9], [1, 1, 11, 11, 0.3]], np.float32)
    large = small * np.array([10, 10, 10, 10, 1], np.float32)  # 100 px: the same geometry, ten times larger
    merged = box_vote(np.concatenate([small, large + 200 * np.array([1, 1, 1, 1, 0], np.float32)]), 0.4, 0.5,
                      max_size=48)
    np.testing.assert_allclose(merged[:, :4], [[0.25, 0.25, 10.25, 10.25], [200, 200, 300, 300]], atol=1e-5)


def test_box_vote_drops_flat_boxes() -> None:
    pooled = np.array([
        [100, 5, 100, 25, 0.7],  # clipped flat at the frame border: no area, no IoU even with itself
        [0, 0, 10, 10, 0.5],
        [2, 0, 12, 10, 0.5],
    ], np.float32)
    merged = box_vote(pooled, nms_threshold=0.4, vote_iou=0.5)
    np.testing.assert_allclose(merged, [[1, 0, 11, 10, 0.5]], atol=1e-5)


def test_detect_with_tta_runs_every_scale_and_mirror_and_merges_duplicates() -> None:
    frame = np.zeros((40, 100, 3), np.uint8)
    frame[:, :50] = 255  # the left half is bright: the mirrored frame has it on the right
    calls = []

    def detect_at(image: np.ndarray, scale: float) -> np.ndarray:
        calls.append((scale, bool(image[0, 0, 0] == 255)))
        left_is_bright = image[0, 0, 0] == 255
        x1 = 10.0 if left_is_bright else 60.0  # "the face" sits in the bright half
        return np.array([[x1, 10, x1 + 30, 30, 0.5 + scale / 10]], np.float32)

    merged = detect_with_tta(frame, detect_at, TestTimeAugmentation(scales=(1.0, 2.0), flip=True), 0.4)
    assert sorted(calls) == [(1.0, False), (1.0, True), (2.0, False), (2.0, True)]
    assert len(merged) == 1  # four passes, one face
    np.testing.assert_allclose(merged[0], [10, 10, 40, 30, 0.7], atol=1e-5)  # mirrored passes mapped back


def test_each_pass_keeps_only_the_face_sizes_it_is_trusted_with() -> None:
    boxes = np.array([[0, 0, 20, 20, 0.9], [0, 0, 100, 100, 0.9], [0, 0, 300, 300, 0.9]], np.float32)
    tta = TestTimeAugmentation(small_below=64, large_above=128)
    assert sizes_kept(boxes, 2.0, 1.0, tta)[:, 2].tolist() == [20]  # enlarged: small faces only
    assert sizes_kept(boxes, 0.5, 1.0, tta)[:, 2].tolist() == [300]  # reduced: large faces only
    assert len(sizes_kept(boxes, 1.0, 1.0, tta)) == 3
    # sizes count at the normal network input: a frame shown at half size halves them
    assert sizes_kept(boxes, 2.0, 0.5, tta)[:, 2].tolist() == [20, 100]


def test_passes_counts_network_runs() -> None:
    assert TestTimeAugmentation().passes == 6
    assert TestTimeAugmentation(scales=(1.0,), flip=False).passes == 1


@pytest.fixture(scope="module")
def shipped_detectors():
    return load_detector("faceboxes", threads=1), load_detector("faceboxes", threads=1, tta=TestTimeAugmentation())


def test_runtime_tta_finds_at_least_the_faces_of_one_pass(shipped_detectors) -> None:
    plain, accurate = shipped_detectors
    capture = cv2.VideoCapture(str(Path(__file__).resolve().parents[1] / "media" / "demo.mp4"))
    frame = capture.read()[1]
    capture.release()
    single, augmented = plain.detect(frame), accurate.detect(frame)
    assert len(single) > 0 and len(augmented) >= 1
    overlaps = pairwise_iou(single[:, :4], augmented[:, :4])
    assert np.all(overlaps.max(axis=1) > 0.5)  # every face of the plain pass is found again
    assert augmented.dtype == np.float32 and np.all(np.diff(augmented[:, 4]) <= 0)


@pytest.mark.parametrize("shape", [(1, 1, 3), (37, 53), (64, 48, 4)])
def test_runtime_tta_accepts_odd_frames(shipped_detectors, shape: tuple[int, ...]) -> None:
    detections = shipped_detectors[1].detect(np.full(shape, 90, np.uint8))
    assert detections.ndim == 2 and detections.shape[1] == 5


def test_runtime_tta_rejects_an_empty_frame(shipped_detectors) -> None:
    with pytest.raises(ValueError, match="empty frame"):
        shipped_detectors[1].detect(np.zeros((0, 10, 3), np.uint8))


def test_accurate_option_loads_the_detector_with_tta(tmp_path: Path) -> None:
    from cli_helpers import run_cli

    from apps.detector_spec import DetectorSpec

    assert DetectorSpec(threads=1, accurate=True).load().tta == TestTimeAugmentation()
    assert DetectorSpec(threads=1).load().tta is None
    capture = cv2.VideoCapture(str(Path(__file__).resolve().parents[1] / "media" / "demo.mp4"))
    cv2.imwrite(str(tmp_path / "frame.jpg"), capture.read()[1])
    capture.release()
    run = run_cli("detect", tmp_path / "frame.jpg", "-o", tmp_path / "out", "--accurate", "--threads", "1")
    assert run.code == 0, run.stderr
    lines = (tmp_path / "out" / "frame.txt").read_text().splitlines()
    assert lines[0] == "frame.jpg" and int(lines[1]) == len(lines) - 2 >= 1
