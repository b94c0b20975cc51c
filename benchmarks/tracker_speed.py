"""Time FaceTracker.update (mean and p95 ms) with 1, 10 and 50 faces on synthetic clips.

Detections are the oracle ones of ``tracking_quality`` (noisy ground truth,
20 % dropped); only ``update`` is timed, not rendering or detection. The first
frames are a warm-up and are not counted.

Usage: ``python benchmarks/tracker_speed.py [--frames N] [--detect-every K]``
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import ClipSpec, render_clip, synthetic_sprites  # noqa: E402
from benchmarks.mot_eval import format_table  # noqa: E402
from benchmarks.tracking_quality import OracleDetector, make_tracker  # noqa: E402

WARMUP_FRAMES = 10
COLUMNS = {"faces": "faces", "appearance": "appearance", "detections": "dets/frame",
           "mean": "mean ms", "p95": "p95 ms", "max": "max ms"}


def clip_for(faces: int, frames: int) -> ClipSpec:
    """A 1280x720 clip in which the faces stay in the frame, so most are detected on every detector frame."""
    return ClipSpec(width=1280, height=720, frames=frames, faces=faces, seed=faces, min_size=30, max_size=80,
                    allow_exit=False, occluder=False)


def time_updates(spec: ClipSpec, use_appearance: bool, detect_every: int) -> dict[str, float]:
    """Run the tracker over the clip; return update-time statistics in ms and detections per frame."""
    tracker = make_tracker(use_appearance, spec.fps)
    detector = OracleDetector(spec.seed)
    times, counts = [], []
    for index, (frame, truth) in enumerate(render_clip(spec, synthetic_sprites(spec.faces, spec.seed))):
        detections = detector(index, frame, truth) if index % detect_every == 0 else None
        start = time.perf_counter()
        tracker.update(detections, frame)
        elapsed = time.perf_counter() - start
        if index >= WARMUP_FRAMES:
            times.append(elapsed * 1000)
            if detections is not None:
                counts.append(len(detections))
    ms = np.array(times)
    return {"mean": float(ms.mean()), "p95": float(np.percentile(ms, 95)), "max": float(ms.max()),
            "detections": float(np.mean(counts)) if counts else 0.0}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=150, help="frames per clip (first 10 not timed)")
    parser.add_argument("--detect-every", type=int, default=1, help="run the oracle detector every k-th frame")
    args = parser.parse_args()
    rows = []
    for faces in (1, 10, 50):
        spec = clip_for(faces, args.frames)
        for use_appearance in (True, False):
            stats = time_updates(spec, use_appearance, args.detect_every)
            rows.append({"faces": faces, "appearance": "on" if use_appearance else "off", **stats})
    print(f"FaceTracker.update on 1280x720 frames, detector every {args.detect_every} frame(s), "
          f"{args.frames - WARMUP_FRAMES} timed frames")
    print(format_table(rows, COLUMNS))


if __name__ == "__main__":
    main()
