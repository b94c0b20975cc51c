"""The face follower network: a small CNN from a 64 x 64 window to 8 x 8 face-centre and box maps (needs torch)."""

from __future__ import annotations

import torch
from torch import nn

from detectors.verifier.model import conv_stage

#: Channels of the three conv + pool stages (64 -> 32 -> 16 -> 8 pixels: one cell = 8 input pixels).
STAGE_CHANNELS = (16, 32, 64)
#: Width of the two 3 x 3 convs between the stages and the head.
HEAD_WIDTH = 64
#: Initial bias of the heatmap logits: every cell starts at face probability 0.1 (CenterNet's prior).
HEATMAP_PRIOR_BIAS = -2.19


def conv_bn_relu(inputs: int, outputs: int) -> nn.Sequential:
    """conv3x3 + BatchNorm + ReLU, same size."""
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True))


class FaceFollowerNet(nn.Module):
    """(N, 3, S, S) BGR windows in [0, 1] -> (N, 5, S/8, S/8) maps, per cell: the logit that the followed
    face's centre lies in it, the centre's offset inside the cell (x, y, in cells) and the log of the
    face's width and height (in window sides). About 0.1 M parameters.

    The cells' coordinates are appended to the features (CoordConv): which face to follow depends on
    where it is in the window (the one nearest the centre).
    """

    def __init__(self, input_size: int = 64) -> None:
        super().__init__()
        widths = (3, *STAGE_CHANNELS)
        self.stages = nn.Sequential(*(conv_stage(widths[index], widths[index + 1]) for index in range(len(STAGE_CHANNELS))))
        cells = input_size // 2 ** len(STAGE_CHANNELS)
        ramp = torch.linspace(-1.0, 1.0, cells)
        self.register_buffer("coordinates", torch.stack(torch.meshgrid(ramp, ramp, indexing="xy"))[None], persistent=False)
        self.refine = nn.Sequential(conv_bn_relu(STAGE_CHANNELS[-1] + 2, HEAD_WIDTH), conv_bn_relu(HEAD_WIDTH, HEAD_WIDTH))
        self.head = nn.Conv2d(HEAD_WIDTH, 5, 1)
        with torch.no_grad():
            self.head.bias.zero_()
            self.head.bias[0] = HEATMAP_PRIOR_BIAS

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        features = self.stages(windows)
        coordinates = torch.zeros_like(features[:, :2]) + self.coordinates  # broadcast: any batch size, also in ONNX
        return self.head(self.refine(torch.cat([features, coordinates], dim=1)))
