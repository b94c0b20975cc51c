"""Average precision of face detectors, overall and per face-size bucket."""

from detectors.evaluation.ap import EVALUATION_SCORE_FLOOR, SIZE_BUCKETS, average_precision, evaluate_detections

__all__ = ["EVALUATION_SCORE_FLOOR", "SIZE_BUCKETS", "average_precision", "evaluate_detections"]
