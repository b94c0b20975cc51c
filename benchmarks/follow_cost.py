"""Cost per frame of following N faces in windows, next to a full-frame scan of the same frame.

    python benchmarks/follow_cost.py [--faces 1 10 50] [--detector faceboxes] [--runs 20] [--threads 1]

A 1920x1080 frame holds N copies of the project's own demo faces (``media/demo.mp4``, frame 1),
each about 85 px, on a grid; the tracker is started from their boxes, then every measured frame is one
``FaceTracker.follow`` call (window geometry, one batched ``detect_windows`` call, association,
Kalman updates) on the same frame. Printed: the median ms per followed frame, the windows per
frame (capped by ``TrackerConfig.max_follow_windows``: tracks past the cap are predicted on that
frame, the most uncertain get windows first) and the median ms of one full-frame scan
(``detect``), which the follow frames replace.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.detector_spec import prepare_for_tracking  # noqa: E402
from detectors import load_detector  # noqa: E402
from tracker import FaceTracker, TrackerConfig  # noqa: E402

FRAME_SIZE = (1920, 1080)
#: Side of each face crop in the frame (the face inside is about 85 px, a crowd at 1080p).
CROP_SIDE = 120


def demo_faces() -> list[np.ndarray]:
    """Crops (with a margin) of the visible faces on the first frame of ``media/demo.mp4``."""
    capture = cv2.VideoCapture(str(ROOT / "media" / "demo.mp4"))
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise SystemExit("cannot read media/demo.mp4")
    rows = np.loadtxt(ROOT / "media" / "demo_gt.txt", delimiter=",", ndmin=2)
    crops = []
    for x, y, w, h in rows[(rows[:, 0] == 1) & (rows[:, 6] == 1)][:, 2:6]:
        x1, y1 = max(int(x - 0.2 * w), 0), max(int(y - 0.2 * h), 0)
        crops.append(frame[y1 : int(y + 1.2 * h), x1 : int(x + 1.2 * w)])
    return crops


def crowd_frame(faces: int, crops: list[np.ndarray], side: int = CROP_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """A grey 1080p frame with ``faces`` face crops of ``side`` px on a grid, and their (N, 5) boxes
    (score 0.9; the crops carry a 20 % margin around the face)."""
    width, height = FRAME_SIZE
    frame = np.full((height, width, 3), 110, np.uint8)
    pitch = int(side * 1.5)
    columns = width // pitch
    if faces > columns * (height // pitch):
        raise SystemExit(f"{faces} faces of {side} px do not fit a 1080p frame")
    boxes = []
    for index in range(faces):
        x, y = (index % columns) * pitch, (index // columns) * pitch
        frame[y : y + side, x : x + side] = cv2.resize(crops[index % len(crops)], (side, side))
        margin = side / 1.4 * 0.2
        boxes.append([x + margin, y + margin, x + side - margin, y + side - margin, 0.9])
    return frame, np.array(boxes)


def median_ms(function, runs: int) -> float:
    """Median wall time of ``function()`` in milliseconds over ``runs`` calls (after one warm-up)."""
    function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--detector", default="faceboxes")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    detector = load_detector(args.detector, threads=args.threads)
    high, low = prepare_for_tracking(detector)
    crops = demo_faces()
    print(f"\n{args.detector}, 1920x1080 frame, {args.threads} thread(s), window tile {detector.window_tile} px\n")
    print("| faces | windows per frame | ms per followed frame | ms per full scan |")
    print("|---:|---:|---:|---:|")
    for faces in args.faces:
        frame, boxes = crowd_frame(faces, crops)
        tracker = FaceTracker(TrackerConfig(high_score=high, low_score=low), fps=25.0)
        tracker.update(boxes, frame)
        windows: list[int] = []

        def detect_windows(image: np.ndarray, squares: np.ndarray) -> list[np.ndarray]:
            windows.append(len(squares))
            return detector.detect_windows(image, squares)

        follow = median_ms(lambda: tracker.follow(frame, detect_windows), args.runs)
        scan = median_ms(lambda: detector.detect(frame), args.runs)
        print(f"| {faces} | {statistics.median(windows):.0f} | {follow:.1f} | {scan:.1f} |")


if __name__ == "__main__":
    main()
