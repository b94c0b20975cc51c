"""Score thresholds for re-ranked detections that keep the recall of the model's own thresholds.

Re-ranking (:data:`detectors.verification.RANK_EXPONENT`) multiplies the score of every judged face
by a power of the verifier's face probability, so true faces end up a little lower than the
thresholds that were chosen for the raw scores (the track-start and the low score). For each of
them this module finds the re-scored threshold that keeps exactly as many true detections of the
verifier's held-out training images (:func:`detectors.verifier.samples.is_held_out`; a detection is
true with IoU >= 0.5 to a label) as the raw threshold keeps of their raw scores. Both paths reject
the same faces (the verifier's threshold), so only the scores differ.

The pair is stored in the detector's ONNX metadata (``rerank_score_threshold``,
``rerank_low_score_threshold``); the runtime then maps re-scored scores back onto the raw scale
(:func:`detectors.verification.to_raw_scale`), so every threshold keeps its meaning and tracking can
re-rank its scans. Usage::

    python -m detectors.verifier.thresholds MODEL.onnx --train-set ../shared/data/faces/train [--write]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from detectors.boxes import pairwise_iou
from detectors.datasets.sample import FaceSample
from detectors.runtime import OnnxFaceDetector
from detectors.verification import RANK_EXPONENT, SHIPPED_VERIFIER, shipped_verifier
from detectors.verifier.samples import POSITIVE_IOU, is_held_out

#: Detections are collected down to this score (under every threshold to be matched).
COLLECT_SCORE = 0.05


def recall_matched_threshold(raw_true: np.ndarray, rescored_true: np.ndarray, threshold: float) -> float:
    """The re-scored threshold that keeps as many true detections as ``threshold`` keeps of their raw scores.

    ``raw_true`` and ``rescored_true`` are the scores of the same true detections without and with
    re-ranking (in any order). If the raw threshold keeps none, it is returned unchanged.
    """
    kept = int(np.count_nonzero(np.asarray(raw_true) >= threshold))
    if kept == 0:
        return float(threshold)
    return float(np.sort(np.asarray(rescored_true, dtype=np.float64))[::-1][kept - 1])


def true_scores(faces: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Scores of the detections (N, 5) with IoU >= :data:`POSITIVE_IOU` to a labelled box (M, 4)."""
    if len(faces) == 0 or len(labels) == 0:
        return np.zeros(0, np.float32)
    return faces[pairwise_iou(faces[:, :4], labels).max(axis=1) >= POSITIVE_IOU, 4]


def held_out_true_scores(detector: OnnxFaceDetector, samples: Sequence[FaceSample], verifier_path: Path = SHIPPED_VERIFIER,
                         threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Raw and re-scored scores of the true detections of ``detector`` on the held-out ``samples``.

    ``detector`` is an :class:`detectors.runtime.OnnxFaceDetector` loaded without a verifier; its
    threshold is lowered to :data:`COLLECT_SCORE` here.
    """
    detector.score_threshold = COLLECT_SCORE
    rejecting = shipped_verifier(threads, 0.0, verifier_path)
    reranking = shipped_verifier(threads, RANK_EXPONENT, verifier_path)
    raw, rescored = [], []
    for sample in samples:
        if not is_held_out(sample.stem):
            continue
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        faces = detector.detect(image)
        raw.append(true_scores(rejecting.keep(image, faces), sample.boxes))
        rescored.append(true_scores(reranking.keep(image, faces), sample.boxes))
    return np.concatenate(raw or [np.zeros(0)]), np.concatenate(rescored or [np.zeros(0)])


def main(argv: list[str] | None = None) -> int:
    """Print (and with ``--write`` store in the model) the re-ranked start and low thresholds."""
    from detectors import load_detector
    from detectors.datasets.folders import read_face_folder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="detector ONNX file (its thresholds are matched)")
    parser.add_argument("--train-set", type=Path, required=True, help="the labelled images the verifier was trained on")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="store the pair in the model's metadata")
    args = parser.parse_args(argv)
    detector = load_detector(args.model, verify=False, threads=args.threads)
    start, low = detector.recommended_threshold, detector.recommended_low_threshold
    raw, rescored = held_out_true_scores(detector, read_face_folder(args.train_set), threads=args.threads)
    matched = {"rerank_score_threshold": recall_matched_threshold(raw, rescored, start),
               "rerank_low_score_threshold": recall_matched_threshold(raw, rescored, low)}
    print(f"{args.model}: {len(raw)} held-out true detections; start {start:g} -> {matched['rerank_score_threshold']:.3f}, "
          f"low {low:g} -> {matched['rerank_low_score_threshold']:.3f}")
    if args.write:
        from detectors.training.export import add_metadata

        add_metadata(args.model, {key: f"{value:.3f}" for key, value in matched.items()})
        print(f"stored in {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
