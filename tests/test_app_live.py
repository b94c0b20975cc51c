"""Live mode (apps.live.run_live) with fake cameras made of synthetic frames."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from cli_helpers import call_with_timeout

from apps.live import live_output_name, run_live
from apps.options import CropMode, TrackingOptions
from benchmarks.synthetic import ClipSpec, render_clip, synthetic_sprites

SAFETY_SECONDS = 30.0
SPEC = ClipSpec(width=160, height=120, fps=25.0, frames=30, faces=1, seed=4, min_size=34, max_size=44,
                allow_exit=False, occluder=False, speed_range=(10.0, 20.0))


@pytest.fixture(scope="module")
def clip_frames() -> list[tuple[np.ndarray, np.ndarray]]:
    """(frame, ground-truth detections) of a short synthetic clip."""
    frames = []
    for frame, truth in render_clip(SPEC, synthetic_sprites(1, 2)):
        boxes = np.array([[*box.box, 0.95] for box in truth if not box.ignored], np.float32).reshape(-1, 5)
        frames.append((frame, boxes))
    return frames


class FakeCamera:
    """A camera delivering the clip's frames (endless when ``limit`` is None) at about 100 fps."""

    def __init__(self, clip: list[tuple[np.ndarray, np.ndarray]], limit: int | None = None, opened: bool = True) -> None:
        self.clip = clip
        self.limit = limit
        self.opened = opened
        self.delivered = 0
        self.released = threading.Event()

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        time.sleep(0.01)
        if self.limit is not None and self.delivered >= self.limit:
            return False, None
        frame = self.clip[self.delivered % len(self.clip)][0].copy()  # a new buffer per frame, as a camera gives
        frame[0, 0] = (self.delivered % 256, self.delivered // 256, 0)  # frame number, for the detector
        self.delivered += 1
        return True, frame

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FPS: 30.0, cv2.CAP_PROP_FRAME_WIDTH: 160.0, cv2.CAP_PROP_FRAME_HEIGHT: 120.0}.get(prop, 0.0)

    def release(self) -> None:
        self.released.set()


class SlowOracle:
    """Ground truth of the frame it gets (read from the frame number), taking ``delay`` seconds."""

    def __init__(self, clip: list[tuple[np.ndarray, np.ndarray]], delay: float) -> None:
        self.clip = clip
        self.delay = delay
        self.seen: list[int] = []

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        number = int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1])
        self.seen.append(number)
        time.sleep(self.delay)
        return self.clip[number % len(self.clip)][1]


def run(function: Any) -> Any:
    result, error = call_with_timeout(function, SAFETY_SECONDS)
    assert error is None, f"run_live raised {error!r}"
    return result


def no_pipeline_threads(timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not [t for t in threading.enumerate() if t.name.startswith(("facetrack-", "live-grabber"))]:
            return True
        time.sleep(0.02)
    return False


def test_live_run_for_a_duration_writes_outputs_and_reports_drops(clip_frames, tmp_path: Path) -> None:
    camera = FakeCamera(clip_frames)  # endless
    detector = SlowOracle(clip_frames, delay=0.03)  # slower than the camera: frames must be dropped
    stop = threading.Event()
    result = run(lambda: run_live(0, tmp_path, detector, TrackingOptions(crops=CropMode.best), stop, duration=1.0,
                                  capture_factory=lambda device: camera, open_timeout=5.0))
    assert result.status == "complete", result.message
    assert stop.is_set()
    assert camera.released.wait(5.0)
    assert no_pipeline_threads()

    (folder,) = list(tmp_path.iterdir())
    assert folder.name.startswith("webcam0-") and result.output_dir == str(folder)
    assert result.frames > 5
    assert result.frames_dropped > 0
    assert camera.delivered >= result.frames + result.frames_dropped
    assert detector.seen == sorted(set(detector.seen))  # always a newer frame, never an old one

    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["frames"] == result.frames
    assert 0 < summary["frames_dropped"] <= result.frames_dropped  # (equality: see the xfail test below)
    assert summary["input"] == "webcam 0"

    capture = cv2.VideoCapture(str(folder / "annotated.mp4"))
    written = 0
    while capture.read()[0]:
        written += 1
    capture.release()
    assert written == result.frames
    records = [json.loads(line) for line in (folder / "tracks.jsonl").read_text().splitlines()]
    assert len(records) == result.frames
    ids = {face["id"] for record in records for face in record["faces"]}
    assert ids and all((folder / "faces" / str(i) / "best.jpg").is_file() for i in ids)
    assert not [p for p in folder.rglob("*") if ".partial" in p.name]


def test_summary_reports_the_frames_dropped_by_the_camera_reader(clip_frames, tmp_path: Path, monkeypatch) -> None:
    import apps.live
    from apps.sources import LiveSource

    class SkippingLiveSource(LiveSource):
        """Deterministic grabber drops: every second frame is replaced before it is consumed."""

        def __iter__(self):
            for number, frame in enumerate(super().__iter__()):
                if number % 2:
                    self.dropped += 1
                    continue
                yield frame

    monkeypatch.setattr(apps.live, "LiveSource", SkippingLiveSource)
    camera = FakeCamera(clip_frames, limit=None)
    result = run(lambda: run_live(0, tmp_path, SlowOracle(clip_frames, 0.0), TrackingOptions(), threading.Event(),
                                  duration=0.5, capture_factory=lambda device: camera, open_timeout=5.0))
    assert result.status == "complete" and result.frames_dropped > 0
    (folder,) = list(tmp_path.iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["frames_dropped"] == result.frames_dropped


def test_live_camera_that_stops_delivering_is_reported(clip_frames, tmp_path: Path) -> None:
    camera = FakeCamera(clip_frames, limit=20)
    stop = threading.Event()
    result = run(lambda: run_live(2, tmp_path, SlowOracle(clip_frames, 0.0), TrackingOptions(), stop,
                                  duration=20.0, capture_factory=lambda device: camera, open_timeout=5.0))
    assert result.status == "failed"
    assert "stopped delivering frames" in result.message
    assert 1 <= result.frames <= 20
    (folder,) = list(tmp_path.iterdir())
    assert folder.name.startswith("webcam2-")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["frames"] == result.frames
    assert no_pipeline_threads()


def test_nonexistent_camera_gives_a_failed_result(tmp_path: Path) -> None:
    stop = threading.Event()
    result = run(lambda: run_live(3, tmp_path, SlowOracle([], 0.0), TrackingOptions(), stop, duration=1.0,
                                  capture_factory=lambda device: FakeCamera([], opened=False), open_timeout=5.0))
    assert result.status == "failed" and not result.ok
    assert "3" in result.message and "cannot open this camera index" in result.message
    assert result.frames == 0
    assert list(tmp_path.iterdir()) == []  # no output folder for a camera that never opened


def test_live_output_names() -> None:
    assert live_output_name(0).startswith("webcam0-")
    assert live_output_name("rtsp://user:pw@host/stream").startswith("stream-")
    assert "/" not in live_output_name("http://host/a/b") and ":" not in live_output_name("rtsp://h:554/x")
