"""AP@0.5 with VOC all-point interpolation, overall and per face-size bucket.

Matching follows the WIDER FACE / COCO conventions: detections are taken by descending score
and each matches the still-unmatched face with the highest IoU >= 0.5; a detection that only
overlaps an ignore region (VOC ``difficult``) is dropped (neither true nor false positive).
For a size bucket (size = sqrt(w * h)) faces outside the bucket become ignore regions and
unmatched detections whose size falls outside the bucket are dropped (COCO's area-range rule).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from detectors.boxes import box_sides, pairwise_iou
from detectors.datasets.sample import FaceSample

#: Detections scoring at least this enter the precision-recall curves of ``start.py evaluate``, the
#: training loop's dev AP and the benchmarks that report AP, so that their figures agree.
EVALUATION_SCORE_FLOOR = 0.05

#: name -> [low, high) face size in pixels.
SIZE_BUCKETS: dict[str, tuple[float, float]] = {
    "all": (0.0, float("inf")),
    ">=64": (64.0, float("inf")),
    "32-64": (32.0, 64.0),
    "16-32": (16.0, 32.0),
    "<16": (0.0, 16.0),
}


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC all-point interpolated AP from a recall/precision curve (detections by score)."""
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.concatenate([[0.0], precision, [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    changes = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[changes + 1] - recall[changes]) * precision[changes + 1]))


def match_image(
    detections: np.ndarray, faces: np.ndarray, ignore: np.ndarray, iou_threshold: float = 0.5
) -> np.ndarray:
    """Label each detection of one image: 1 true positive, 0 false positive, -1 dropped.

    ``detections`` must be sorted by descending score.
    """
    labels = np.zeros(len(detections), dtype=np.int8)
    if len(detections) == 0:
        return labels
    boxes = detections[:, :4]
    face_iou = pairwise_iou(boxes, faces) if len(faces) else np.zeros((len(boxes), 0))
    ignore_iou = pairwise_iou(boxes, ignore).max(axis=1) if len(ignore) else np.zeros(len(boxes))
    taken = np.zeros(len(faces), dtype=bool)
    for index in range(len(boxes)):
        candidates = np.where(taken, -1.0, face_iou[index]) if len(faces) else np.zeros(0)
        best = int(candidates.argmax()) if candidates.size else -1
        if best >= 0 and candidates[best] >= iou_threshold:
            taken[best] = True
            labels[index] = 1
        elif ignore_iou[index] >= iou_threshold:
            labels[index] = -1
    return labels


def bucket_matches(
    sample: FaceSample, detections: np.ndarray, low: float, high: float, iou_threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray, int]:
    """One image's part of the size bucket ``[low, high)``: the scores and 1 / 0 (true / false positive)
    labels of its counted detections, and its number of faces in the bucket."""
    dets = detections[np.argsort(-detections[:, 4], kind="stable")] if len(detections) else np.zeros((0, 5), np.float32)
    sizes = box_sides(sample.boxes)
    inside = (sizes >= low) & (sizes < high)
    faces = sample.boxes[inside]
    ignore = np.concatenate([sample.ignore, sample.boxes[~inside]], axis=0)
    image_labels = match_image(dets, faces, ignore, iou_threshold)
    det_sizes = box_sides(dets[:, :4])
    outside = (det_sizes < low) | (det_sizes >= high)
    image_labels[(image_labels == 0) & outside] = -1
    keep = image_labels >= 0
    return dets[keep, 4], image_labels[keep], len(faces)


def images_matches(
    samples: Sequence[FaceSample], detections: Sequence[np.ndarray], low: float, high: float, iou_threshold: float = 0.5
) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """:func:`bucket_matches` of every image, ``detections`` in the order of ``samples``."""
    return [bucket_matches(sample, dets, low, high, iou_threshold) for sample, dets in zip(samples, detections)]


def pooled_curve(
    matches: Sequence[tuple[np.ndarray, np.ndarray, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``scores``, ``recall``, ``precision`` and the number of faces of images' :func:`bucket_matches`
    pooled by descending score."""
    all_scores = np.concatenate([scores for scores, _, _ in matches]) if matches else np.zeros(0)
    all_labels = np.concatenate([labels for _, labels, _ in matches]) if matches else np.zeros(0)
    num_faces = sum(count for _, _, count in matches)
    order = np.argsort(-all_scores, kind="stable")
    true_positives = np.cumsum(all_labels[order] == 1)
    false_positives = np.cumsum(all_labels[order] == 0)
    recall = true_positives / max(num_faces, 1)
    precision = true_positives / np.maximum(true_positives + false_positives, 1)
    return all_scores[order], recall, precision, num_faces


def precision_recall_curve(
    samples: Sequence[FaceSample], detections: Sequence[np.ndarray], low: float, high: float, iou_threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The curve of one size bucket ``[low, high)``, detections pooled over images by descending score.

    Returns:
        ``scores``, ``recall``, ``precision`` (one entry per counted detection, in that order) and
        the number of faces in the bucket.
    """
    return pooled_curve(images_matches(samples, detections, low, high, iou_threshold))


def matches_ap(matches: Sequence[tuple[np.ndarray, np.ndarray, int]]) -> float:
    """AP of images' :func:`bucket_matches` pooled (NaN without faces)."""
    _, recall, precision, num_faces = pooled_curve(matches)
    return average_precision(recall, precision) if num_faces else float("nan")


def evaluate_detections(
    samples: Sequence[FaceSample], detections: Sequence[np.ndarray], iou_threshold: float = 0.5
) -> dict[str, dict[str, float]]:
    """AP per size bucket.

    Args:
        samples: Ground truth per image.
        detections: (N_i, 5) ``x1, y1, x2, y2, score`` per image, same order as ``samples``.

    Returns:
        ``{bucket: {"ap": float, "faces": int}}`` for every bucket of :data:`SIZE_BUCKETS`
        (AP is NaN for a bucket without faces).
    """
    if len(samples) != len(detections):
        raise ValueError("one detection array per sample is required")
    results = {}
    for name, (low, high) in SIZE_BUCKETS.items():
        matches = images_matches(samples, detections, low, high, iou_threshold)
        results[name] = {"ap": matches_ap(matches), "faces": sum(count for _, _, count in matches)}
    return results
