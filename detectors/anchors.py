"""Anchor (prior box) generation for single-shot face detectors.

An :class:`AnchorLevel` describes the anchors of one feature map: its stride, the anchor
sizes it carries and how densely each size is tiled (FaceBoxes' "anchor densification":
a size tiled ``n`` times per axis gets ``n * n`` anchors per cell at evenly spaced centres).
Anchors are square (faces are close to square) and returned in pixel ``[cx, cy, w, h]``
order, level by level, cell by cell (row-major), anchor by anchor, which is the order the
network heads emit their predictions in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class AnchorLevel:
    """Anchors of one feature map.

    Attributes:
        stride: Feature-map stride in input pixels.
        sizes: Anchor side lengths in pixels.
        densities: Tiling factor per size (1 = one anchor at the cell centre).
    """

    stride: int
    sizes: tuple[float, ...]
    densities: tuple[int, ...]

    @property
    def anchors_per_cell(self) -> int:
        """Number of anchors the head predicts per feature-map cell."""
        return sum(d * d for d in self.densities)


def _cell_offsets(level: AnchorLevel) -> np.ndarray:
    """Anchor (dx, dy, size) triples inside one cell, in pixels relative to the cell corner."""
    rows = []
    for size, density in zip(level.sizes, level.densities):
        steps = (np.arange(density) + 0.5) / density * level.stride
        for dy in steps:
            for dx in steps:
                rows.append((dx, dy, size))
    return np.asarray(rows, dtype=np.float32)


def feature_map_size(height: int, width: int, stride: int) -> tuple[int, int]:
    """Feature-map size for an input padded to a multiple of the largest stride."""
    return int(np.ceil(height / stride)), int(np.ceil(width / stride))


@lru_cache(maxsize=32)
def _anchors_cached(levels: tuple[AnchorLevel, ...], height: int, width: int) -> np.ndarray:
    all_levels = []
    for level in levels:
        rows, cols = feature_map_size(height, width, level.stride)
        offsets = _cell_offsets(level)
        ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        corners = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32) * level.stride
        cx = corners[:, None, 0] + offsets[None, :, 0]
        cy = corners[:, None, 1] + offsets[None, :, 1]
        size = np.broadcast_to(offsets[None, :, 2], cx.shape)
        all_levels.append(np.stack([cx, cy, size, size], axis=-1).reshape(-1, 4))
    anchors = np.concatenate(all_levels, axis=0).astype(np.float32)
    anchors.setflags(write=False)
    return anchors


def generate_anchors(levels: tuple[AnchorLevel, ...], height: int, width: int) -> np.ndarray:
    """All anchors for an input of ``height`` x ``width`` pixels as an (A, 4) cx/cy/w/h array.

    The result is cached per input size and read-only.
    """
    return _anchors_cached(tuple(levels), int(height), int(width))
