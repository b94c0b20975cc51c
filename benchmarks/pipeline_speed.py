"""Pipeline throughput vs the decode+encode-only baseline of the same video, in one run.

    python benchmarks/pipeline_speed.py [VIDEO] [--detector faceboxes] [--detect-every 1 3 5]
        [--follow-every 5 10] [--loop 630] [--codec h264|mp4v] [--preset superfast]

Prints a table: frames/s of decoding only, of decode+encode with each codec (H.264 through PyAV
with the audio copied, and OpenCV's mp4v: the encode cost of each), and of the full FaceTrack
pipeline at each detect-every setting (tracks only predicted between full scans), with follow
windows at each --follow-every setting, and at the defaults of ``start.py VIDEO`` (the first
pipeline row), with the ratio to decode+encode with the pipeline's codec
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
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.detector_spec import DetectorSpec, prepare_for_tracking  # noqa: E402
from apps.options import TrackingOptions  # noqa: E402
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


def loop_video(video: Path, target: Path, times: int) -> Path:
    """``video`` repeated ``times`` times into ``target`` by copying its packets (no re-encoding;
    video and audio streams, timestamps shifted by one duration per repetition)."""
    import av

    with av.open(str(video)) as source, av.open(str(target), "w") as output:
        streams = [stream for stream in source.streams if stream.type in ("video", "audio")]
        copies = {stream.index: output.add_stream_from_template(stream) for stream in streams}
        span = {}
        for stream in streams:
            packets = [packet for packet in source.demux(stream) if packet.dts is not None]
            source.seek(0)
            last = max(packets, key=lambda packet: packet.pts)
            span[stream.index] = last.pts + (last.duration or 1) - min(packet.pts for packet in packets)
        for repetition in range(times):
            source.seek(0)
            for packet in source.demux(*streams):
                if packet.dts is None:
                    continue
                shift = repetition * span[packet.stream.index]
                packet.pts += shift
                packet.dts += shift
                packet.stream = copies[packet.stream.index]
                output.mux(packet)
    return target


def prepared_for_tracking(detector: Any, options: TrackingOptions) -> TrackingOptions:
    """Switch ``detector`` to tracking use and return ``options`` with the tracker at its scores, as
    start.py sets them (:func:`apps.detector_spec.prepare_for_tracking`)."""
    high, low = prepare_for_tracking(detector)
    return replace(options, tracker=replace(options.tracker, high_score=high, low_score=low))


def pipeline_fps(
    video: Path, output: Path, detector_name: str, options: TrackingOptions, threads: int | None, max_side: int,
) -> tuple[int, float, int]:
    """Frames, frames/s and tracks of the full pipeline on ``video`` (detector and tracker at the model's
    recommended scores, as start.py sets them)."""
    detector = load_detector(detector_name, threads=threads, max_side=max_side)
    options = prepared_for_tracking(detector, options)
    source = VideoFileSource(video)
    started = time.perf_counter()
    result = track_source(source, source.info, output, detector.detect, options, stop=threading.Event())
    elapsed = time.perf_counter() - started
    return result.frames, result.frames / elapsed, result.tracks


def cpu_ms_per_frame(cpu_started: float, frames: int) -> float:
    """CPU time of this process (all threads, including the codecs' and ONNX Runtime's) since
    ``cpu_started`` (a :func:`time.process_time` reading), per frame, in milliseconds."""
    return 1000.0 * (time.process_time() - cpu_started) / max(frames, 1)


def pipeline_runs(args: argparse.Namespace, settings: VideoSettings) -> list[tuple[str, str, TrackingOptions]]:
    """(row name, detector, options) of every pipeline run: the defaults first, then each
    detect-every setting without and with follow windows."""
    default_detector = DetectorSpec().name
    runs = [(f"pipeline defaults ({default_detector}, detect-every {TrackingOptions().detect_every}, follow)",
             default_detector, TrackingOptions(video=settings))]
    for every in args.detect_every:
        runs.append((f"pipeline {args.detector} detect-every {every}, no follow", args.detector,
                     TrackingOptions(detect_every=every, follow=False, video=settings)))
    for every in args.follow_every:
        runs.append((f"pipeline {args.detector} detect-every {every}, follow", args.detector,
                     TrackingOptions(detect_every=every, video=settings)))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--detector", default="faceboxes", help="detector of the detect-every / follow rows")
    parser.add_argument("--detect-every", type=int, nargs="*", default=[1, 3], help="full-scan periods, no follow")
    parser.add_argument("--follow-every", type=int, nargs="*", default=[5, 10], help="full-scan periods with follow")
    parser.add_argument("--loop", type=int, default=630, help="repeat the video to at least this many frames")
    parser.add_argument("--threads", type=int, default=1, help="detector threads (start.py's default: 1)")
    parser.add_argument("--max-side", type=int, default=1024, help="detector input cap")
    parser.add_argument("--codec", choices=["h264", "mp4v"], default="h264", help="codec of the pipeline runs")
    parser.add_argument("--preset", default=VideoSettings.preset, help="libx264 preset")
    args = parser.parse_args()
    settings = VideoSettings(codec=args.codec, preset=args.preset)
    if not args.video.exists():
        print(f"skipping: {args.video} not found")
        return
    with tempfile.TemporaryDirectory() as scratch:
        video = args.video
        frames = VideoFileSource(video).info.frame_count or 0
        if args.loop and 0 < frames < args.loop:
            video = loop_video(video, Path(scratch) / f"looped{video.suffix}", -(-args.loop // frames))
        cpu_started = time.process_time()
        frames, decode_only = decode_encode_fps(video, None, settings)
        rows = [["decode only", frames, decode_only, cpu_ms_per_frame(cpu_started, frames), "-"]]
        for codec in ("h264", "mp4v"):
            copy = Path(scratch) / f"copy-{codec}.mp4"
            cpu_started = time.process_time()
            fps = decode_encode_fps(video, copy, VideoSettings(codec=codec, preset=args.preset))[1]
            megabytes = copy.stat().st_size / 1e6
            name = f"decode+encode {codec}" + (f" ({args.preset}, audio copied)" if codec == "h264" else " (OpenCV)")
            rows.append([f"{name}, {megabytes:.1f} MB", frames, fps, cpu_ms_per_frame(cpu_started, frames), "-"])
            if codec == args.codec:
                baseline = fps
        for number, (name, detector, options) in enumerate(pipeline_runs(args, settings)):
            cpu_started = time.process_time()
            count, fps, tracks = pipeline_fps(video, Path(scratch) / f"run{number}", detector, options,
                                              args.threads, args.max_side)
            rows.append([name, count, fps, cpu_ms_per_frame(cpu_started, count), str(tracks)])
    print(f"\n{args.video.name} ({frames} frames)\n")
    print(f"| run | frames | fps | ratio to decode+encode {args.codec} | CPU ms/frame | tracks |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, count, fps, cpu_ms, tracks in rows:
        print(f"| {name} | {count} | {fps:.1f} | {fps / baseline:.2f} | {cpu_ms:.1f} | {tracks} |")


if __name__ == "__main__":
    main()
