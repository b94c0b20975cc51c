"""Average precision of face detectors, overall and per face-size bucket."""

from detectors.evaluation.ap import SIZE_BUCKETS, average_precision, evaluate_detections

__all__ = ["SIZE_BUCKETS", "average_precision", "evaluate_detections"]
