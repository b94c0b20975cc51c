"""Frame sources (apps.sources): video files and live cameras/streams, with fake captures."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from cli_helpers import call_with_timeout

from apps.sources import DEFAULT_FPS, LiveSource, SourceError, VideoFileSource, sane_fps
from benchmarks.synthetic import ClipSpec, synthetic_sprites, write_clip

SAFETY_SECONDS = 20.0


class FakeCapture:
    """The part of cv2.VideoCapture the sources use."""

    def __init__(self, frames: int | None = 5, fps: float = 30.0, opened: bool = True, count: float = 0.0,
                 delay: float = 0.0, block: threading.Event | None = None) -> None:
        self.remaining = frames
        self.fps = fps
        self.opened = opened
        self.count = count
        self.delay = delay
        self.block = block
        self.reads = 0
        self.released = threading.Event()

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.block is not None:
            self.block.wait(SAFETY_SECONDS)
        if self.delay:
            time.sleep(self.delay)
        if self.remaining is not None:
            if self.remaining <= 0:
                return False, None
            self.remaining -= 1
        self.reads += 1
        frame = np.full((120, 160, 3), self.reads % 256, np.uint8)
        return True, frame

    def get(self, prop: int) -> float:
        return {
            cv2.CAP_PROP_FPS: self.fps,
            cv2.CAP_PROP_FRAME_COUNT: self.count,
            cv2.CAP_PROP_FRAME_WIDTH: 160.0,
            cv2.CAP_PROP_FRAME_HEIGHT: 120.0,
        }.get(prop, 0.0)

    def release(self) -> None:
        self.released.set()


def in_thread(function: Any, timeout: float = SAFETY_SECONDS) -> tuple[Any, BaseException | None]:
    """Run ``function`` on a helper thread with a safety timeout; return (result, exception)."""
    return call_with_timeout(function, timeout)


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    spec = ClipSpec(width=160, height=120, fps=20.0, frames=24, faces=1, seed=2, min_size=30, max_size=40)
    write_clip(path, spec, synthetic_sprites(1, 0))
    return path


# ----------------------------------------------------------------------------------------- video files


def test_video_file_reads_every_frame_and_reports_its_info(small_clip: Path) -> None:
    source = VideoFileSource(small_clip)
    assert (source.info.fps, source.info.frame_count, source.info.width, source.info.height) == (20.0, 24, 160, 120)
    assert source.info.name == str(small_clip)
    frames = list(source)
    assert len(frames) == 24 and all(frame.shape == (120, 160, 3) for frame in frames)
    source.close()  # idempotent after the iteration released it


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        VideoFileSource(tmp_path / "missing.mp4")


def test_empty_file_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(SourceError, match=r"empty file \(0 bytes\)"):
        VideoFileSource(path)


def test_text_file_named_mp4_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is a shopping list, not a video\n" * 20)
    with pytest.raises(SourceError, match="not a readable video") as excinfo:
        VideoFileSource(path)
    assert str(path) in str(excinfo.value)


def test_truncated_video_is_a_source_error(small_clip: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.mp4"
    data = small_clip.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the mp4 index (moov) is at the end: the file cannot be opened
    with pytest.raises(SourceError, match="not a readable video"):
        VideoFileSource(path)


def test_folder_given_as_video_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        VideoFileSource(tmp_path)


@pytest.mark.parametrize("reported", [0.0, 90000.0, float("nan"), -5.0, 0.5])
def test_implausible_frame_rate_falls_back_to_default(tmp_path: Path, reported: float) -> None:
    path = tmp_path / "odd.mp4"
    path.write_bytes(b"x" * 64)
    capture = FakeCapture(frames=3, fps=reported, count=3)
    source = VideoFileSource(path, capture_factory=lambda name: capture)
    assert source.info.fps == DEFAULT_FPS == 25.0
    assert len(list(source)) == 3
    assert capture.released.is_set()


def test_plausible_frame_rate_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "ok.mp4"
    path.write_bytes(b"x" * 64)
    source = VideoFileSource(path, capture_factory=lambda name: FakeCapture(fps=29.97, count=-1))
    assert source.info.fps == pytest.approx(29.97) and source.info.frame_count is None
    assert sane_fps(0) is None and sane_fps(240.0) == 240.0 and sane_fps(241.0) is None


def test_capture_that_does_not_open_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"x" * 64)
    with pytest.raises(SourceError, match="not a readable video"):
        VideoFileSource(path, capture_factory=lambda name: FakeCapture(opened=False))


# ------------------------------------------------------------------------------------------------- live


def test_live_source_delivers_frames_then_reports_the_device_stopping() -> None:
    capture = FakeCapture(frames=5, delay=0.005)
    source = LiveSource(0, capture_factory=lambda device: capture, open_timeout=5.0, stall_timeout=5.0)
    assert source.info.name == "webcam 0" and source.info.fps == 30.0
    received: list[np.ndarray] = []

    def iterate() -> None:
        received.extend(source)

    _, error = in_thread(iterate)
    assert isinstance(error, SourceError)
    assert "stopped delivering frames" in str(error) and "webcam 0" in str(error)
    assert 1 <= len(received) <= 5
    values = [int(frame[0, 0, 0]) for frame in received]
    assert values == sorted(set(values))  # newest frames, each once, in order
    source.close()
    assert capture.released.wait(5.0)


def test_live_source_keeps_only_the_newest_frame() -> None:
    capture = FakeCapture(frames=200, delay=0.001)
    source = LiveSource("rtsp://camera/stream", capture_factory=lambda device: capture, open_timeout=5.0)
    assert source.info.name == "rtsp://camera/stream"
    received: list[int] = []

    def slow_consumer() -> None:
        for frame in source:
            received.append(int(frame[0, 0, 0]))
            time.sleep(0.02)

    _, error = in_thread(slow_consumer)
    assert error is None and source.ended  # a stream URL that runs out of frames has reached its end
    assert source.dropped > 0
    assert len(received) + source.dropped == 200  # each frame is either delivered or replaced
    source.close()


def test_live_source_close_ends_iteration_and_releases_the_device() -> None:
    capture = FakeCapture(frames=None, delay=0.005)  # endless camera
    source = LiveSource(1, capture_factory=lambda device: capture, open_timeout=5.0)
    received = []

    def iterate() -> None:
        for frame in source:
            received.append(frame)
            if len(received) == 3:
                source.close()

    _, error = in_thread(iterate)
    assert error is None and len(received) == 3
    assert capture.released.wait(5.0)
    source.close()  # idempotent


def test_live_source_factory_that_never_answers_times_out() -> None:
    release = threading.Event()

    def hanging_factory(device: Any) -> FakeCapture:
        release.wait(SAFETY_SECONDS)
        return FakeCapture()

    try:
        _, error = in_thread(lambda: LiveSource("rtsp://10.0.0.1/dead", capture_factory=hanging_factory,
                                                open_timeout=0.5), timeout=10.0)
    finally:
        release.set()
    assert isinstance(error, SourceError)
    assert "rtsp://10.0.0.1/dead" in str(error) and "no answer" in str(error)


def test_open_timeout_message_states_the_real_timeout() -> None:
    release = threading.Event()

    def hanging_factory(device: Any) -> FakeCapture:
        release.wait(SAFETY_SECONDS)
        return FakeCapture()

    try:
        _, error = in_thread(lambda: LiveSource(0, capture_factory=hanging_factory, open_timeout=0.5), timeout=10.0)
    finally:
        release.set()
    assert isinstance(error, SourceError)
    assert "0.5" in str(error)


def test_live_source_that_does_not_open_is_a_source_error() -> None:
    capture = FakeCapture(opened=False)
    with pytest.raises(SourceError, match="cannot open this camera index"):
        LiveSource(7, capture_factory=lambda device: capture, open_timeout=5.0)
    with pytest.raises(SourceError, match="cannot open this stream"):
        LiveSource("http://nowhere/video", capture_factory=lambda device: FakeCapture(opened=False), open_timeout=5.0)


def test_live_source_factory_exception_is_a_source_error() -> None:
    def broken_factory(device: Any) -> FakeCapture:
        raise cv2.error("backend exploded")

    with pytest.raises(SourceError, match="cannot open"):
        LiveSource(0, capture_factory=broken_factory, open_timeout=5.0)


def test_live_source_stalled_device_raises_after_stall_timeout() -> None:
    release = threading.Event()
    capture = FakeCapture(frames=None, delay=0.005, block=release)  # read() blocks: a frozen camera
    source = LiveSource(0, capture_factory=lambda device: capture, open_timeout=5.0, stall_timeout=0.3)
    try:
        _, error = in_thread(lambda: next(iter(source)), timeout=10.0)
    finally:
        release.set()
        source.close()
    assert isinstance(error, SourceError) and "no frame" in str(error)
