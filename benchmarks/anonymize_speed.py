"""What anonymising costs: per face, and in the whole pipeline on a large-face clip, in one run.

    python benchmarks/anonymize_speed.py [VIDEO] [--sizes 64 128 256 340 512] [--runs 50]

First table: milliseconds to hide one face of each size (a face of the bundled demo clip, resized;
median of ``--runs``; the filter and the ellipse compositing) for every ``--anonymize`` mode, next to
``blur`` as it was before (a Gaussian kernel half the face at full resolution), and how much detail
survives: the Laplacian energy of the hidden face over the original's (lower hides more). Second
table: the full pipeline on VIDEO (default: studio-1, 700x700 with one large face) without
anonymising and with each mode.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import apps.anonymize  # noqa: E402
from apps.anonymize import AnonymizeMode, anonymize_faces  # noqa: E402
from apps.detector_spec import DetectorSpec  # noqa: E402
from apps.options import TrackingOptions  # noqa: E402
from apps.sources import VideoFileSource  # noqa: E402
from apps.video_job import track_source  # noqa: E402

DEFAULT_VIDEO = ROOT.parent / "shared" / "media" / "studio-1.mp4"
DEMO_CLIP = ROOT / "media" / "demo.mp4"
#: x1, y1, x2, y2 of a face in the demo clip's first frame (media/demo_gt.txt, track 2).
DEMO_FACE = (147, 366, 235, 463)


def full_size_gaussian(patch: np.ndarray) -> np.ndarray:
    """The blur as it was: a Gaussian kernel about half the face, at full resolution."""
    kernel = max(int(max(patch.shape[:2]) / 2) | 1, 3)
    return cv2.GaussianBlur(patch, (kernel, kernel), 0)


def laplacian_energy(image: np.ndarray) -> float:
    """Mean squared Laplacian of the grey image's central half (well inside the hiding ellipse): how
    much fine detail it holds."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    height, width = grey.shape
    centre = cv2.Laplacian(grey, cv2.CV_32F)[height // 4: height - height // 4, width // 4: width - width // 4]
    return float(np.mean(centre ** 2))


def demo_face() -> np.ndarray:
    """A face of the bundled demo clip (about 90 px)."""
    capture = cv2.VideoCapture(str(DEMO_CLIP))
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise SystemExit(f"cannot read {DEMO_CLIP}")
    x1, y1, x2, y2 = DEMO_FACE
    return frame[y1:y2, x1:x2]


def hide_as_before(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """``anonymize_faces(..., blur)`` with the blur as it was: full resolution, a kernel half the face."""
    current = apps.anonymize._blurred
    apps.anonymize._blurred = full_size_gaussian
    try:
        return anonymize_faces(image, box, AnonymizeMode.blur, margin=0.0)
    finally:
        apps.anonymize._blurred = current


def median_ms(function: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return 1000.0 * float(np.median(times))


def per_face_rows(sizes: list[int], runs: int) -> list[tuple[str, int, float, float]]:
    """(method, face size, ms per face, Laplacian energy ratio) for every method and size."""
    source = demo_face()
    rows = []
    for size in sizes:
        face = cv2.resize(source, (size, size), interpolation=cv2.INTER_CUBIC)
        box = np.array([[0.0, 0.0, size, size]])  # margin 0: the ellipse inscribed in the region
        methods: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            "blur before (Gaussian at full size)": lambda image: hide_as_before(image, box),
            **{mode.value: (lambda image, mode=mode: anonymize_faces(image, box, mode, margin=0.0))
               for mode in AnonymizeMode},
        }
        for name, hide in methods.items():
            milliseconds = median_ms(lambda: hide(face.copy()), runs)
            hidden = hide(face.copy())
            rows.append((name, size, milliseconds, laplacian_energy(hidden) / laplacian_energy(face)))
    return rows


def pipeline_rows(video: Path, threads: int) -> list[tuple[str, int, float]]:
    """(anonymize mode, frames, frames/s) of the default pipeline on ``video`` without and with each mode."""
    detector = DetectorSpec(threads=threads).load_for_tracking()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for number, mode in enumerate((None, None, *AnonymizeMode)):  # the first run warms up, not shown
            source = VideoFileSource(video)
            options = TrackingOptions(anonymize=mode)
            started = time.perf_counter()
            result = track_source(source, source.info, Path(scratch) / str(number), detector.detect, options,
                                  stop=threading.Event())
            rows.append((mode.value if mode else "none", result.frames, result.frames / (time.perf_counter() - started)))
            source.close()
    return rows[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--sizes", type=int, nargs="*", default=[64, 128, 256, 340, 512], help="face sizes (px)")
    parser.add_argument("--runs", type=int, default=50, help="repetitions per face measurement")
    parser.add_argument("--threads", type=int, default=1, help="detector threads (start.py's default: 1)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print("| method | face px | ms per face | Laplacian energy left |")
    print("|---|---:|---:|---:|")
    for name, size, milliseconds, left in per_face_rows(args.sizes, args.runs):
        print(f"| {name} | {size} | {milliseconds:.2f} | {left:.3f} |")
    if not args.video.exists():
        print(f"\nskipping the pipeline: {args.video} not found")
        return
    rows = pipeline_rows(args.video, args.threads)
    print(f"\n{args.video.name}, pipeline defaults\n")
    print("| --anonymize | frames | fps | ratio to none |")
    print("|---|---:|---:|---:|")
    for mode, frames, fps in rows:
        print(f"| {mode} | {frames} | {fps:.1f} | {fps / rows[0][2]:.2f} |")


if __name__ == "__main__":
    main()
