"""Soak test: a long synthetic 640x480 video streamed through the full pipeline.

    python benchmarks/soak.py [--minutes 60] [--detect-every 1] [--output /tmp/facetrack-soak]

The source cycles a pre-rendered synthetic clip (faces crossing, occluding, leaving and
re-entering), so generating frames costs almost nothing and the pipeline is what is measured.
Every ``--report-every`` seconds of video it records resident memory, open file descriptors,
live threads and the throughput of the last window, and prints them as a table: memory,
handles and throughput must stay flat for the whole run.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from apps.options import TrackingOptions  # noqa: E402
from apps.sources import SourceInfo  # noqa: E402
from benchmarks.synthetic import ClipSpec, render_clip, synthetic_sprites  # noqa: E402
from apps.video_job import track_source  # noqa: E402
from detectors import load_detector  # noqa: E402

FPS = 25.0


def resident_mb() -> float:
    """Resident set size of this process in MB (Linux /proc; peak RSS elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_files() -> int:
    """Open file descriptors of this process (-1 where /proc is missing)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def looped_frames(total: int, loop_frames: int = 250) -> Iterator[np.ndarray]:
    """``total`` frames cycling one pre-rendered 640x480 synthetic clip (copies: the pipeline draws on them)."""
    spec = ClipSpec(width=640, height=480, fps=FPS, frames=loop_frames, faces=4, seed=11, min_size=50, max_size=120)
    clip = [frame for frame, _ in render_clip(spec, synthetic_sprites(4, 11))]
    for frame in itertools.islice(itertools.cycle(clip), total):
        yield frame.copy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the synthetic video")
    parser.add_argument("--detect-every", type=int, default=1)
    parser.add_argument("--detector", default="faceboxes")
    parser.add_argument("--report-every", type=float, default=300.0, help="seconds of video between table rows")
    parser.add_argument("--output", type=Path, default=Path(tempfile.gettempdir()) / "facetrack-soak")
    args = parser.parse_args()

    total = int(args.minutes * 60 * FPS)
    every = max(int(args.report_every * FPS), 1)
    detector = load_detector(args.detector, score_threshold=0.1)
    rows: list[tuple[float, int, float, float, int, int]] = []
    window = {"start": time.perf_counter(), "frames": 0}

    def sample(index: int) -> None:
        if (index + 1) % every and index + 1 != total and index != 0:
            return
        now = time.perf_counter()
        fps = (index + 1 - window["frames"]) / max(now - window["start"], 1e-9) if index else 0.0
        rows.append(((index + 1) / FPS / 60, index + 1, fps, resident_mb(), open_files(), threading.active_count()))
        window.update(start=now, frames=index + 1)
        print(f"  {rows[-1][0]:6.1f} min  {fps:6.1f} fps  {rows[-1][3]:7.1f} MB", flush=True)

    info = SourceInfo("soak", FPS, total, 640, 480)
    started = time.perf_counter()
    result = track_source(looped_frames(total), info, args.output / "soak-run", detector.detect,
                          TrackingOptions(detect_every=args.detect_every), stop=threading.Event(), on_frame=sample)
    elapsed = time.perf_counter() - started
    print(f"\n{result.frames} frames ({args.minutes:g} min of 640x480 video at {FPS:g} fps) in {elapsed / 60:.1f} min, "
          f"status {result.status}, {result.tracks} tracks, detect-every {args.detect_every}\n")
    print("| video time (min) | frames | fps (last window) | RSS (MB) | open files | threads |")
    print("|---:|---:|---:|---:|---:|---:|")
    for minutes, frames, fps, rss, files, threads in rows:
        print(f"| {minutes:.1f} | {frames} | {fps:.1f} | {rss:.1f} | {files} | {threads} |")


if __name__ == "__main__":
    main()
