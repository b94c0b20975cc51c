"""FaceTracker.follow (windows between full scans), end_shot (cuts) and the window geometry."""

from __future__ import annotations

import numpy as np

from tracker import FaceTracker, TrackerConfig
from tracker.follow import follow_windows, merge_window_detections
from tracker.geometry import iou_matrix

FRAME = np.full((480, 640, 3), 110, np.uint8)


def _zigzag(frames: int, speed: float = 25.0, size: float = 60.0) -> list[np.ndarray]:
    """A face crossing the frame fast (40 % of its width per frame) and turning back every 8 frames
    (the constant-velocity prediction then overshoots by almost a face width)."""
    boxes, x, direction = [], 100.0, 1.0
    for index in range(frames):
        if index and index % 8 == 0:
            direction = -direction
        x += direction * speed
        boxes.append(np.array([x, 200.0, x + size, 200.0 + size]))
    return boxes


def _window_oracle(truth: list[np.ndarray], calls: list[np.ndarray]):
    """A window detector that finds the true face when its centre lies in a window."""

    def detect_windows(frame: np.ndarray, windows: np.ndarray) -> list[np.ndarray]:
        calls.append(np.array(windows))
        box = truth[0]
        centre = (box[:2] + box[2:]) / 2
        return [np.array([[*box, 0.9]]) if (w[:2] <= centre).all() and (centre <= w[2:]).all() else np.zeros((0, 5))
                for w in windows]

    return detect_windows


def _run(boxes: list[np.ndarray], scan_every: int, follow: bool, config: TrackerConfig | None = None):
    tracker = FaceTracker(config or TrackerConfig(), fps=25.0)
    outputs, calls, current = [], [], [boxes[0]]
    for index, box in enumerate(boxes):
        current[0] = box
        if index % scan_every == 0:
            faces = tracker.update(np.array([[*box, 0.9]]), FRAME)
        elif follow:
            faces = tracker.follow(FRAME, _window_oracle(current, calls))
        else:
            faces = tracker.update(None, FRAME)
        outputs.append(faces)
    return outputs, calls


def test_follow_keeps_a_fast_turning_face_between_scans() -> None:
    boxes = _zigzag(60)
    followed, calls = _run(boxes, scan_every=10, follow=True)
    assert calls, "the window detector was never asked"
    for faces, box in zip(followed, boxes, strict=True):
        assert [face.track_id for face in faces] == [1]
        assert faces[0].detected and iou_matrix(faces[0].measured_box[None], box[None])[0, 0] > 0.99
        assert iou_matrix(faces[0].box[None], box[None])[0, 0] > 0.4  # the Kalman estimate lags a turn a little
    predicted, _ = _run(boxes, scan_every=10, follow=False)
    worst = min(iou_matrix(f[0].box[None], b[None])[0, 0] for f, b in zip(predicted, boxes) if f)
    assert worst < 0.3, "without windows the prediction should drift off this face"


def test_a_track_not_found_in_its_window_is_missed_then_hidden_and_no_track_starts() -> None:
    config = TrackerConfig(max_coast_frames=2)
    tracker = FaceTracker(config, fps=25.0)
    box = np.array([100.0, 100.0, 160.0, 160.0])
    tracker.update(np.array([[*box, 0.9]]), FRAME)
    elsewhere = np.array([[400.0, 300.0, 460.0, 360.0, 0.99]])  # a face in no window: followed frames start nothing
    shown = [len(tracker.follow(FRAME, lambda frame, windows: [elsewhere] * len(windows))) for _ in range(4)]
    assert shown == [1, 1, 0, 0]  # coasts for max_coast_frames misses, then hidden
    faces = tracker.update(np.array([[*box, 0.9]]), FRAME)
    assert [face.track_id for face in faces] == [1]  # still known: back at the next scan


def test_windows_are_capped_most_uncertain_first_and_the_rest_is_not_missed() -> None:
    config = TrackerConfig(max_follow_windows=1, follow_lost_seconds=10.0)
    tracker = FaceTracker(config, fps=25.0)
    steady, jumpy = np.array([50.0, 50.0, 110.0, 110.0]), np.array([300.0, 300.0, 360.0, 360.0])
    tracker.update(np.array([[*steady, 0.9], [*jumpy, 0.9]]), FRAME)
    tracker.update(np.array([[*steady, 0.9]]), FRAME)  # the second face is missed once: less certain
    calls: list[np.ndarray] = []
    faces = tracker.follow(FRAME, _window_oracle([jumpy], calls))
    assert len(calls) == 1 and len(calls[0]) == 1
    centre = (calls[0][0, :2] + calls[0][0, 2:]) / 2
    np.testing.assert_allclose(centre, [330.0, 330.0], atol=5.0)  # the uncertain one got the window
    assert sorted(face.track_id for face in faces) == [1, 2]
    assert [face.detected for face in sorted(faces, key=lambda f: f.track_id)] == [False, True]


