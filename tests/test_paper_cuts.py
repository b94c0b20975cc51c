"""Issue 18's paper cuts: a stream that reaches its end (served by a local HTTP server) is a normal end,
folders pick up every video type FFmpeg reads, and the summary table stays readable at 80 columns."""
from __future__ import annotations

import functools
import http.server
import io
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np
import pytest
from cli_helpers import FixedBox, call_with_timeout, run_cli_with_timeout, use_detector
from rich.console import Console

import apps.live
from apps.batch import summary_table
from apps.discovery import VIDEO_EXTENSIONS, discover_inputs
from apps.live import run_live
from apps.options import TrackingOptions
from apps.sources import LiveSource
from apps.video_job import VideoResult

ROOT = Path(__file__).resolve().parents[1]
SAFETY_SECONDS = 30.0
CLIP_FRAMES = 60
NEW_EXTENSIONS = [".gif", ".264", ".h264", ".265", ".h265", ".hevc", ".y4m", ".ogv", ".m2ts", ".mxf", ".vob", ".dv"]


# --------------------------------------------------------------------------------- a stream over HTTP


def write_transport_stream(path: Path, frames: int = CLIP_FRAMES, fps: int = 25) -> bytes:
    """A synthetic MPEG-TS clip (MPEG-2 video, 160x120, frame number in the first pixel's brightness)."""
    with av.open(str(path), "w", format="mpegts") as container:
        stream = container.add_stream("mpeg2video", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for number in range(frames):
            image = np.full((120, 160, 3), (number * 4) % 256, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode())
    return path.read_bytes()


class StreamHandler(http.server.BaseHTTPRequestHandler):
    """``/clip.ts``: the whole clip, as fast as the client reads. ``/stalls.ts``: the first half, then
    the server stops answering (keeps the connection open without sending) until ``release`` is set."""

    payload = b""
    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path not in ("/clip.ts", "/stalls.ts"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "video/mp2t")
        self.end_headers()
        if self.path == "/clip.ts":
            self.wfile.write(self.payload)
            return
        self.wfile.write(self.payload[: len(self.payload) // 2])
        self.wfile.flush()
        self.release.wait(SAFETY_SECONDS)

    def log_message(self, *args: object) -> None:
        """Quiet: no request log on stderr."""


class Server(NamedTuple):
    url: str
    release: threading.Event


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A local HTTP server (in a thread) serving a TS file generated for the test."""
    payload = write_transport_stream(tmp_path_factory.mktemp("stream") / "clip.ts")
    release = threading.Event()
    handler = type("Handler", (StreamHandler,), {"payload": payload, "release": release})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="test-http", daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", release)
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()


def no_detections(frame: np.ndarray) -> np.ndarray:
    return np.zeros((0, 5), np.float32)


def slow_detector(frame: np.ndarray) -> np.ndarray:
    """Slower than the server delivers, so live mode must skip frames."""
    threading.Event().wait(0.02)
    return no_detections(frame)


def live_run(url: str, out: Path, detect=no_detections, every_frame: bool = False) -> VideoResult:
    result, error = call_with_timeout(
        lambda: run_live(url, out, detect, TrackingOptions(write_video=False), threading.Event(), duration=20.0,
                         open_timeout=10.0, every_frame=every_frame), SAFETY_SECONDS)
    assert error is None, f"run_live raised {error!r}"
    return result


def saved_summary(folder: str | Path) -> dict:
    return json.loads((Path(folder) / "summary.json").read_text())


def test_stream_that_reaches_its_end_is_complete_with_every_frame(server: Server, tmp_path: Path) -> None:
    result = live_run(f"{server.url}/clip.ts", tmp_path, every_frame=True)
    assert (result.status, result.message) == ("complete", "the stream ended")
    assert (result.frames, result.frames_dropped) == (CLIP_FRAMES, 0)
    summary = saved_summary(result.output_dir)
    assert summary["status"] == "complete" and summary["message"] == "the stream ended"
    times = [json.loads(line)["time"] for line in (Path(result.output_dir) / "tracks.jsonl").read_text().splitlines()]
    assert times == pytest.approx([index / 25.0 for index in range(CLIP_FRAMES)])  # stream time, as for a file


def test_stream_end_in_live_mode_says_why_frames_were_skipped(server: Server, tmp_path: Path) -> None:
    result = live_run(f"{server.url}/clip.ts", tmp_path, detect=slow_detector)
    assert result.status == "complete", result.message
    assert 0 < result.frames < CLIP_FRAMES and result.frames_dropped > 0
    skipped = f"{result.frames_dropped} of {result.frames + result.frames_dropped} frames skipped to stay live"
    assert result.message.startswith(f"the stream ended; {skipped}")
    assert "--every-frame" in result.message
    assert saved_summary(result.output_dir)["message"] == result.message


def test_stream_that_stops_answering_mid_way_fails(server: Server, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apps.live, "LiveSource", functools.partial(LiveSource, stall_timeout=1.0))
    result = live_run(f"{server.url}/stalls.ts", tmp_path, every_frame=True)
    assert result.status == "failed"
    assert result.message == "no frame for 1 s (the source stopped answering)"
    assert 0 < result.frames < CLIP_FRAMES
    assert saved_summary(result.output_dir)["status"] == "failed"


class EmptyStream:
    """A capture that opens but ends before its first frame."""

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def read(self) -> tuple[bool, None]:
        return False, None

    def get(self, prop: int) -> float:
        return 0.0

    def release(self) -> None:
        """Nothing to release."""


def test_stream_that_ends_before_its_first_frame_fails(tmp_path: Path) -> None:
    result, error = call_with_timeout(
        lambda: run_live("http://host/empty.ts", tmp_path, no_detections, TrackingOptions(), threading.Event(),
                         capture_factory=lambda device: EmptyStream(), open_timeout=5.0), SAFETY_SECONDS)
    assert error is None
    assert (result.status, result.message) == ("failed", "the stream ended before its first frame")


def test_cli_stream_end_exits_0_with_or_without_every_frame(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_detector(monkeypatch, FixedBox())
    run = run_cli_with_timeout("--stream", f"{server.url}/clip.ts", "--no-display", "--no-video", "--no-report",
                               "-o", tmp_path)
    assert run.code == 0, run.stderr
    (folder,) = list(tmp_path.iterdir())
    assert saved_summary(folder)["status"] == "complete"
    row = next(line for line in run.stdout.splitlines() if line.startswith(folder.name))
    assert row.split()[1] == "complete"
    assert "the stream ended" in run.stdout
    every = run_cli_with_timeout("--stream", f"{server.url}/clip.ts", "--every-frame", "--no-display", "--no-video",
                                 "--no-report", "-o", tmp_path / "every")
    assert every.code == 0, every.stderr
    (folder,) = list((tmp_path / "every").iterdir())
    assert saved_summary(folder)["frames"] == CLIP_FRAMES


# ---------------------------------------------------------------------------------------- discovery


@pytest.mark.parametrize("extension", NEW_EXTENSIONS)
def test_folder_run_picks_up(tmp_path: Path, extension: str) -> None:
    media = tmp_path / "media"
    media.mkdir()
    for name in (f"clip{extension}", f"LOUD{extension.upper()}", "notes.txt"):
        (media / name).write_bytes(b"\x00" * 32)
    inputs, problems = discover_inputs([media], tmp_path / "out")
    assert problems == []
    assert sorted(video.path.name for video in inputs) == sorted([f"clip{extension}", f"LOUD{extension.upper()}"])


def test_readme_lists_every_extension_a_folder_run_picks_up() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`(\.[0-9a-z]+)`", readme))
    assert VIDEO_EXTENSIONS <= listed, sorted(VIDEO_EXTENSIONS - listed)


# ------------------------------------------------------------------------------------ summary table


def rendered(results: list[VideoResult], output_root: Path, width: int = 80) -> list[str]:
    console = Console(file=io.StringIO(), width=width)
    console.print(summary_table(results, output_root))
    return console.file.getvalue().splitlines()


def test_summary_table_at_80_columns_has_one_short_line_per_input() -> None:
    media, out = Path("/home/someone/a rather long folder name/media"), Path("/home/someone/facepics")
    names = ["clip", "day1/clip", "day2/interview-with-a-long-name"]
    results = [VideoResult(str(media / f"{name}.mp4"), str(out / name), "complete", frames=1250,
                           processing_fps=41.25, tracks=12, faces_detected=11000, crops_saved=12) for name in names]
    results.append(VideoResult(str(media / "bad.mp4"), str(out / "bad"), "failed",
                               message="not a readable video (unknown format or damaged file) " * 2))
    results.append(VideoResult("missing.mp4", "", "skipped", message="no such file or folder"))
    lines = rendered(results, out)
    assert all(len(line) <= 80 for line in lines)
    assert sum(str(out) in line for line in lines) == 1  # the output root, once, above the table
    assert lines[:2] == ["FaceTrack summary", f"outputs in {out}"] and lines[2].split() == [
        "input", "status", "frames", "fps", "tracks", "faces", "crops"]
    for name in names:
        (row,) = [line for line in lines if line.split()[0] == name]
        assert row.split()[1:] == ["complete", "1250", "41.2", "12", "11000", "12"]
    assert str(media) not in "\n".join(lines[:-2])  # inputs shown by their output names, not their paths
    bad = next(index for index, line in enumerate(lines) if line.startswith("bad "))
    assert lines[bad].split()[1] == "failed" and lines[bad + 1].startswith("  not a readable video")
    assert lines[-2].split()[:2] == ["missing.mp4", "skipped"]  # no outputs: the path as given
    assert lines[-1] == "  no such file or folder"


def test_summary_table_puts_a_name_too_long_for_the_width_on_its_own_line() -> None:
    name, out = "x" * 70, Path("out")
    results = [VideoResult(f"/in/{name}.mp4", str(out / name), "complete", frames=3),
               VideoResult("/in/short.mp4", str(out / "short"), "complete", frames=3)]
    lines = rendered(results, out)
    assert lines[3] == name and lines[4].split()[:2] == ["complete", "3"]
    assert lines[5].startswith("short  complete")  # the column stays as wide as the names that fit

