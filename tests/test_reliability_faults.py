"""Faults while running: cameras and streams, a failing pipeline thread, a full disk, Ctrl-C / SIGTERM
and kill -9 -- through the real command line (``apps.cli.main`` in-process, ``start.py`` in a
subprocess where signals are involved).

Expectations: one clear line per failing item, the batch goes on, outputs are closed and consistent
(or keep their ``.partial`` names when they cannot be), no pipeline thread is left behind.
"""
from __future__ import annotations

import errno
import functools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np
import pytest
from cli_helpers import FixedBox, run_cli_with_timeout, use_detector

from benchmarks.synthetic import ClipSpec, synthetic_sprites, write_clip
from apps.video_writers import H264VideoWriter

ROOT = Path(__file__).resolve().parents[1]
REAL_CAPTURE = cv2.VideoCapture
SAFETY_SECONDS = 60.0  # safety nets against hangs only, never a speed requirement
CLIP = ClipSpec(width=160, height=120, fps=25.0, frames=20, faces=2, seed=6, min_size=30, max_size=44,
                allow_exit=False, occluder=False)
POSIX_SIGNALS = pytest.mark.skipif(os.name != "posix", reason="POSIX signals (SIGINT/SIGTERM/SIGKILL to a child)")
FINAL_NAMES = ("annotated.mp4", "tracks.txt", "tracks.jsonl", "summary.json")
PARTIAL_NAMES = ("annotated.partial.mp4", "tracks.partial.txt", "tracks.partial.jsonl")


# ----------------------------------------------------------------------------------------- helpers


