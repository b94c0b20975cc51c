"""Anonymise mode: the masking itself, and no face pixel surviving through the pipeline."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import apps.video_job as video_job
from apps.anonymize import MASK_HOLD_SECONDS, AnonymizeMode, DetectionHold, anonymize_faces
from apps.options import CropMode, TrackingOptions
from apps.sources import SourceInfo
from benchmarks.synthetic import ClipSpec, GroundTruthBox, render_clip, synthetic_sprites
from apps.video_job import track_source


def _ellipse(box: tuple[float, float, float, float], shape: tuple[int, int], shrink: float = 0.0) -> np.ndarray:
    """Pixels inside the ellipse inscribed in ``box`` (shrunk by ``shrink`` of its size per side)."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    rx, ry = (x2 - x1) * (0.5 - shrink), (y2 - y1) * (0.5 - shrink)
    ys, xs = np.ogrid[: shape[0], : shape[1]]
    return ((xs + 0.5 - cx) / rx) ** 2 + ((ys + 0.5 - cy) / ry) ** 2 <= 1.0


def test_solid_fills_the_grown_ellipse_and_nothing_else() -> None:
    frame = np.full((100, 120, 3), 200, np.uint8)
    box = np.array([[40.0, 30.0, 80.0, 70.0]])
    anonymize_faces(frame, box, AnonymizeMode.solid, margin=0.25)
    inside = _ellipse((30.0, 20.0, 90.0, 80.0), frame.shape[:2], shrink=0.01)
    outside = ~_ellipse((30.0, 20.0, 90.0, 80.0), frame.shape[:2], shrink=-0.02)
    assert (frame[inside] == 0).all()
    assert (frame[outside] == 200).all()
    assert frame[0, 0].tolist() == [200, 200, 200] and frame[50, 60].tolist() == [0, 0, 0]


@pytest.mark.parametrize("mode", [AnonymizeMode.blur, AnonymizeMode.pixelate])
def test_blur_and_pixelate_destroy_detail_inside_only(mode: AnonymizeMode) -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (100, 120, 3), dtype=np.uint8)
    original = frame.copy()
    anonymize_faces(frame, np.array([[40.0, 30.0, 80.0, 70.0]]), mode, margin=0.0)
    inside = _ellipse((40.0, 30.0, 80.0, 70.0), frame.shape[:2], shrink=0.05)
    outside = ~_ellipse((40.0, 30.0, 80.0, 70.0), frame.shape[:2], shrink=-0.05)
    assert (frame[outside] == original[outside]).all()
    # random noise has a std of ~74; a hidden face region keeps little of it
    assert frame[inside].astype(float).std() < 0.5 * original[inside].astype(float).std()


def test_faces_outside_the_frame_or_empty_are_ignored() -> None:
    frame = np.full((50, 50, 3), 9, np.uint8)
    anonymize_faces(frame, np.array([[60.0, 60.0, 90.0, 90.0], [-40.0, -40.0, -1.0, -1.0], [10.0, 10.0, 10.0, 30.0]]),
                    AnonymizeMode.solid)
    assert (frame == 9).all()


class _Recorder:
    """Stands in for the MP4 writer and keeps the frames written."""

    frames: list[np.ndarray] = []
    description = "recorder"

    def __init__(self, path: Path, fps: float, size: tuple[int, int], *settings: object) -> None:
        _Recorder.frames = []

    def write(self, frame: np.ndarray, timestamp: float) -> None:
        _Recorder.frames.append(frame.copy())

    def close(self, complete: bool = True) -> None:
        pass


def _noisy_oracle(truth: list[list[GroundTruthBox]], every: int, drop: float):
    """Ground truth with 4 % corner noise and random drops, every ``every``-th frame (in call order)."""
    calls = [0]
    rng = np.random.default_rng(5)

    def detect(frame: np.ndarray) -> np.ndarray:
        index = calls[0] * every
        calls[0] += 1
        rows = []
        for g in truth[index]:
            if g.ignored or rng.random() < drop:
                continue
            box = np.array(g.box)
            size = np.array([box[2] - box[0], box[3] - box[1]] * 2)
            rows.append([*(box + rng.normal(0, 0.04, 4) * size), 0.9])
        return np.array(rows, np.float32).reshape(-1, 5)

    return detect


