"""The flat-box guard: no face where a box holds no structure (black, flat, linear ramps, noise only), every real face kept."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from detectors import load_detector
from detectors.featureless import dark_noise, flat, gradient
from detectors.flat_boxes import MIN_CHECKED_SCORE, MIN_CONTRAST, box_contrast, drop_flat_boxes
from tests.cli_helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "media" / "demo.mp4"
DEMO_GT = ROOT / "media" / "demo_gt.txt"
FADE_START, FADE_FRAMES, BLACK_FRAMES, NOISE_FRAMES = 50, 40, 25, 25


def _demo_frame_and_face() -> tuple[np.ndarray, np.ndarray]:
    """The demo clip's first frame and the ground-truth box (x1, y1, x2, y2) of its face 4, the one
    farthest from the others."""
    capture = cv2.VideoCapture(str(DEMO))
    ok, frame = capture.read()
    capture.release()
    assert ok
    row = next(line.split(",") for line in DEMO_GT.read_text().splitlines() if line.startswith("1,4,"))
    x, y, w, h = (float(value) for value in row[2:6])
    return frame, np.array([x, y, x + w, y + h])


def test_flat_and_noise_boxes_measure_under_the_threshold_and_faces_far_above() -> None:
    rng = np.random.default_rng(0)
    ramps = [gradient(rng, 480, 640) for _ in range(4)]
    for frame in (flat(0)(rng, 480, 640), flat(128)(rng, 480, 640), dark_noise(rng, 480, 640), *ramps):
        for box in ([0, 0, 640, 480], [100, 50, 300, 250], [10, 10, 90, 90]):
            assert box_contrast(frame, np.array(box, dtype=float)) < MIN_CONTRAST
    frame, face = _demo_frame_and_face()
    assert box_contrast(frame, face) > 4 * MIN_CONTRAST
    # A face faded to 10 % of its contrast is still kept; at 1 % it is gone.
    assert box_contrast((frame * 0.1).astype(np.uint8), face) >= MIN_CONTRAST
    assert box_contrast((frame * 0.01).astype(np.uint8), face) < MIN_CONTRAST


def test_box_contrast_of_boxes_outside_or_across_the_frame() -> None:
    frame = np.zeros((100, 100, 3), np.uint8)
    frame[:, 50:] = 200
    assert box_contrast(frame, np.array([200.0, 200, 300, 300])) == 0.0
    # Half 0, half 200 (a step at x = 8 of the 16 thumbnail columns): standard deviation 100, of which a
    # plane explains the share corr(x, step)^2 = (2.0)^2 / (21.25 * 0.25) = 0.7529 (cov of x = 0..15 and
    # [x >= 8] is 11.5 * 0.5 - 7.5 * 0.5 = 2.0, var x = (16^2 - 1) / 12), leaving 100 * sqrt(0.2471) = 49.71.
    assert box_contrast(frame, np.array([-50.0, -50, 150, 150])) == pytest.approx(49.71, abs=0.01)
    assert box_contrast(frame[:, :, 0], np.array([0.0, 0, 100, 100])) == pytest.approx(49.71, abs=0.01)  # greyscale
    ramp = np.tile(np.linspace(0, 255, 100, dtype=np.float32), (100, 1)).astype(np.uint8)
    assert box_contrast(ramp, np.array([0.0, 0, 100, 100])) < 0.5  # a ramp is no structure (only rounding)


def test_boxes_under_the_lowest_score_the_app_uses_are_not_checked() -> None:
    from apps.detector_spec import ANONYMIZE_MASK_SCORE

    assert ANONYMIZE_MASK_SCORE >= MIN_CHECKED_SCORE  # every box the app can use is checked
    black = np.zeros((200, 200, 3), np.uint8)
    faces = np.array([[10, 10, 90, 90, MIN_CHECKED_SCORE], [100, 100, 190, 190, MIN_CHECKED_SCORE - 0.01]], np.float32)
    np.testing.assert_array_equal(drop_flat_boxes(black, faces), faces[1:])
    np.testing.assert_array_equal(drop_flat_boxes(black, faces[1:]), faces[1:])  # none checked


def test_drop_flat_boxes_keeps_the_others_in_order() -> None:
    frame, face = _demo_frame_and_face()
    frame = frame.copy()
    frame[:, 500:] = 0
    faces = np.array([[*face, 0.9], [520, 10, 600, 90, 0.95], [*face + 2, 0.6]], dtype=np.float32)
    kept = drop_flat_boxes(frame, faces)
    np.testing.assert_array_equal(kept, faces[[0, 2]])
    assert drop_flat_boxes(frame, faces[:0]).shape == (0, 5)


@pytest.mark.parametrize("name", ["faceboxes", "ainnoface"])
def test_shipped_detectors_report_no_face_on_flat_and_dark_frames(name: str) -> None:
    detector = load_detector(name, max_side=1024)
    rng = np.random.default_rng(1)
    for height, width in ((480, 640), (720, 1280), (1080, 1920)):
        for make in (flat(0), flat(12), flat(128), flat(255), dark_noise, gradient):
            frame = make(rng, height, width)
            assert (detector.detect(frame)[:, 4] >= detector.recommended_threshold).sum() == 0
            assert all(len(faces) == 0 for faces in detector.detect_windows(frame, np.array([[0, 0, 224, 224]])))


def test_the_guard_can_be_turned_off() -> None:
    guarded = load_detector("faceboxes", score_threshold=0.0)
    network = load_detector("faceboxes", score_threshold=0.0, flat_box_guard=False, verify=False)
    black = np.zeros((480, 640, 3), np.uint8)
    assert guarded.flat_box_guard and not network.flat_box_guard
    checked = guarded.detect(black)[:, 4] >= MIN_CHECKED_SCORE
    assert checked.sum() == 0
    assert (network.detect(black)[:, 4] >= MIN_CHECKED_SCORE).sum() > 0  # the network fires on black frames


def _fade_clip(path: Path) -> tuple[int, int]:
    """One still face (the demo's face 4 on a grey card), a fade to black, black frames and dark
    noise; returns (frames, first black frame number, 1-based)."""
    frame, face = _demo_frame_and_face()
    x1, y1, x2, y2 = face.astype(int)
    w, h = x2 - x1, y2 - y1
    sprite = cv2.resize(frame[y1 - int(0.8 * h) : y2 + int(0.8 * h), x1 - int(0.8 * w) : x2 + int(0.8 * w)], None,
                        fx=1.5, fy=1.5)
    card = np.full((360, 480, 3), 120, np.uint8)
    top, left = (360 - sprite.shape[0]) // 2, (480 - sprite.shape[1]) // 2
    card[top : top + sprite.shape[0], left : left + sprite.shape[1]] = sprite
    rng = np.random.default_rng(0)
    frames = [card] * FADE_START
    frames += [np.round(card * (1 - (index + 1) / FADE_FRAMES)).astype(np.uint8) for index in range(FADE_FRAMES)]
    frames += [np.zeros_like(card)] * BLACK_FRAMES + [dark_noise(rng, 360, 480) for _ in range(NOISE_FRAMES)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (480, 360))
    for image in frames:
        writer.write(image)
    writer.release()
    return len(frames), FADE_START + FADE_FRAMES + 1


@pytest.mark.parametrize("detector", ["faceboxes", "ainnoface"])
def test_a_fade_to_black_is_one_track_one_crop_and_no_face_on_black(tmp_path: Path, detector: str) -> None:
    clip = tmp_path / "fade.mp4"
    total, first_black = _fade_clip(clip)
    run = run_cli(str(clip), "-o", str(tmp_path / "out"), "--detector", detector)
    assert run.code == 0, run.stderr
    folder = tmp_path / "out" / "fade"
    summary = json.loads((folder / "summary.json").read_text())
    frames = [json.loads(line) for line in (folder / "tracks.jsonl").read_text().splitlines()]
    assert len(frames) == total
    assert {face["id"] for frame in frames for face in frame["faces"]} == {1}
    assert [frame["frame"] for frame in frames if frame["faces"] and frame["frame"] >= first_black] == []
    assert summary["tracks"] == 1 or len(summary["tracks"]) == 1
    assert sorted(path.name for path in (folder / "faces").iterdir()) == ["1"]


@pytest.mark.parametrize("name, measured", [("faceboxes", 4), ("ainnoface", 5)])
def test_featureless_detections_as_the_app_runs_the_detectors_stay_at_the_readme_figure(name: str, measured: int) -> None:
    """The README's false-faces table: detections at the track-start score on the 27 benchmark frames
    with the guard on (they are deterministic; a detector that finds more fails)."""
    from apps.detector_spec import prepare_for_tracking
    from detectors.featureless import benchmark_frames

    detector = load_detector(name, max_side=1024)
    start_score, _ = prepare_for_tracking(detector)
    found = sum(int((detector.detect(frame)[:, 4] >= start_score).sum()) for _, frame in benchmark_frames())
    assert found <= measured
