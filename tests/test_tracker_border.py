"""Faces cut by the frame border: cut sides, completed full boxes, visible fractions."""

from __future__ import annotations

import numpy as np

from tracker.border import complete_boxes, cut_sides, visible_fractions

WIDTH, HEIGHT = 640, 480


def test_cut_sides_within_tolerance_of_the_edges() -> None:
    boxes = np.array(
        [
            [100, 100, 180, 200],  # well inside
            [-5, 100, 75, 200],  # beyond the left edge
            [3, 100, 83, 200],  # 3 px inside, tolerance 8 px: cut
            [12, 100, 92, 200],  # 12 px inside: not cut
            [600, 430, 640, 480],  # right and bottom corner
        ],
        dtype=float,
    )
    cut = cut_sides(boxes, WIDTH, HEIGHT, tolerance=0.1)
    expected = [
        [False, False, False, False],
        [True, False, False, False],
        [True, False, False, False],
        [False, False, False, False],
        [False, False, True, True],
    ]
    np.testing.assert_array_equal(cut, expected)
    assert cut_sides(np.zeros((0, 4)), WIDTH, HEIGHT, 0.1).shape == (0, 4)


def test_one_cut_axis_is_completed_from_the_other_and_the_aspect() -> None:
    boxes = np.array([[0, 100, 30, 200], [200, 440, 280, 480], [610, 100, 640, 200]], dtype=float)
    cut = cut_sides(boxes, WIDTH, HEIGHT, 0.1)
    full = complete_boxes(boxes, cut, aspect=0.8)
    # left: width 0.8 * 100 = 80 ending at x2 = 30; bottom: height 80 / 0.8 = 100 starting at y1 = 440
    np.testing.assert_allclose(full, [[-50, 100, 30, 200], [200, 440, 280, 540], [610, 100, 690, 200]])


def test_corner_uses_the_height_hint_and_never_shrinks_a_box() -> None:
    corner = np.array([[0, 0, 40, 30]], dtype=float)
    cut = cut_sides(corner, WIDTH, HEIGHT, 0.1)
    np.testing.assert_allclose(complete_boxes(corner, cut, 0.8, height_hint=100.0), [[-40, -70, 40, 30]])
    # without a hint the visible width gives the height: 40 / 0.8 = 50
    np.testing.assert_allclose(complete_boxes(corner, cut, 0.8), [[0, -20, 40, 30]])
    # a visible extent larger than the inferred one is kept
    wide = np.array([[0, 100, 120, 200]], dtype=float)
    np.testing.assert_allclose(complete_boxes(wide, cut_sides(wide, WIDTH, HEIGHT, 0.1), 0.8), wide)


def test_uncut_and_frame_spanning_boxes_are_unchanged() -> None:
    boxes = np.array([[100, 100, 180, 200], [0, 100, 640, 200]], dtype=float)
    cut = cut_sides(boxes, WIDTH, HEIGHT, 0.1)
    np.testing.assert_allclose(complete_boxes(boxes, cut, np.array([0.8, 0.8]), np.array([0.0, 0.0])), boxes)


def test_visible_fractions() -> None:
    boxes = np.array([[100, 100, 200, 200], [-50, 0, 50, 100], [700, 0, 800, 100], [10, 10, 10, 20]], dtype=float)
    np.testing.assert_allclose(visible_fractions(boxes, WIDTH, HEIGHT), [1.0, 0.5, 0.0, 0.0])