def leftover_threads(timeout: float = 10.0) -> list[str]:
    """Names of FaceTrack threads still alive after waiting up to ``timeout`` s (safety net)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [t.name for t in threading.enumerate() if t.name.startswith(("facetrack-", "live-"))]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.02)


def make_clip(path: Path, frames: int = 20, seed: int = 6, width: int = 160, height: int = 120) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = ClipSpec(**{**CLIP.__dict__, "frames": frames, "seed": seed, "width": width, "height": height,
                       "min_size": height // 4, "max_size": height // 3})
    write_clip(path, spec, synthetic_sprites(2, seed))
    return path


def count_frames(path: Path) -> int:
    capture = REAL_CAPTURE(str(path))
    assert capture.isOpened(), f"{path} is not a playable video"
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    return frames


def summary(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def jsonl_frames(folder: Path, name: str = "tracks.jsonl") -> list[int]:
    return [json.loads(line)["frame"] for line in (folder / name).read_text().splitlines()]


def assert_complete_mot_lines(path: Path) -> set[int]:
    """Every line of a MOTChallenge file is whole; returns the track ids."""
    text = path.read_text()
    assert text == "" or text.endswith("\n")
    rows = [line.split(",") for line in text.splitlines()]
    assert all(len(row) == 10 and row[7:] == ["-1", "-1", "-1"] for row in rows)
    return {int(row[1]) for row in rows}


def assert_valid_outputs(folder: Path, live: bool = False) -> int:
    """Closed outputs that agree with each other; returns the number of frames. (Live mode skips the
    frames that arrive while the previous one is processed, so its frame numbers have gaps.)"""
    frames = summary(folder)["frames"]
    assert frames > 0
    assert count_frames(folder / "annotated.mp4") == frames
    numbers = jsonl_frames(folder)
    if live:
        assert len(numbers) == frames and numbers == sorted(set(numbers))
    else:
        assert numbers == list(range(1, frames + 1))
    assert_complete_mot_lines(folder / "tracks.txt")
    assert not [p for p in folder.rglob("*") if ".partial" in p.name]
    return frames


class FakeCamera:
    """A camera (cv2.VideoCapture stand-in): ``limit`` frames then nothing; or closed; or hanging."""

    def __init__(self, limit: int | None = None, opened: bool = True, hang: threading.Event | None = None) -> None:
        if hang is not None:
            hang.wait(SAFETY_SECONDS)  # a stream that never answers the open request
        self.limit = limit
        self.opened = opened
        self.delivered = 0

    def isOpened(self) -> bool:  # OpenCV's name
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        time.sleep(0.01)
        if self.limit is not None and self.delivered >= self.limit:
            return False, None
        self.delivered += 1
        return True, np.full((120, 160, 3), self.delivered % 256, np.uint8)

    def get(self, prop: int) -> float:
        reported = {cv2.CAP_PROP_FPS: 30.0, cv2.CAP_PROP_FRAME_WIDTH: 160.0, cv2.CAP_PROP_FRAME_HEIGHT: 120.0}
        return reported.get(prop, 0.0)

    def release(self) -> None:
        pass


# ------------------------------------------------------------------------------------ live sources


@pytest.mark.parametrize("why", ["does-not-exist", "busy"])
def test_webcam_that_cannot_be_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, why: str) -> None:
    """A missing and a busy camera look the same to OpenCV: VideoCapture does not open."""
    monkeypatch.setattr(cv2, "VideoCapture", lambda device: FakeCamera(opened=False))
    use_detector(monkeypatch, FixedBox())
    run = run_cli_with_timeout("--webcam", "7", "--no-display", "-o", tmp_path / "out")
    assert run.code == 1
    assert run.line("webcam 7") == ("failed: webcam 7: cannot open this camera index "
                                    "(does not exist, is busy or does not answer)")
    assert "failed" in run.stdout
    assert not (tmp_path / "out").exists()


def test_stream_that_does_not_answer_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import apps.live

    hang = threading.Event()
    monkeypatch.setattr(cv2, "VideoCapture", lambda device: FakeCamera(hang=hang))
    monkeypatch.setattr(apps.live, "run_live", functools.partial(apps.live.run_live, open_timeout=0.5))
    use_detector(monkeypatch, FixedBox())
    url = "rtsp://10.255.255.1:554/live"
    try:
        run = run_cli_with_timeout("--stream", url, "--no-display", "-o", tmp_path / "out")
    finally:
        hang.set()
    assert run.code == 1
    assert run.line(url) == f"failed: {url}: no answer within 0.5 s"
    assert not (tmp_path / "out").exists()


def test_camera_that_stops_delivering_frames_mid_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cv2, "VideoCapture", lambda device: FakeCamera(limit=15))
    use_detector(monkeypatch, FixedBox())
    run = run_cli_with_timeout("--webcam", "0", "--no-display", "--duration", "30", "--no-report", "-o", tmp_path / "out")
    assert run.code == 1
    assert run.line("webcam 0") == "failed: webcam 0: the device stopped delivering frames"
    (folder,) = list((tmp_path / "out").iterdir())
    assert summary(folder)["status"] == "failed"
    assert 1 <= assert_valid_outputs(folder, live=True) <= 15
    assert leftover_threads() == []


# ------------------------------------------------------------------------ a failing pipeline thread


class ExplodingCapture:
    """The real capture of one file, whose ``read`` raises after ``fail_after`` frames."""

    def __init__(self, path: str, fail_after: int) -> None:
        self._capture = REAL_CAPTURE(path)
        self.fail_after = fail_after
        self.reads = 0

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.reads == self.fail_after:
            raise RuntimeError("decoder exploded")
        self.reads += 1
        return self._capture.read()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._capture, name)


@pytest.mark.parametrize("stage", ["capture", "process", "writer"])
def test_exception_in_a_pipeline_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    """An exception in the capture thread, the detect+track thread or the writing (calling) thread stops
    that video at once with the error shown; its outputs are closed, no thread is left behind, and the
    batch goes on with the next video."""
    first = make_clip(tmp_path / "in" / "a.mp4", frames=40, seed=1)
    second = make_clip(tmp_path / "in" / "b.mp4", frames=20, seed=2)
    detector = FixedBox(fail_on_call=5 if stage == "process" else None)
    use_detector(monkeypatch, detector)
    if stage == "capture":
        monkeypatch.setattr(cv2, "VideoCapture", lambda path: ExplodingCapture(path, 5) if path.endswith("a.mp4")
                            else REAL_CAPTURE(path))
    if stage == "writer":
        original = H264VideoWriter.write

        def write(self: Any, frame: np.ndarray, timestamp: float) -> None:
            if self.frames == 5 and self.path.parent.name == "a":
                raise RuntimeError("encoder exploded")
            original(self, frame, timestamp)

        monkeypatch.setattr(H264VideoWriter, "write", write)
    run = run_cli_with_timeout(first, second, "-o", tmp_path / "out", "--detect-every", "1")
    assert run.code == 1
    assert run.line("a.mp4") == {
        "capture": f"failed: {first}: RuntimeError: decoder exploded",
        "process": f"failed: {first}: RuntimeError: detector exploded",
        "writer": f"failed: {first}: RuntimeError: encoder exploded",
    }[stage]
    out = tmp_path / "out" / "a"
    assert summary(out)["status"] == "failed"
    frames = summary(out)["frames"]
    assert frames <= 5  # stopped at the failure, not at the end of the 40 frames
    if frames:  # (a failing stage aborts the frames still queued: possibly all of them)
        assert count_frames(out / "annotated.mp4") == frames
    # a failure inside the writing of a frame may leave that one frame in the track files
    assert jsonl_frames(out) in (list(range(1, frames + 1)), list(range(1, frames + 2)))
    assert_complete_mot_lines(out / "tracks.txt")
    assert not [p for p in out.rglob("*") if ".partial" in p.name]
    assert summary(tmp_path / "out" / "b")["status"] == "complete"
    assert leftover_threads(timeout=0.0) == []  # joined before main returned


# -------------------------------------------------------------------------------------- disk full


def test_disk_full_while_writing_the_video(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC after 8 frames of the first video: that item fails naming the cause, its outputs are
    closed, and the batch continues with the next video once space is back."""
    first = make_clip(tmp_path / "in" / "a.mp4", seed=1)
    second = make_clip(tmp_path / "in" / "b.mp4", seed=2)
    use_detector(monkeypatch, FixedBox())
    original = H264VideoWriter.write

    def write(self: Any, frame: np.ndarray, timestamp: float) -> None:
        if self.frames == 8 and self.path.parent.name == "a":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        original(self, frame, timestamp)

    monkeypatch.setattr(H264VideoWriter, "write", write)
    run = run_cli_with_timeout(first, second, "-o", tmp_path / "out")
    assert run.code == 1
    assert run.line("a.mp4") == f"failed: {first}: No space left on device"
    out = tmp_path / "out" / "a"
    assert summary(out)["status"] == "failed" and "No space left on device" in summary(out)["message"]
    assert summary(out)["frames"] == count_frames(out / "annotated.mp4") == 8  # closed, playable
    assert jsonl_frames(out) in (list(range(1, 9)), list(range(1, 10)))  # + the frame being written
    assert not [p for p in out.rglob("*") if ".partial" in p.name]
    assert summary(tmp_path / "out" / "b")["status"] == "complete"
    assert "No space left on device" in re.sub(r"\s+", " ", run.stdout)  # in the summary table