def test_end_shot_finishes_every_track_and_ids_are_not_reused() -> None:
    tracker = FaceTracker(TrackerConfig(), fps=25.0)
    box = np.array([[100.0, 100.0, 160.0, 160.0, 0.9]])
    for _ in range(3):
        tracker.update(box, FRAME)
    tracker.end_shot()
    assert [finished.track_id for finished in tracker.pop_finished()] == [1]
    faces = tracker.update(box, FRAME)  # the same place after a cut: someone new
    assert [face.track_id for face in faces] == [2]


def test_follow_handles_degenerate_tracks_and_frames_without_tracks() -> None:
    tracker = FaceTracker(TrackerConfig(), fps=25.0)
    assert tracker.follow(FRAME, lambda frame, windows: []) == []  # nothing to follow: no call needed
    tracker.update(np.array([[630.0, 470.0, 639.5, 479.5, 0.9]]), FRAME)  # tiny face in the corner
    windows_seen: list[np.ndarray] = []
    faces = tracker.follow(FRAME, _window_oracle([np.array([700.0, 700.0, 701.0, 701.0])], windows_seen))
    assert np.isfinite(windows_seen[0]).all() and len(faces) <= 1


def test_window_size_grows_with_speed_and_uncertainty_within_bounds() -> None:
    still = np.array([100.0, 100.0, 1.0, 50.0, 0.0, 0.0, 0.0, 0.0])  # 50 px face, at rest
    fast = still.copy()
    fast[4] = 40.0
    windows = follow_windows(np.stack([still, still, fast, fast]), np.array([0.0, 10.0, 0.0, 1000.0]), 2.5, 4.0)
    sides = windows[:, 2] - windows[:, 0]
    np.testing.assert_allclose(sides, [125.0, 125.0, 130.0, 200.0])  # min 2.5x, 50 + 2 * 40, max 4x
    np.testing.assert_allclose((windows[:, :2] + windows[:, 2:]) / 2, np.tile([100.0, 100.0], (4, 1)))


def test_merged_window_detections_keep_each_face_once() -> None:
    face = [100.0, 100.0, 160.0, 160.0]
    merged = merge_window_detections([
        np.array([[*face, 0.8]]),
        np.array([[101.0, 100.0, 161.0, 160.0, 0.9], [300.0, 300.0, 340.0, 340.0, 0.6]]),
        np.zeros((0, 5)),
    ])
    np.testing.assert_allclose(merged[:, 4], [0.9, 0.6])
    assert merge_window_detections([]).shape == (0, 5)


def test_lost_faces_lists_hidden_tracks_for_a_while_at_their_prediction() -> None:
    tracker = FaceTracker(TrackerConfig(max_coast_frames=1), fps=10.0)
    box = np.array([[100.0, 100.0, 160.0, 160.0, 0.9]])
    for _ in range(3):
        tracker.update(box, FRAME)
    empty = np.zeros((0, 5))
    shown = [tracker.update(empty, FRAME) for _ in range(2)][-1]  # missed twice: no longer shown
    assert shown == []
    lost = tracker.lost_faces(1.0, FRAME, shown)
    assert [face.track_id for face in lost] == [1] and not lost[0].detected and lost[0].position_std > 0
    assert tracker.lost_faces(0.1, FRAME, shown) == []  # lost for 0.2 s: older than 0.1 s
    for _ in range(9):
        shown = tracker.update(empty, FRAME)
    assert tracker.lost_faces(1.0, FRAME, shown) == []  # 1.1 s without a measurement


def test_a_weak_detection_in_its_window_keeps_a_tentative_track_but_does_not_confirm_it() -> None:
    box = np.array([100.0, 100.0, 160.0, 160.0])
    weak = np.array([[*box, 0.3]])  # between low_score (0.1) and high_score (0.5)
    strong = np.array([[*box, 0.7]])  # starts a track, under instant_confirm_score (0.8): tentative
    nothing = np.zeros((0, 5))

    def tentative_tracker() -> FaceTracker:
        tracker = FaceTracker(TrackerConfig(), fps=25.0)  # max_tentative_misses 1, min_hits 2
        tracker.update(nothing, FRAME)  # faces of a video's first frame would be confirmed at once
        assert tracker.update(strong, FRAME) == []
        return tracker

    kept = tentative_tracker()
    for _ in range(4):  # weak window detections: kept, hidden, never a miss
        assert kept.follow(FRAME, lambda frame, windows: [weak] * len(windows)) == []
    assert [face.track_id for face in kept.update(strong, FRAME)] == [1]  # the next scan's strong one confirms it
    lost = tentative_tracker()
    for _ in range(2):  # windows that find nothing: two misses end it
        assert lost.follow(FRAME, lambda frame, windows: [nothing] * len(windows)) == []
    assert lost.update(strong, FRAME) == []  # a new tentative track, not the old one confirmed
    assert tentative_tracker().update(weak, FRAME) == []  # at scans weak detections extend confirmed tracks only
