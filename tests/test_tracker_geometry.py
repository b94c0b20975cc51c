"""Box geometry of the tracker: IoU and centre distance matrices, conversions."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.geometry import centre_distance_matrix, clip_boxes, cxcyah_to_xyxy, iou_matrix, xyxy_to_cxcyah


def test_iou_matrix_matches_hand_computed_values() -> None:
    tracks = np.array([[0, 0, 10, 10], [20, 20, 30, 40]], dtype=float)
    detections = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [2, 2, 6, 6], [100, 100, 110, 110], [20, 30, 30, 50]])
    expected = np.array(
        [
            # 25 / (100 + 100 - 25), identical, 16 / 100 (contained), disjoint, disjoint
            [25 / 175, 1.0, 16 / 100, 0.0, 0.0],
            # track 2 is 10x20 = 200; last detection overlaps [20, 30, 30, 40] = 100 -> 100 / 300
            [0.0, 0.0, 0.0, 0.0, 100 / 300],
        ]
    )
    np.testing.assert_allclose(iou_matrix(tracks, detections), expected, atol=1e-12)


def test_iou_matrix_handles_empty_and_degenerate_boxes() -> None:
    assert iou_matrix(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)
    assert iou_matrix(np.zeros((2, 4)), np.zeros((0, 4))).shape == (2, 0)
    degenerate = np.array([[5, 5, 5, 5]], dtype=float)
    assert iou_matrix(degenerate, degenerate)[0, 0] == 0.0


def test_centre_distance_is_in_the_larger_box_height() -> None:
    tracks = np.array([[0, 0, 10, 20]], dtype=float)  # centre (5, 10), height 20
    # centres (35, 10), (5, 10) and (5, 50) with heights 20, 0 and 40
    detections = np.array([[30, 0, 40, 20], [5, 10, 5, 10], [0, 30, 10, 70]], dtype=float)
    np.testing.assert_allclose(centre_distance_matrix(tracks, detections), [[30 / 20, 0.0, 40 / 40]])


def test_box_conversions_round_trip() -> None:
    box = np.array([10.0, 20.0, 50.0, 70.0])
    state = xyxy_to_cxcyah(box)
    np.testing.assert_allclose(state, [30.0, 45.0, 40.0 / 50.0, 50.0])
    np.testing.assert_allclose(cxcyah_to_xyxy(state), box)
    np.testing.assert_allclose(cxcyah_to_xyxy(np.stack([state, state])), np.stack([box, box]))


@pytest.mark.parametrize(
    ("box", "expected"),
    [([-5, 10, 50, 120], [0, 10, 50, 100]), ([190, -3, 250, 20], [190, 0, 200, 20])],
)
def test_clip_boxes_to_frame(box: list[float], expected: list[float]) -> None:
    np.testing.assert_allclose(clip_boxes(np.array(box, dtype=float), 200, 100), expected)
