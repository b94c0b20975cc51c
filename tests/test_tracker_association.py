"""Gated costs (IoU, centre distance, appearance) and the Hungarian assignment."""

from __future__ import annotations

import numpy as np

from tracker.association import add_appearance, assign, distance_cost, iou_cost


def _box(x: float, y: float = 0.0, size: float = 10.0) -> list[float]:
    return [x, y, x + size, y + size]


def _pairs(matches: np.ndarray) -> set[tuple[int, int]]:
    return {(int(t), int(d)) for t, d in matches}


def test_pairs_below_iou_gate_are_never_matched() -> None:
    tracks = np.array([_box(0), _box(100)], dtype=float)
    # IoU with track 0: overlap 2x10 = 20 / 180 = 0.11; with track 1: 6x10 = 60 / 140 = 0.43
    detections = np.array([_box(8), _box(104)], dtype=float)
    gated = iou_cost(tracks, detections, iou_gate=0.2)
    np.testing.assert_allclose(gated.cost[[0, 1], [0, 1]], [1 - 20 / 180, 1 - 60 / 140])
    result = assign(gated.cost, gated.allowed)
    assert _pairs(result.matches) == {(1, 1)}
    assert result.unmatched_tracks.tolist() == [0]
    assert result.unmatched_detections.tolist() == [0]
    # with a looser gate the same pair is matched
    loose = iou_cost(tracks, detections, iou_gate=0.1)
    assert _pairs(assign(loose.cost, loose.allowed).matches) == {(0, 0), (1, 1)}


def test_assignment_is_globally_optimal() -> None:
    # greedy would give detection 0 to track 0 (IoU 0.82) and leave track 1 without a match
    tracks = np.array([_box(0), _box(3)], dtype=float)
    detections = np.array([_box(1), _box(-4)], dtype=float)
    gated = iou_cost(tracks, detections, iou_gate=0.2)
    assert _pairs(assign(gated.cost, gated.allowed).matches) == {(0, 1), (1, 0)}


def test_distance_cost_matches_within_radius_regardless_of_overlap() -> None:
    tracks = np.array([_box(0), _box(100)], dtype=float)
    detections = np.array([_box(15), _box(125)], dtype=float)  # 1.5 and 2.5 box heights away, IoU 0
    gated = distance_cost(tracks, detections, radius=2.0)
    assert gated.allowed.tolist() == [[True, False], [False, False]]
    np.testing.assert_allclose(gated.cost[0, 0], 1.5 / 2.0)
    assert _pairs(assign(gated.cost, gated.allowed).matches) == {(0, 0)}
    assert not distance_cost(tracks, detections, radius=1.0).allowed.any()
    per_track = distance_cost(tracks, detections, radius=np.array([1.0, 3.0]))  # one radius per track
    assert per_track.allowed.tolist() == [[False, False], [False, True]]
    np.testing.assert_allclose(per_track.cost[1, 1], 2.5 / 3.0)


def test_closest_track_wins_on_distance() -> None:
    tracks = np.array([_box(0), _box(40)], dtype=float)
    detections = np.array([_box(25)], dtype=float)  # 2.5 heights from track 0, 1.5 from track 1
    gated = distance_cost(tracks, detections, radius=3.0)
    assert _pairs(assign(gated.cost, gated.allowed).matches) == {(1, 0)}


def test_appearance_breaks_motion_tie() -> None:
    tracks = np.array([_box(0), _box(0)], dtype=float)  # two faces at the same place (crossing)
    detections = np.array([_box(1), _box(1)], dtype=float)
    appearance = np.array([[0.9, 0.1], [0.1, 0.9]])  # track 0 looks like detection 1
    gated = add_appearance(iou_cost(tracks, detections, 0.2), appearance, weight=0.3)
    assert gated.allowed.all()  # no appearance gate unless asked
    assert _pairs(assign(gated.cost, gated.allowed).matches) == {(0, 1), (1, 0)}


def test_appearance_gate_forbids_differently_coloured_pairs() -> None:
    tracks = np.array([_box(0), _box(40)], dtype=float)
    detections = np.array([_box(25)], dtype=float)  # closer to track 1 ...
    appearance = np.array([[0.2], [0.8]])  # ... but coloured like track 0
    motion = distance_cost(tracks, detections, radius=3.0)
    gated = add_appearance(motion, appearance, weight=0.3, max_distance=0.5)
    assert gated.allowed.tolist() == [[True], [False]]
    assert _pairs(assign(gated.cost, gated.allowed).matches) == {(0, 0)}
    assert _pairs(assign(motion.cost, motion.allowed).matches) == {(1, 0)}


def test_assign_handles_empty_inputs() -> None:
    for shape in ((0, 3), (2, 0), (0, 0)):
        result = assign(np.zeros(shape), np.zeros(shape, dtype=bool))
        assert result.matches.shape == (0, 2)
        assert len(result.unmatched_tracks) == shape[0] and len(result.unmatched_detections) == shape[1]
