"""Test-time augmentation: detect at several scales and mirrored, then merge by box voting.

AInnoFace (arXiv 1905.01585) uses multi-scale testing at inference (the strategy of the detectors
it builds on); we add the common horizontal flip. Small faces are found at the larger scales and
big ones at the smaller, so (as in S3FD's multi-scale testing) an enlarged pass only contributes
faces that are small at the normal scale and a reduced pass only faces that are large there:
an enlarged pass otherwise adds confident boxes on parts of big faces. The detections of every
pass are pooled, suppressed with NMS, and each kept box is replaced by
the score-weighted mean of the pooled boxes overlapping it (box voting), which localises better
than keeping one pass's box.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from detectors.boxes import box_area, mirror_boxes
from detectors.postprocess import box_vote

#: Detects faces in a frame scaled by a factor (frame -> network input); returns (N, 5) boxes in the frame's pixels.
ScaledDetector = Callable[[np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class TestTimeAugmentation:
    """Which extra passes run per frame.

    Attributes:
        scales: Input scales relative to the detector's normal input size (1.0 = one normal pass).
        flip: Also run every scale on the mirrored frame.
        vote_iou: Pooled boxes overlapping a kept box at least this much are averaged into it.
        small_below: Enlarged passes keep faces smaller than this (px at the normal input scale).
        large_above: Reduced passes keep faces larger than this (px at the normal input scale).
    """

    __test__ = False  # not a pytest test class, despite the name

    scales: tuple[float, ...] = (0.5, 1.0, 2.0)
    flip: bool = True
    vote_iou: float = 0.5
    small_below: float = 64.0
    large_above: float = 128.0

    @property
    def passes(self) -> int:
        """Network runs per frame."""
        return len(self.scales) * (2 if self.flip else 1)


def sizes_kept(detections: np.ndarray, relative_scale: float, normal_scale: float,
               augmentation: TestTimeAugmentation) -> np.ndarray:
    """The detections of one pass that this pass is trusted with (see the module docstring).

    ``normal_scale`` converts frame pixels to the normal network input's pixels.
    """
    sizes = np.sqrt(box_area(detections)) * normal_scale
    if relative_scale > 1.0:
        return detections[sizes < augmentation.small_below]
    if relative_scale < 1.0:
        return detections[sizes > augmentation.large_above]
    return detections


def detect_with_tta(
    frame: np.ndarray, detect_at: ScaledDetector, augmentation: TestTimeAugmentation, nms_threshold: float,
    normal_scale: float = 1.0,
) -> np.ndarray:
    """All passes of ``augmentation`` over ``frame`` (HxWx3 BGR), merged: (N, 5) float32 sorted by score.

    ``normal_scale`` is the scale from frame to network input of a normal (1x) pass; each pass
    runs at ``normal_scale`` times one of ``augmentation.scales``.
    """
    width = frame.shape[1]
    mirrored = np.ascontiguousarray(frame[:, ::-1]) if augmentation.flip else None
    passes = []
    for scale in augmentation.scales:
        found = [detect_at(frame, normal_scale * scale)]
        if mirrored is not None:
            found.append(mirror_boxes(detect_at(mirrored, normal_scale * scale), width))
        passes.extend(sizes_kept(detections, scale, normal_scale, augmentation) for detections in found)
    pooled = np.concatenate(passes).reshape(-1, 5)
    return box_vote(pooled, nms_threshold, augmentation.vote_iou, max_keep=len(pooled))


#: The cheapest augmentation: the frame and its mirror image at the normal scale (2 network runs).
#: A face the network scores weakly or not at all is often scored higher mirrored (the anonymising
#: default: ``benchmarks/anonymize_leaks.py``).
MIRRORED = TestTimeAugmentation(scales=(1.0,), flip=True)
