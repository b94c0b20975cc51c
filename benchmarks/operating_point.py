"""Precision / recall / F1 of a detector per score threshold on a labelled folder, and the F1-optimal one.

    python benchmarks/operating_point.py [--detector faceboxes|FILE.onnx] [--data ../shared/data/faces/dev]
        [--min-size 32]

The F1-optimal threshold (for faces of at least --min-size px, on a 0.05 grid) is what
``start.py export --threshold`` should store as the model's default; half of it is the
``--low-threshold`` that only extends existing tracks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detectors import load_detector  # noqa: E402
from detectors.datasets import read_voc_folder  # noqa: E402
from detectors.evaluation import EVALUATION_SCORE_FLOOR  # noqa: E402
from detectors.evaluation.operating_point import best_f1_point, point_at  # noqa: E402
from detectors.evaluation.runner import run_on_samples  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detector", default="faceboxes")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "faces" / "dev")
    parser.add_argument("--min-size", type=float, default=32.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipping: {args.data} not found")
        return
    samples = read_voc_folder(args.data)
    detector = load_detector(args.detector, score_threshold=EVALUATION_SCORE_FLOOR, threads=args.threads)
    detections, _ = run_on_samples(detector.detect, samples)
    print(f"\n{detector.name} on {args.data} ({len(samples)} images), faces >= {args.min_size:g} px\n")
    print("| threshold | precision | recall | F1 |")
    print("|---:|---:|---:|---:|")
    for threshold in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        point = point_at(samples, detections, threshold, args.min_size)
        print(f"| {threshold:.2f} | {point.precision:.3f} | {point.recall:.3f} | {point.f1:.3f} |")
    best = best_f1_point(samples, detections, args.min_size)
    print(f"\nF1-optimal: threshold {best.threshold:.2f} (precision {best.precision:.3f}, recall {best.recall:.3f}, "
          f"F1 {best.f1:.3f}); export with --threshold {best.threshold:.2f} --low-threshold {best.threshold / 2:.2f}")


if __name__ == "__main__":
    main()