@pytest.mark.parametrize(("every", "drop"), [(1, 0.0), (3, 0.2)])
def test_no_tracked_face_pixel_survives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every: int, drop: float) -> None:
    monkeypatch.setattr(video_job, "open_video_writer", _Recorder)
    spec = ClipSpec(width=320, height=240, fps=25.0, frames=60, faces=3, seed=3, min_size=40, max_size=70,
                    occluder=False, noise_sigma=0.0)
    rendered = list(render_clip(spec, synthetic_sprites(3, 3)))
    frames = [frame for frame, _ in rendered]
    truth = [gt for _, gt in rendered]
    options = TrackingOptions(detect_every=every, crops=CropMode.none, anonymize=AnonymizeMode.solid)
    info = SourceInfo("clip", spec.fps, len(frames), spec.width, spec.height)
    result = track_source([f.copy() for f in frames], info, tmp_path / "out", _noisy_oracle(truth, every, drop),
                          options, stop=threading.Event())
    assert result.ok and len(_Recorder.frames) == len(frames)
    first_detected: dict[int, int] = {}
    for index in range(0, len(frames), every):
        for g in truth[index]:
            if not g.ignored:
                first_detected.setdefault(g.face_id, index)
    checked = 0
    for index, (written, faces) in enumerate(zip(_Recorder.frames, truth)):
        for g in faces:
            # a face is tracked from its first detector frame (plus one more detector run when
            # its first detection was dropped); before that nobody knows it is there
            start = first_detected.get(g.face_id, len(frames)) + (2 * every if drop else 0)
            if g.ignored or index < start:
                continue
            pixels = _ellipse(g.box, written.shape[:2], shrink=0.05)
            assert (written[pixels] == 0).all(), f"face {g.face_id} visible on frame {index}"
            checked += 1
    assert checked > 0.6 * sum(len(faces) for faces in truth)


def test_detection_hold_keeps_untracked_boxes_for_their_frames_and_forgets_them_at_a_cut() -> None:
    hold = DetectionHold(frames=2)
    face = np.array([[10.0, 10.0, 30.0, 30.0, 0.2]])
    other = np.array([[50.0, 10.0, 70.0, 30.0, 0.3]])
    none = np.zeros((0, 4))
    assert hold.boxes(face, none, shot=0).tolist() == [[10, 10, 30, 30]]
    assert hold.boxes(None, none, shot=0).tolist() == [[10, 10, 30, 30]]  # detector did not run
    assert hold.boxes(other, none, shot=0).tolist() == [[50, 10, 70, 30], [10, 10, 30, 30]]
    assert hold.boxes(np.zeros((0, 5)), none, shot=0).tolist() == [[50, 10, 70, 30]]  # face: 2 frames after its own
    assert hold.boxes(None, none, shot=1).shape == (0, 4)  # a shot cut: nothing of the last shot is held
    assert DetectionHold(frames=0).boxes(face, none, shot=0).tolist() == [[10, 10, 30, 30]]


def test_detection_hold_does_not_hold_a_tracked_face() -> None:
    hold = DetectionHold(frames=3)
    detections = np.array([[10.0, 10.0, 30.0, 30.0, 0.9], [50.0, 10.0, 70.0, 30.0, 0.2]])
    tracked = np.array([[19.0, 8.0, 40.0, 32.0], [62.0, 10.0, 90.0, 30.0]])  # half of the first inside, 0.4 of the second
    assert hold.boxes(detections, tracked, shot=0).tolist() == detections[:, :4].tolist()
    assert hold.boxes(None, tracked, shot=0).tolist() == [[50, 10, 70, 30]]


def _weak_face_every_third_frame(box: tuple[float, float, float, float]):
    """A detector that finds one weak face (score 0.2: below any track's threshold) on every third call."""
    calls = [0]

    def detect(frame: np.ndarray) -> np.ndarray:
        calls[0] += 1
        return np.array([[*box, 0.2]] if calls[0] % 3 == 1 else [], np.float32).reshape(-1, 5)

    return detect


@pytest.mark.parametrize("hold_seconds", [MASK_HOLD_SECONDS, 0.0])
def test_a_face_found_on_some_frames_is_hidden_on_the_frames_between(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hold_seconds: float) -> None:
    monkeypatch.setattr(video_job, "open_video_writer", _Recorder)
    monkeypatch.setattr(video_job, "MASK_HOLD_SECONDS", hold_seconds)
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    box = (40.0, 30.0, 80.0, 80.0)
    options = TrackingOptions(detect_every=1, crops=CropMode.none, anonymize=AnonymizeMode.solid)
    info = SourceInfo("clip", 25.0, 12, 160, 120)
    result = track_source([frame.copy() for _ in range(12)], info, tmp_path / "out",
                          _weak_face_every_third_frame(box), options, stop=threading.Event())
    assert result.ok and result.tracks == 0
    pixels = _ellipse(box, frame.shape[:2], shrink=0.05)
    hidden = [bool((written[pixels] == 0).all()) for written in _Recorder.frames]
    if hold_seconds:  # 0.2 s at 25 fps: 5 frames, more than the 2 between detections
        assert all(hidden), hidden
    else:
        assert hidden == [index % 3 == 0 for index in range(12)]
