"""Choosing a detector's default score threshold: the F1-optimal point of a precision/recall curve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from detectors.datasets.sample import FaceSample
from detectors.evaluation.ap import precision_recall_curve


@dataclass(frozen=True)
class OperatingPoint:
    """A score threshold and what it gives on a labelled set."""

    threshold: float
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total > 0 else 0.0


def point_at(samples: Sequence[FaceSample], detections: Sequence[np.ndarray], threshold: float,
             min_size: float = 32.0) -> OperatingPoint:
    """Precision and recall for faces of at least ``min_size`` px when keeping scores >= ``threshold``."""
    scores, recall, precision, _ = precision_recall_curve(samples, detections, min_size, float("inf"))
    kept = int(np.sum(scores >= threshold))
    if kept == 0:
        return OperatingPoint(threshold, 1.0, 0.0)
    return OperatingPoint(threshold, float(precision[kept - 1]), float(recall[kept - 1]))


def best_f1_point(samples: Sequence[FaceSample], detections: Sequence[np.ndarray], min_size: float = 32.0,
                  step: float = 0.05) -> OperatingPoint:
    """The threshold on a ``step`` grid (``step`` .. 0.95) with the highest F1 for faces >= ``min_size`` px.

    A coarse grid keeps the choice stable: the exact optimum of a small dev set is noise.
    """
    grid = np.arange(step, 1.0 - 1e-9, step)
    points = [point_at(samples, detections, round(float(t), 4), min_size) for t in grid]
    return max(points, key=lambda point: (point.f1, point.threshold))