def test_disk_full_when_the_track_files_are_flushed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Buffered writes report ENOSPC when the file is closed: the track files keep their .partial names
    (they miss their end), the item fails with the reason, the next video is processed."""
    import apps.writers

    first = make_clip(tmp_path / "in" / "a.mp4", seed=1)
    second = make_clip(tmp_path / "in" / "b.mp4", seed=2)
    use_detector(monkeypatch, FixedBox())

    class FullDiskFile:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def write(self, text: str) -> int:
            return self.handle.write(text)

        def close(self) -> None:
            self.handle.close()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fake_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        handle = open(file, *args, **kwargs)
        return FullDiskFile(handle) if Path(file).parent.name == "a" else handle

    monkeypatch.setattr(apps.writers, "open", fake_open, raising=False)
    run = run_cli_with_timeout(first, second, "-o", tmp_path / "out")
    assert run.code == 1
    assert run.line("a.mp4") == f"failed: {first}: cannot write track files: No space left on device"
    out = tmp_path / "out" / "a"
    assert summary(out)["status"] == "failed"
    assert (out / "tracks.partial.txt").is_file() and not (out / "tracks.txt").exists()
    assert (out / "tracks.partial.jsonl").is_file() and not (out / "tracks.jsonl").exists()
    assert count_frames(out / "annotated.mp4") == 20
    assert summary(tmp_path / "out" / "b")["status"] == "complete"


# ---------------------------------------------------------------------------- signals (subprocess)

#: ``python -c`` body: start.py's main with a fake detector that takes ``argv[1]`` seconds per frame
#: (test-side hook; the product has none).
SLOW_DETECTOR_MAIN = """
import sys, time
import numpy as np
import detectors

class SlowBox:
    name = "slow-box"
    providers = ("CPUExecutionProvider",)
    score_threshold = 0.5
    recommended_low_threshold = 0.25

    def detect(self, frame):
        time.sleep(float(sys.argv[1]))
        height, width = frame.shape[:2]
        return np.array([[0.3 * width, 0.25 * height, 0.6 * width, 0.75 * height, 0.95]], np.float32)

