"""The detect+track stage's schedule (full scans, follow windows, shot cuts) and its outputs."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from apps.anonymize import AnonymizeMode
from apps.options import CropMode, TrackingOptions
from apps.pipeline import FrameProcessor
from apps.sources import SourceInfo
from benchmarks.synthetic import ClipSpec, render_clip, synthetic_sprites
from apps.video_job import track_source
from benchmarks.anonymize_leaks import Verdict, judge_face
from cli_helpers import run_cli
from tracker import FaceTracker, TrackerConfig


class GroundTruthDetector:
    """Finds the clip's visible faces, on the whole frame and in windows (knows the current frame's truth)."""

    def __init__(self) -> None:
        self.truth: list[np.ndarray] = []
        self.scans: list[int] = []
        self.window_calls = 0
        self.frame_index = -1

    def detect(self, frame: np.ndarray) -> np.ndarray:
        self.scans.append(self.frame_index)
        return np.array([[*box, 0.9] for box in self.truth], np.float32).reshape(-1, 5)

    def detect_windows(self, frame: np.ndarray, windows: np.ndarray) -> list[np.ndarray]:
        self.window_calls += 1
        found = []
        for window in windows:
            inside = [box for box in self.truth
                      if window[0] <= (box[0] + box[2]) / 2 <= window[2] and window[1] <= (box[1] + box[3]) / 2 <= window[3]]
            found.append(np.array([[*box, 0.9] for box in inside], np.float32).reshape(-1, 5))
        return found


class ScriptedCuts:
    """A cut detector that reports cuts on the given frame indices."""

    def __init__(self, cuts: set[int]) -> None:
        self.cuts, self.index = cuts, -1

    def update(self, frame: np.ndarray) -> bool:
        self.index += 1
        return self.index in self.cuts


def _clip(frames: int = 60, seed: int = 3) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    spec = ClipSpec(frames=frames, faces=3, seed=seed, min_size=50, max_size=90)
    return [(frame, [np.array(g.box) for g in truth if not g.ignored])
            for frame, truth in render_clip(spec, synthetic_sprites(3, seed))]


def _process(processor: FrameProcessor, detector: GroundTruthDetector, clip) -> list:
    results = []
    for index, (frame, truth) in enumerate(clip):
        detector.truth, detector.frame_index = truth, index
        results.append(processor.process(index, frame))
    return results


def test_scans_every_n_frames_and_at_every_cut_which_ends_all_tracks() -> None:
    detector = GroundTruthDetector()
    processor = FrameProcessor(detector.detect, FaceTracker(TrackerConfig(), fps=25.0), 10,
                               detector.detect_windows, ScriptedCuts({25, 26 + 10}))
    results = _process(processor, detector, _clip())
    assert detector.scans == [0, 10, 20, 25, 35, 36, 46, 56]
    assert processor.shots == [0, 25, 36]
    assert [r.shot for r in results] == [0] * 25 + [1] * 11 + [2] * 24
    ids_before = {f.track_id for r in results[:25] for f in r.faces}
    ids_after = {f.track_id for r in results[25:36] for f in r.faces}
    assert ids_before and ids_after and not ids_before & ids_after  # no identity crosses a cut
    finished_at_cut = results[25].finished
    assert {t.track_id for t in finished_at_cut} == ids_before


def test_follow_frames_measure_faces_and_report_their_detections() -> None:
    detector = GroundTruthDetector()
    processor = FrameProcessor(detector.detect, FaceTracker(TrackerConfig(), fps=25.0), 10, detector.detect_windows)
    results = _process(processor, detector, _clip())
    assert detector.window_calls == 54  # every frame between scans, once per frame
    between = [r for r in results if r.index % 10]
    assert all(r.detections is None for r in between)  # not a full scan
    assert all(r.raw_detections is not None and len(r.raw_detections) for r in between if r.faces)
    assert all(face.detected for r in between for face in r.faces if face.measured_box is not None)


def test_follow_off_is_exactly_the_plain_detect_every_schedule() -> None:
    clip = _clip(80)
    detector = GroundTruthDetector()
    processor = FrameProcessor(detector.detect, FaceTracker(TrackerConfig(), fps=25.0), 4)
    ours = _process(processor, detector, clip)
    plain = FaceTracker(TrackerConfig(), fps=25.0)
    for index, (frame, truth) in enumerate(clip):
        detections = np.array([[*b, 0.9] for b in truth], np.float32).reshape(-1, 5) if index % 4 == 0 else None
        expected = plain.update(detections, frame)
        got = ours[index].faces
        assert [f.track_id for f in got] == [f.track_id for f in expected]
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a.box, b.box)


def _grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _alone(box: np.ndarray, others: list[np.ndarray]) -> bool:
    """True if no other face box overlaps ``box`` (a face partly behind another is not measured)."""
    return all(min(box[2], o[2]) <= max(box[0], o[0]) or min(box[3], o[3]) <= max(box[1], o[1])
               for o in others if o is not box)


def test_masks_cover_the_faces_on_frames_between_full_scans(tmp_path: Path) -> None:
    """Anonymised output, scans every 10th frame: every visible face is blurred on every frame."""
    clip = _clip(40, seed=5)
    detector = GroundTruthDetector()
    frames = [frame.copy() for frame, _ in clip]
    frame_truth = [truth for _, truth in clip]

    def source():
        for index, frame in enumerate(frames):
            detector.truth, detector.frame_index = frame_truth[index], index
            yield frame.copy()

    options = TrackingOptions(detect_every=10, anonymize=AnonymizeMode.blur, crops=CropMode.none, shot_cuts=False)
    info = SourceInfo(name="clip", fps=25.0, frame_count=len(frames), width=frames[0].shape[1],
                      height=frames[0].shape[0])
    result = track_source(source(), info, tmp_path / "out", detector.detect, options, stop=threading.Event())
    assert result.status == "complete" and detector.window_calls > 0
    capture = cv2.VideoCapture(str(tmp_path / "out" / "annotated.mp4"))
    for index in range(len(frames)):
        ok, written = capture.read()
        assert ok
        for box in frame_truth[index]:
            if _alone(box, frame_truth[index]):
                verdict = judge_face(_grey(frames[index]), _grey(written), tuple(box))
                assert verdict is not Verdict.leaked, f"face {box} recognisable on frame {index}"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["shots"] == [1] and summary["options"]["follow"] is True


SHARED_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is not available")
def test_a_joined_clip_of_two_people_gives_two_sets_of_ids_and_the_join_in_the_shots(tmp_path: Path) -> None:
    """talking-head clip then a studio clip at the same size, through start.py with default settings."""
    joined = tmp_path / "joined.mp4"
    first = _write_joined(joined, [SHARED_MEDIA / "talking-d3.mp4", SHARED_MEDIA / "studio-1.mp4"], (640, 480), 60)
    result = run_cli(joined, "-o", tmp_path / "out", "--no-report")
    assert result.code == 0, result.stderr
    folder = tmp_path / "out" / "joined"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["shots"] == [1, first + 1]
    records = [json.loads(line) for line in (folder / "tracks.jsonl").read_text().splitlines()]
    before = {face["id"] for r in records if r["shot"] == 0 for face in r["faces"]}
    after = {face["id"] for r in records if r["shot"] == 1 for face in r["faces"]}
    assert before and after and not before & after
    assert all(r["shot"] == (0 if r["frame"] <= first else 1) for r in records)


def _write_joined(target: Path, clips: list[Path], size: tuple[int, int], frames_each: int) -> int:
    """Write the first ``frames_each`` frames of each clip, resized to ``size``, into one mp4; return
    the frame count of the first part."""
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, size)
    counts = []
    for clip in clips:
        capture = cv2.VideoCapture(str(clip))
        count = 0
        while count < frames_each:
            ok, frame = capture.read()
            if not ok:
                break
            writer.write(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
            count += 1
        capture.release()
        counts.append(count)
    writer.release()
    return counts[0]


def test_a_crowd_is_scanned_when_its_windows_would_cost_more_than_a_scan() -> None:
    detector = GroundTruthDetector()
    asked: list[int] = []

    def windows_cost_more(frame_shape: tuple[int, ...], windows: int) -> bool:
        asked.append(windows)
        return windows >= 2

    processor = FrameProcessor(detector.detect, FaceTracker(TrackerConfig(), fps=25.0), 10, detector.detect_windows,
                               windows_cost_more=windows_cost_more)
    _process(processor, detector, _clip(30))  # three faces: always two or more windows after the first scan
    assert detector.scans == list(range(30)) and detector.window_calls == 0 and max(asked) >= 2


def test_the_shipped_detector_prefers_a_scan_only_for_crowds() -> None:
    from detectors import load_detector

    detector = load_detector("faceboxes", threads=1)
    assert not detector.windows_cost_more((1080, 1920, 3), 5)  # 5 windows of 224 px < a 1024x576 scan
    assert detector.windows_cost_more((1080, 1920, 3), 10)
    assert detector.windows_cost_more((480, 640, 3), 6) and not detector.windows_cost_more((480, 640, 3), 4)


def test_a_frame_of_another_size_after_a_cut_is_a_new_shot_not_an_error(tmp_path: Path) -> None:
    big = [frame for frame, _ in _clip(20, seed=7)]
    small = [cv2.resize(frame, (320, 240)) for frame, _ in _clip(20, seed=8)]
    detector = GroundTruthDetector()
    info = SourceInfo(name="resized", fps=25.0, frame_count=40, width=640, height=480)
    result = track_source(iter(big + small), info, tmp_path / "out", detector.detect,
                          TrackingOptions(detect_every=5, crops=CropMode.none), stop=threading.Event())
    assert result.status == "complete" and result.frames == 40, result.message
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["shots"] == [1, 21] and summary["detector_runs"] == 8  # frames 0, 5, ..., 35
