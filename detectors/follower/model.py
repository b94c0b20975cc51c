"""The face follower network: a small CNN from a 64 x 64 window to a face probability and box (needs torch)."""

from __future__ import annotations

import torch
from torch import nn

from detectors.verifier.model import conv_stage

#: Channels of the four conv + pool stages (64 -> 32 -> 16 -> 8 -> 4 pixels).
STAGE_CHANNELS = (16, 32, 64, 96)
#: Width of the hidden fully connected layer.
HIDDEN = 128


class FaceFollowerNet(nn.Module):
    """(N, 3, 64, 64) BGR windows in [0, 1] -> (N, 5): face logit, then the face's box ``x1, y1, x2, y2``
    in units of the window's side (0 to 1 inside the window). About 0.28 M parameters.

    The last feature map is flattened, not pooled, so the head keeps where in the window things are.
    """

    def __init__(self, input_size: int = 64) -> None:
        super().__init__()
        widths = (3, *STAGE_CHANNELS)
        cells = input_size // 2 ** len(STAGE_CHANNELS)
        self.features = nn.Sequential(
            *(conv_stage(widths[index], widths[index + 1]) for index in range(len(STAGE_CHANNELS))), nn.Flatten()
        )
        self.head = nn.Sequential(
            nn.Linear(STAGE_CHANNELS[-1] * cells * cells, HIDDEN), nn.ReLU(inplace=True), nn.Linear(HIDDEN, 5)
        )

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(windows))
