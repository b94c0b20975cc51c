"""Pipeline throughput vs the decode+encode-only baseline of the same video, in one run.

    python benchmarks/pipeline_speed.py [VIDEO] [--detector faceboxes] [--detect-every 1 3 5]

Prints a table: frames/s of decode+encode only (the ceiling of any pipeline that writes an
annotated video), and of the full FaceTrack pipeline at each detect-every setting, with the
ratio to the baseline.
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

import cv2  # noqa: E402

from apps.options import CropMode, TrackingOptions  # noqa: E402
from apps.sources import VideoFileSource  # noqa: E402
from apps.video_job import track_source  # noqa: E402
from detectors import load_detector  # noqa: E402

DEFAULT_VIDEO = ROOT.parent / "shared" / "media" / "street-1080p.mp4"


def decode_encode_fps(video: Path, output: Path) -> tuple[int, float]:
    """Frames and frames/s of decoding ``video`` and encoding it unchanged with the pipeline's codec."""
    source = VideoFileSource(video)
    writer = None
    frames = 0
    started = time.perf_counter()
    for frame in source:
        if writer is None:
            size = (frame.shape[1], frame.shape[0])
            writer = cv2.VideoWriter(str(output), cv2.VideoWriter_fourcc(*"mp4v"), source.info.fps, size)
        writer.write(frame)
        frames += 1
    writer.release()
    return frames, frames / (time.perf_counter() - started)


def pipeline_fps(
    video: Path, output: Path, detector_name: str, detect_every: int, threads: int | None, max_side: int
) -> tuple[int, float, int]:
    """Frames, frames/s and tracks of the full pipeline on ``video`` (detector at its recommended threshold)."""
    detector = load_detector(detector_name, threads=threads, max_side=max_side)
    source = VideoFileSource(video)
    options = TrackingOptions(detect_every=detect_every, crops=CropMode.best)
    started = time.perf_counter()
    result = track_source(source, source.info, output, detector.detect, options, stop=threading.Event())
    elapsed = time.perf_counter() - started
    return result.frames, result.frames / elapsed, result.tracks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--detector", default="faceboxes")
    parser.add_argument("--detect-every", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--threads", type=int, default=None, help="detector threads (default: onnxruntime)")
    parser.add_argument("--max-side", type=int, nargs="+", default=[1024], help="detector input caps to compare")
    args = parser.parse_args()
    if not args.video.exists():
        print(f"skipping: {args.video} not found")
        return
    with tempfile.TemporaryDirectory() as scratch:
        frames, baseline = decode_encode_fps(args.video, Path(scratch) / "copy.mp4")
        rows = [("decode+encode only", frames, baseline, 1.0, "-")]
        for max_side in args.max_side:
            for every in args.detect_every:
                count, fps, tracks = pipeline_fps(args.video, Path(scratch) / f"every{every}-{max_side}", args.detector,
                                                  every, args.threads, max_side)
                name = f"pipeline {args.detector} max-side {max_side} detect-every {every}"
                rows.append((name, count, fps, fps / baseline, str(tracks)))
    print(f"\n{args.video.name}\n")
    print("| run | frames | fps | ratio to decode+encode | tracks |")
    print("|---|---:|---:|---:|---:|")
    for name, count, fps, ratio, tracks in rows:
        print(f"| {name} | {count} | {fps:.1f} | {ratio:.2f} | {tracks} |")


if __name__ == "__main__":
    main()
