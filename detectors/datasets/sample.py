"""The in-memory form of one annotated image."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def _empty_boxes() -> np.ndarray:
    return np.zeros((0, 4), dtype=np.float32)


@dataclass
class FaceSample:
    """One image with its face boxes.

    Attributes:
        image_path: Path of the image file.
        boxes: (N, 4) float32 ``x1, y1, x2, y2`` faces to detect.
        ignore: (M, 4) float32 regions to ignore (VOC ``difficult``, WIDER ``invalid``): neither
            positives nor negatives in training, and detections on them are not counted in
            evaluation.
    """

    image_path: Path
    boxes: np.ndarray = field(default_factory=_empty_boxes)
    ignore: np.ndarray = field(default_factory=_empty_boxes)

    @property
    def stem(self) -> str:
        """File name without extension."""
        return self.image_path.stem
