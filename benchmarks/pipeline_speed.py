"""Pipeline throughput vs the decode+encode-only baseline of the same video, in one run.

    python benchmarks/pipeline_speed.py [VIDEO] [--detector faceboxes] [--detect-every 1 3 5]
        [--codec h264|mp4v] [--preset superfast]

Prints a table: frames/s of decoding only, of decode+encode with each codec (H.264 through PyAV
with the audio copied, and OpenCV's mp4v: the encode cost of each), and of the full FaceTrack
pipeline at each detect-every setting, with the ratio to decode+encode with the pipeline's codec
(the ceiling of any pipeline that writes that annotated video), and the CPU time each run
spends per frame in all its threads (on a machine with C cores no run can exceed
C * 1000 / (CPU ms per frame) frames/s).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.options import CropMode, TrackingOptions  # noqa: E402
from apps.sources import VideoFileSource  # noqa: E402
from apps.video_writers import VideoSettings, open_video_writer  # noqa: E402
from apps.video_job import track_source  # noqa: E402
from detectors import load_detector  # noqa: E402

DEFAULT_VIDEO = ROOT.parent / "shared" / "media" / "street-1080p.mp4"


def decode_encode_fps(video: Path, output: Path | None, settings: VideoSettings) -> tuple[int, float]:
    """Frames and frames/s of decoding ``video`` and (unless ``output`` is None) writing it unchanged
    with the pipeline's video writer and ``settings``."""
    source = VideoFileSource(video)
    writer = None
    frames = 0
    started = time.perf_counter()
    for frame in source:
        if output is not None:
            if writer is None:
                size = (frame.shape[1], frame.shape[0])
                writer = open_video_writer(output, source.info.fps, size, settings, audio_from=video)
            writer.write(frame, source.last_frame_time)
        frames += 1
    if writer is not None:
        writer.close()
    return frames, frames / (time.perf_counter() - started)


def pipeline_fps(
    video: Path, output: Path, detector_name: str, detect_every: int, threads: int | None, max_side: int,
    settings: VideoSettings,
) -> tuple[int, float, int]:
    """Frames, frames/s and tracks of the full pipeline on ``video`` (detector at its recommended threshold)."""
    detector = load_detector(detector_name, threads=threads, max_side=max_side)
    source = VideoFileSource(video)
    options = TrackingOptions(detect_every=detect_every, crops=CropMode.best, video=settings)
    started = time.perf_counter()
    result = track_source(source, source.info, output, detector.detect, options, stop=threading.Event())
    elapsed = time.perf_counter() - started
    return result.frames, result.frames / elapsed, result.tracks


def cpu_ms_per_frame(cpu_started: float, frames: int) -> float:
    """CPU time of this process (all threads, including the codecs' and ONNX Runtime's) since
    ``cpu_started`` (a :func:`time.process_time` reading), per frame, in milliseconds."""
    return 1000.0 * (time.process_time() - cpu_started) / max(frames, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--detector", default="faceboxes")
    parser.add_argument("--detect-every", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--threads", type=int, default=None, help="detector threads (default: onnxruntime)")
    parser.add_argument("--max-side", type=int, nargs="+", default=[1024], help="detector input caps to compare")
    parser.add_argument("--codec", choices=["h264", "mp4v"], default="h264", help="codec of the pipeline runs")
    parser.add_argument("--preset", default=VideoSettings.preset, help="libx264 preset")
    args = parser.parse_args()
    settings = VideoSettings(codec=args.codec, preset=args.preset)
    if not args.video.exists():
        print(f"skipping: {args.video} not found")
        return
    with tempfile.TemporaryDirectory() as scratch:
        cpu_started = time.process_time()
        frames, decode_only = decode_encode_fps(args.video, None, settings)
        rows = [["decode only", frames, decode_only, cpu_ms_per_frame(cpu_started, frames), "-"]]
        for codec in ("h264", "mp4v"):
            copy = Path(scratch) / f"copy-{codec}.mp4"
            cpu_started = time.process_time()
            fps = decode_encode_fps(args.video, copy, VideoSettings(codec=codec, preset=args.preset))[1]
            megabytes = copy.stat().st_size / 1e6
            name = f"decode+encode {codec}" + (f" ({args.preset}, audio copied)" if codec == "h264" else " (OpenCV)")
            rows.append([f"{name}, {megabytes:.1f} MB", frames, fps, cpu_ms_per_frame(cpu_started, frames), "-"])
            if codec == args.codec:
                baseline = fps
        for max_side in args.max_side:
            for every in args.detect_every:
                cpu_started = time.process_time()
                count, fps, tracks = pipeline_fps(args.video, Path(scratch) / f"every{every}-{max_side}", args.detector,
                                                  every, args.threads, max_side, settings)
                name = f"pipeline {args.detector} max-side {max_side} detect-every {every}"
                rows.append([name, count, fps, cpu_ms_per_frame(cpu_started, count), str(tracks)])
    print(f"\n{args.video.name}\n")
    print(f"| run | frames | fps | ratio to decode+encode {args.codec} | CPU ms/frame | tracks |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, count, fps, cpu_ms, tracks in rows:
        print(f"| {name} | {count} | {fps:.1f} | {fps / baseline:.2f} | {cpu_ms:.1f} | {tracks} |")


if __name__ == "__main__":
    main()
