"""Where the CPU of one pipeline run goes: thread CPU milliseconds per frame of each stage.

    python benchmarks/pipeline_stages.py [VIDEO] [--loop 630] [--detect-every 5] [--no-follow]

Runs ``start.py``'s pipeline (``apps.video_job.track_source``, FaceBoxes on one thread, H.264
``ultrafast``) on VIDEO (default: the shared 1080p street clip, looped by copying packets as
``benchmarks/pipeline_speed.py`` does) with the stages below timed by the CPU time of the thread
that runs them (``time.thread_time``: waiting for a lock, a queue or the GIL costs nothing), and
prints milliseconds per frame next to the whole process's CPU per frame (every thread, FFmpeg's,
x264's and ONNX Runtime's included). Stages (nested ones are indented; an outer stage includes them):

* full scans (``OnnxFaceDetector.detect``);
* follow (``FaceTracker.follow``), of which the windows' detection (``OnnxFaceDetector.detect_windows``),
  of which the network (``run_network_batch``);
* the face verifier (``FaceVerifier.keep``), part of the full scans;
* tracker update after a scan (``FaceTracker.update``);
* shot cuts (``ShotCutDetector.update``);
* the whole detect+track stage (``FrameProcessor.process``), which holds all of the above;
* writing a frame (``VideoOutputs.write``: track files, drawing, video), of which the H.264 writer
  (colour conversion and handing the frame to x264; x264's own threads count in the process CPU only).

The stages are timed by wrapping those methods for the run; nothing else changes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.detector_spec import DetectorSpec  # noqa: E402
from apps.options import TrackingOptions  # noqa: E402
from apps.pipeline import FrameProcessor  # noqa: E402
from apps.shot_cuts import ShotCutDetector  # noqa: E402
from apps.sources import VideoFileSource  # noqa: E402
from apps.video_job import VideoOutputs, track_source  # noqa: E402
from apps.video_writers import H264VideoWriter  # noqa: E402
from benchmarks.pipeline_speed import DEFAULT_VIDEO, loop_video, prepared_for_tracking  # noqa: E402
from detectors.runtime import OnnxFaceDetector  # noqa: E402
from detectors.verification import FaceVerifier  # noqa: E402
from tracker import FaceTracker  # noqa: E402

#: (row label, class, method name): the timed stages, in the order printed (indent = nesting).
STAGES: tuple[tuple[str, type, str], ...] = (
    ("full scans", OnnxFaceDetector, "detect"),
    ("follow", FaceTracker, "follow"),
    ("  windows' detection", OnnxFaceDetector, "detect_windows"),
    ("    network", OnnxFaceDetector, "run_network_batch"),
    ("face verifier (part of the full scans)", FaceVerifier, "keep"),
    ("tracker update after a scan", FaceTracker, "update"),
    ("shot cuts", ShotCutDetector, "update"),
    ("detect+track stage (all of the above)", FrameProcessor, "process"),
    ("writing a frame", VideoOutputs, "write"),
    ("  H.264 writer", H264VideoWriter, "write"),
)


@contextmanager
def timed_stages(seconds: dict[str, float]) -> Iterator[None]:
    """While open, every method of :data:`STAGES` adds the CPU time of its calling thread to ``seconds[label]``."""
    originals = [(owner, name, getattr(owner, name)) for _, owner, name in STAGES]

    def timed(label: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                seconds[label] += time.thread_time() - started

        return wrapper

    try:
        for (label, _, _), (owner, name, method) in zip(STAGES, originals):
            setattr(owner, name, timed(label, method))
        yield
    finally:
        for owner, name, method in originals:
            setattr(owner, name, method)


def stage_costs(video: Path, output: Path, options: TrackingOptions) -> tuple[int, float, dict[str, float]]:
    """Frames, process CPU ms per frame and each stage's thread CPU ms per frame of one run on ``video``."""
    detector = DetectorSpec(threads=1).load()
    options = prepared_for_tracking(detector, options)
    source = VideoFileSource(video)
    seconds: dict[str, float] = defaultdict(float)
    with timed_stages(seconds):
        cpu_started = time.process_time()
        result = track_source(source, source.info, output, detector.detect, options, stop=threading.Event())
        cpu = time.process_time() - cpu_started
    frames = max(result.frames, 1)
    return result.frames, 1000 * cpu / frames, {label: 1000 * seconds[label] / frames for label, _, _ in STAGES}


def format_table(frames: int, process_ms: float, stages: dict[str, float]) -> str:
    """A markdown table: one row per stage, then the process's CPU per frame."""
    lines = [f"| stage ({frames} frames) | thread CPU ms / frame |", "|---|---:|"]
    lines += [f"| {label} | {value:.2f} |" for label, value in stages.items()]
    lines.append(f"| whole process (all threads) | {process_ms:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--loop", type=int, default=630, help="repeat the video to at least this many frames")
    parser.add_argument("--detect-every", type=int, default=TrackingOptions().detect_every)
    parser.add_argument("--no-follow", action="store_true", help="predict between scans instead of following")
    args = parser.parse_args(argv)
    if not args.video.exists():
        print(f"skipping: {args.video} not found")
        return
    options = TrackingOptions(detect_every=args.detect_every, follow=not args.no_follow)
    with tempfile.TemporaryDirectory() as scratch:
        video = args.video
        frames = VideoFileSource(video).info.frame_count or 0
        if args.loop and 0 < frames < args.loop:
            video = loop_video(video, Path(scratch) / f"looped{video.suffix}", -(-args.loop // frames))
        print(format_table(*stage_costs(video, Path(scratch) / "out", options)))


if __name__ == "__main__":
    main()
