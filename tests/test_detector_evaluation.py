"""Average precision (VOC all-point) and the per-size-bucket evaluation of detections."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from detectors.datasets.sample import FaceSample
from detectors.evaluation import SIZE_BUCKETS, average_precision, evaluate_detections
from detectors.evaluation.ap import match_image


def _sample(boxes: list, ignore: list | None = None) -> FaceSample:
    return FaceSample(
        Path("img.jpg"),
        np.asarray(boxes, np.float32).reshape(-1, 4),
        np.asarray(ignore or [], np.float32).reshape(-1, 4),
    )


def _dets(rows: list) -> np.ndarray:
    return np.asarray(rows, np.float32).reshape(-1, 5)


# ------------------------------------------------------------------------------------ average_precision


def test_average_precision_perfect_curve() -> None:
    assert average_precision(np.array([0.5, 1.0]), np.array([1.0, 1.0])) == pytest.approx(1.0)
    assert average_precision(np.array([1 / 3, 2 / 3, 1.0]), np.ones(3)) == pytest.approx(1.0)


def test_average_precision_hand_example() -> None:
    # 3 faces; detections by score: TP, FP, TP, FP
    recall = np.array([1, 1, 2, 2]) / 3
    precision = np.array([1, 1 / 2, 2 / 3, 2 / 4])
    # all-point interpolation: 1/3 * 1 + 1/3 * 2/3 + 1/3 * 0 (never reaches recall 1)
    assert average_precision(recall, precision) == pytest.approx(5 / 9)


def test_average_precision_uses_the_precision_envelope() -> None:
    # FP first, then TP, TP for 2 faces: precision 0, 1/2, 2/3 -> envelope 2/3 on the whole recall range
    recall = np.array([0, 1, 2]) / 2
    precision = np.array([0, 1 / 2, 2 / 3])
    assert average_precision(recall, precision) == pytest.approx(2 / 3)


def test_average_precision_empty_curve_is_zero() -> None:
    assert average_precision(np.zeros(0), np.zeros(0)) == 0.0


# -------------------------------------------------------------------------------------- match_image


def test_match_image_labels() -> None:
    faces = np.array([[0, 0, 40, 40], [100, 0, 140, 40]], np.float32)
    ignore = np.array([[200, 0, 240, 40]], np.float32)
    dets = _dets(
        [
            [0, 0, 40, 40, 0.9],  # TP
            [1, 1, 41, 41, 0.8],  # duplicate of a taken face -> FP
            [201, 0, 241, 40, 0.7],  # on an ignore region -> dropped
            [100, 0, 139, 40, 0.6],  # TP
            [300, 300, 340, 340, 0.5],  # FP
        ]
    )
    assert match_image(dets, faces, ignore).tolist() == [1, 0, -1, 1, 0]
    assert match_image(_dets([]), faces, ignore).tolist() == []
    assert match_image(dets[:1], np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32)).tolist() == [0]


def test_match_image_prefers_highest_iou_untaken_face() -> None:
    faces = np.array([[0, 0, 40, 40], [4, 0, 44, 40]], np.float32)
    dets = _dets([[4, 0, 44, 40, 0.9], [0, 0, 40, 40, 0.8]])
    assert match_image(dets, faces, np.zeros((0, 4), np.float32)).tolist() == [1, 1]


# --------------------------------------------------------------------------------- evaluate_detections

SIZES = {"big": 100, "medium": 40, "small": 20, "tiny": 10}


def _faces_of_every_size() -> list[list[float]]:
    boxes, x = [], 0
    for size in SIZES.values():
        boxes.append([x, 10, x + size, 10 + size])
        x += size + 50
    return boxes


def test_bucket_edges() -> None:
    assert SIZE_BUCKETS["16-32"] == (16.0, 32.0)
    assert set(SIZE_BUCKETS) == {"all", ">=64", "32-64", "16-32", "<16"}


def test_perfect_detections_give_ap_one_in_every_bucket_with_faces() -> None:
    samples = [_sample(_faces_of_every_size()), _sample([[5, 5, 69, 69]]), _sample([])]
    detections = [
        _dets([b + [0.9 - 0.1 * i] for i, b in enumerate(_faces_of_every_size())]),
        _dets([[5, 5, 69, 69, 0.3]]),
        _dets([]),
    ]
    results = evaluate_detections(samples, detections)
    assert set(results) == set(SIZE_BUCKETS)
    expected_faces = {"all": 5, ">=64": 2, "32-64": 1, "16-32": 1, "<16": 1}
    for name, count in expected_faces.items():
        assert results[name]["faces"] == count
        assert results[name]["ap"] == pytest.approx(1.0), name


def test_bucket_without_faces_is_nan() -> None:
    results = evaluate_detections([_sample([[0, 0, 100, 100]])], [_dets([[0, 0, 100, 100, 0.9]])])
    assert results["all"]["ap"] == pytest.approx(1.0)
    assert results["<16"]["faces"] == 0 and math.isnan(results["<16"]["ap"])


def test_detection_on_a_difficult_box_is_neither_tp_nor_fp() -> None:
    sample = _sample([[0, 0, 50, 50]], ignore=[[100, 100, 150, 150]])
    with_ignored = evaluate_detections([sample], [_dets([[100, 100, 150, 150, 0.95], [0, 0, 50, 50, 0.5]])])
    assert with_ignored["all"]["ap"] == pytest.approx(1.0)  # would be 0.5 if counted as a FP
    assert with_ignored["all"]["faces"] == 1  # and not a face to find either
    missed = evaluate_detections([sample], [_dets([[0, 0, 50, 50, 0.5]])])
    assert missed["all"]["ap"] == pytest.approx(1.0)


def test_a_20px_face_counts_only_in_16_32_and_all() -> None:
    results = evaluate_detections([_sample([[10, 10, 30, 30]])], [_dets([])])
    counts = {name: values["faces"] for name, values in results.items()}
    assert counts == {"all": 1, ">=64": 0, "32-64": 0, "16-32": 1, "<16": 0}
    assert results["16-32"]["ap"] == 0.0 and results["all"]["ap"] == 0.0


def test_unmatched_large_detection_does_not_hurt_the_small_bucket() -> None:
    sample = _sample([[10, 10, 30, 30]])
    detections = [_dets([[200, 200, 300, 300, 0.9], [10, 10, 30, 30, 0.8]])]  # 100 px FP ranked first
    results = evaluate_detections([sample], detections)
    assert results["16-32"]["ap"] == pytest.approx(1.0)
    assert results["all"]["ap"] == pytest.approx(0.5)  # but it is a false positive overall


def test_faces_of_other_buckets_are_ignored_not_false_positives() -> None:
    sample = _sample([[0, 0, 100, 100], [200, 0, 220, 20]])
    detections = [_dets([[0, 0, 100, 100, 0.9], [200, 0, 220, 20, 0.8]])]
    results = evaluate_detections([sample], detections)
    assert results["16-32"]["ap"] == pytest.approx(1.0)
    assert results[">=64"]["ap"] == pytest.approx(1.0)


def test_duplicates_count_as_false_positives() -> None:
    sample = _sample([[0, 0, 40, 40], [100, 0, 140, 40]])
    detections = [_dets([[0, 0, 40, 40, 0.9], [1, 0, 41, 40, 0.8], [100, 0, 140, 40, 0.7]])]
    results = evaluate_detections([sample], detections)
    # TP, FP, TP: recall 1/2, 1/2, 1; precision 1, 1/2, 2/3 -> 1/2 * 1 + 1/2 * 2/3
    assert results["all"]["ap"] == pytest.approx(5 / 6)
    assert results["32-64"]["ap"] == pytest.approx(5 / 6)


def test_scores_are_ranked_across_images() -> None:
    samples = [_sample([[0, 0, 40, 40]]), _sample([[0, 0, 40, 40]])]
    detections = [_dets([[0, 0, 40, 40, 0.5]]), _dets([[200, 200, 240, 240, 0.9], [0, 0, 40, 40, 0.4]])]
    # global ranking: FP (0.9), TP (0.5), TP (0.4) -> precision 0, 1/2, 2/3 -> AP 2/3
    assert evaluate_detections(samples, detections)["all"]["ap"] == pytest.approx(2 / 3)


def test_unsorted_detections_are_sorted_per_image() -> None:
    sample = _sample([[0, 0, 40, 40]])
    # the lower-scored duplicate comes first in the array: the 0.9 one must still be the TP
    results = evaluate_detections([sample], [_dets([[1, 0, 41, 40, 0.2], [0, 0, 40, 40, 0.9]])])
    assert results["all"]["ap"] == pytest.approx(1.0)


def test_one_detection_array_per_sample_is_required() -> None:
    with pytest.raises(ValueError):
        evaluate_detections([_sample([])], [])


def test_operating_point_precision_recall_and_best_f1() -> None:
    from detectors.evaluation.operating_point import best_f1_point, point_at

    faces = np.array([[0, 0, 40, 40], [100, 100, 140, 140], [200, 200, 240, 240]], np.float32)
    sample = FaceSample(Path("x.jpg"), faces, np.zeros((0, 4), np.float32))
    detections = np.array([
        [0, 0, 40, 40, 0.9],        # TP
        [300, 300, 340, 340, 0.8],  # FP
        [100, 100, 140, 140, 0.6],  # TP
        [400, 0, 440, 40, 0.3],     # FP
        [200, 200, 240, 240, 0.2],  # TP
    ], np.float32)
    at_half = point_at([sample], [detections], 0.5)
    assert (at_half.precision, at_half.recall) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert point_at([sample], [detections], 0.95).recall == 0.0
    best = best_f1_point([sample], [detections])
    # thresholds <= 0.2 keep all five: P 3/5, R 1 -> F1 0.75; 0.35-0.6 keep three: F1 2/3
    assert best.threshold == pytest.approx(0.2) and best.f1 == pytest.approx(0.75)
