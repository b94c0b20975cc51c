"""From raw network outputs to scored face boxes: decode, threshold, top-k, NMS and box voting."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.box_coding import decode
from detectors.boxes import box_area, close_pairs, nms, paired_iou


@dataclass(frozen=True)
class PostprocessConfig:
    """Post-processing parameters (FaceBoxes test settings by default, NMS 0.3 -> 0.4).

    Attributes:
        score_threshold: Minimum face probability kept.
        pre_nms_top_k: Highest-scoring candidates considered by NMS.
        nms_threshold: IoU above which the lower-scoring box is suppressed.
        max_detections: Boxes kept after NMS.
        vote_max_size: Box voting (see :func:`box_vote`) for kept boxes smaller than this (sqrt of
            the area, network-input pixels); None: plain NMS. A model asks for it in its metadata.
        vote_iou: Candidates overlapping a kept box at least this much vote for it.
        vote_min_score_ratio: Only candidates scoring at least this fraction of the kept box vote.
    """

    score_threshold: float = 0.5
    pre_nms_top_k: int = 5000
    nms_threshold: float = 0.4
    max_detections: int = 750
    vote_max_size: float | None = None
    vote_iou: float = 0.6
    vote_min_score_ratio: float = 0.3


def box_vote(
    candidates: np.ndarray,
    nms_threshold: float,
    vote_iou: float,
    min_score_ratio: float = 0.0,
    max_size: float | None = None,
    max_keep: int = 750,
) -> np.ndarray:
    """NMS over (N, 5) candidates ``x1, y1, x2, y2, score``, each kept box then replaced by the
    score-weighted mean of the candidates with IoU >= ``vote_iou`` to it and a score of at least
    ``min_score_ratio`` times its own (box voting, Gidaris & Komodakis 2015). With ``max_size``,
    kept boxes at least that large (sqrt of the area) stay as they are. Kept boxes keep their own
    (highest) score; the result is sorted by score.

    Why a size limit: a few pixels of anchor-grid error cost a small face much IoU and averaging
    removes them, while large faces are localised well by their best box. For the shipped FaceBoxes
    (``max_size`` 48) dev AP at 16-32 px rose by about .04 on two checkpoints; voting every size
    moved AP >= 64 px by up to -.03 instead.

    Boxes without area (clipped flat at a frame border) are dropped first: they overlap nothing,
    not even themselves, so they would have no votes at all.
    """
    candidates = candidates[(candidates[:, 2] > candidates[:, 0]) & (candidates[:, 3] > candidates[:, 1])]
    if len(candidates) == 0:
        return np.zeros((0, 5), np.float32)
    kept = nms(candidates[:, :4], candidates[:, 4], nms_threshold, max_keep)
    scores = candidates[:, 4]
    boxes = candidates[kept, :4].copy()
    voted = np.ones(len(kept), bool) if max_size is None else np.sqrt(box_area(boxes)) < max_size
    if voted.any():
        heads = kept[voted]
        head, voter = close_pairs(candidates[heads, :4], candidates[:, :4], vote_iou)
        voted_for = heads[head]
        votes = (paired_iou(candidates[voted_for, :4], candidates[voter, :4]) >= vote_iou) & (
            scores[voter] >= min_score_ratio * scores[voted_for]
        )
        head, voter = head[votes], voter[votes]
        weight_sums = np.bincount(head, weights=scores[voter], minlength=len(heads))
        boxes[voted] = np.stack(
            [np.bincount(head, weights=scores[voter] * candidates[voter, side], minlength=len(heads))
             for side in range(4)], axis=1) / weight_sums[:, None]
    return np.concatenate([boxes, scores[kept, None]], axis=1).astype(np.float32)


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
    if config.vote_max_size is not None:
        pooled = np.concatenate([boxes, scores[candidates, None]], axis=1)
        return box_vote(pooled, config.nms_threshold, config.vote_iou, config.vote_min_score_ratio,
                        config.vote_max_size, config.max_detections)
    kept = nms(boxes, scores[candidates], config.nms_threshold, config.max_detections)
    return np.concatenate([boxes[kept], scores[candidates][kept, None]], axis=1).astype(np.float32)