detectors.load_detector = lambda *args, **kwargs: SlowBox()
from apps.cli import main
sys.exit(main(sys.argv[2:]))
"""


class Started(NamedTuple):
    process: subprocess.Popen
    stderr_lines: list[str]
    stopping: threading.Event
    reader: threading.Thread


def start(command: list[str], partial_video: Path) -> Started:
    """Start a FaceTrack subprocess and wait until it wrote its first frame (annotated.partial.mp4)."""
    env = {**os.environ, "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    stopping = threading.Event()

    def read_stderr() -> None:
        for line in process.stderr:
            lines.append(line)
            if line.startswith("Stopping"):
                stopping.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    deadline = time.monotonic() + SAFETY_SECONDS
    while not partial_video.exists():
        assert process.poll() is None, f"ended early: {''.join(lines)}"
        assert time.monotonic() < deadline, "no frame written"
        time.sleep(0.02)
    time.sleep(0.3)  # a few more frames
    return Started(process, lines, stopping, reader)


def finish(started: Started) -> int:
    try:
        started.process.stdout.read()
        code = started.process.wait(SAFETY_SECONDS)
        started.reader.join(SAFETY_SECONDS)
        return code
    finally:
        if started.process.poll() is None:
            started.process.kill()


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 frames at 640x480: several seconds for the random ONNX detector, so a signal lands mid-video."""
    return make_clip(tmp_path_factory.mktemp("long") / "long clip.mp4", frames=80, width=640, height=480)


@POSIX_SIGNALS
def test_sigint_mid_video_finalises_every_output(tmp_path: Path, onnx_model: Path, long_clip: Path) -> None:
    out = tmp_path / "out" / "long clip"
    started = start([sys.executable, "start.py", str(long_clip), "-o", str(tmp_path / "out"), "-d", str(onnx_model),
                     "--threads", "1", "--max-side", "2048", "--detect-every", "1"], out / "annotated.partial.mp4")
    started.process.send_signal(signal.SIGINT)
    code = finish(started)
    stderr = "".join(started.stderr_lines)
    assert code == 130, stderr
    assert "Traceback" not in stderr and "Stopping: finishing the outputs" in stderr
    assert f"interrupted: {long_clip}: stopped before the end of the input" in stderr
    info = summary(out)
    assert info["status"] == "interrupted"
    frames = assert_valid_outputs(out)  # playable video, frame count == tracks.jsonl frames, whole lines
    assert frames < 80
    ids = assert_complete_mot_lines(out / "tracks.txt")
    assert all((out / "faces" / str(track_id) / "best.jpg").is_file() for track_id in ids)


@POSIX_SIGNALS
def test_sigterm_mid_video_saves_the_crops_of_live_tracks(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=40)
    out = tmp_path / "out" / "clip"
    started = start([sys.executable, "-c", SLOW_DETECTOR_MAIN, "0.05", str(clip), "-o", str(tmp_path / "out")],
                    out / "annotated.partial.mp4")
    started.process.send_signal(signal.SIGTERM)
    code = finish(started)
    assert code == 143, "".join(started.stderr_lines)
    assert summary(out)["status"] == "interrupted"
    assert 0 < assert_valid_outputs(out) < 40
    ids = assert_complete_mot_lines(out / "tracks.txt")
    assert ids  # the fixed box is a live track when the signal arrives
    assert all((out / "faces" / str(track_id) / "best.jpg").is_file() for track_id in ids)


@POSIX_SIGNALS
def test_second_ctrl_c_exits_at_once(tmp_path: Path) -> None:
    """The first Ctrl-C waits for the frame in the detector (1 s here); a second one quits at once:
    exit code 130, nothing renamed, the files written so far keep their .partial names."""
    clip = make_clip(tmp_path / "clip.mp4", frames=40)
    out = tmp_path / "out" / "clip"
    started = start([sys.executable, "-c", SLOW_DETECTOR_MAIN, "1.0", str(clip), "-o", str(tmp_path / "out")],
                    out / "annotated.partial.mp4")
    started.process.send_signal(signal.SIGINT)
    assert started.stopping.wait(SAFETY_SECONDS)
    started.process.send_signal(signal.SIGINT)
    code = finish(started)
    stderr = "".join(started.stderr_lines)
    assert code == 130, stderr
    assert "Stopping immediately" in stderr and "Traceback" not in stderr
    assert not [name for name in FINAL_NAMES if (out / name).exists()]
    assert (out / "annotated.partial.mp4").exists()


@POSIX_SIGNALS
def test_kill_9_leaves_only_partial_files(tmp_path: Path, onnx_model: Path, long_clip: Path) -> None:
    """A crash never leaves a half-written file under a final name."""
    out = tmp_path / "out" / "long clip"
    started = start([sys.executable, "start.py", str(long_clip), "-o", str(tmp_path / "out"), "-d", str(onnx_model),
                     "--threads", "1", "--max-side", "2048", "--detect-every", "1"], out / "annotated.partial.mp4")
    started.process.send_signal(signal.SIGKILL)
    assert finish(started) == -signal.SIGKILL
    assert [name for name in FINAL_NAMES if (out / name).exists()] == []
    assert all((out / name).exists() for name in PARTIAL_NAMES)
