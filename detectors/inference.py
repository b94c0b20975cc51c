"""Backend-independent detection of one frame: prepare, run a network, post-process, rescale.

Both the ONNX runtime detector and the PyTorch training loop call :func:`detect_frame` with
their own ``forward`` function, so evaluation during training measures exactly what users run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from detectors.anchors import AnchorLevel, generate_anchors
from detectors.postprocess import PostprocessConfig, postprocess
from detectors.preprocess import input_scale, letterbox, to_bgr

#: Takes a (1, 3, H, W) float32 BGR batch, returns (A, 4) deltas and (A,) face probabilities.
ForwardFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ScalePolicy:
    """How a frame is scaled before detection.

    Attributes:
        max_side: The long side is capped at this many pixels (None: no cap).
        upscale: Factor applied first; >1 finds smaller faces at a quadratic cost in time.
        min_side: Frames whose long side is shorter are enlarged to this many pixels (None: never).
    """

    max_side: int | None = 1024
    upscale: float = 1.0
    min_side: int | None = None

    def scale_for(self, height: int, width: int) -> float:
        """Scale from a ``height`` x ``width`` frame to the network input (see :func:`input_scale`)."""
        return input_scale(height, width, self.max_side, self.upscale, self.min_side)


def detect_frame(
    frame: np.ndarray,
    forward: ForwardFn,
    levels: tuple[AnchorLevel, ...],
    pad_multiple: int,
    scale_policy: ScalePolicy,
    post: PostprocessConfig,
) -> np.ndarray:
    """Detect faces in one frame; returns (N, 5) float32 ``x1, y1, x2, y2, score`` in frame pixels."""
    frame = to_bgr(frame)
    height, width = frame.shape[:2]
    scale = scale_policy.scale_for(height, width)
    batch = letterbox(frame, scale, pad_multiple)
    deltas, scores = forward(batch)
    anchors = generate_anchors(levels, batch.shape[2], batch.shape[3])
    detections = postprocess(deltas, scores, anchors, post)
    detections[:, :4] /= scale
    detections[:, [0, 2]] = np.clip(detections[:, [0, 2]], 0, width)
    detections[:, [1, 3]] = np.clip(detections[:, [1, 3]], 0, height)
    return detections
