"""From raw network outputs to scored face boxes: decode, threshold, top-k and NMS."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.box_coding import decode
from detectors.boxes import nms


@dataclass(frozen=True)
class PostprocessConfig:
    """Post-processing parameters (FaceBoxes test settings by default, NMS 0.3 -> 0.4).

    Attributes:
        score_threshold: Minimum face probability kept.
        pre_nms_top_k: Highest-scoring candidates considered by NMS.
        nms_threshold: IoU above which the lower-scoring box is suppressed.
        max_detections: Boxes kept after NMS.
    """

    score_threshold: float = 0.5
    pre_nms_top_k: int = 5000
    nms_threshold: float = 0.4
    max_detections: int = 750


def postprocess(deltas: np.ndarray, scores: np.ndarray, anchors: np.ndarray, config: PostprocessConfig) -> np.ndarray:
    """Turn per-anchor outputs of one image into an (N, 5) ``x1, y1, x2, y2, score`` array.

    Args:
        deltas: (A, 4) box regressions.
        scores: (A,) face probabilities.
        anchors: (A, 4) cx/cy/w/h anchors in the network input's pixels.
        config: Thresholds.

    Returns:
        float32 detections in network-input pixels, sorted by descending score.
    """
    candidates = np.flatnonzero(scores >= config.score_threshold)
    if candidates.size > config.pre_nms_top_k:
        top = np.argpartition(-scores[candidates], config.pre_nms_top_k)[: config.pre_nms_top_k]
        candidates = candidates[top]
    if candidates.size == 0:
        return np.zeros((0, 5), dtype=np.float32)
    boxes = decode(deltas[candidates], anchors[candidates])
    kept = nms(boxes, scores[candidates], config.nms_threshold, config.max_detections)
    return np.concatenate([boxes[kept], scores[candidates][kept, None]], axis=1).astype(np.float32)
