"""Feature pyramid (Lin et al., FPN): lateral 1x1 projections, top-down sum, 3x3 smoothing.

The top-down path upsamples each coarser map to the exact size of the finer lateral (nearest
neighbour, size-based rather than a fixed factor 2), so inputs whose sides are not multiples of
the coarsest stride still line up: stride-2 layers round up, e.g. 160 px gives P6 3x and P7 2x.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FeaturePyramid(nn.Module):
    """FPN over a list of input maps, finest first.

    Args:
        in_channels: Channels of each input map; maps that already have ``channels`` channels
            and are flagged in ``project`` as False (the extra C6/C7 levels) skip the lateral conv.
        channels: Output channels of every level.
        project: Per input, whether it gets a 1x1 lateral projection (default: all).

    ``forward`` returns ``(laterals, pyramid)``: the projected inputs (L_l, the "raw" backbone
    features the first step predicts from) and the smoothed top-down outputs (P_l).
    """

    def __init__(self, in_channels: list[int], channels: int, project: list[bool] | None = None) -> None:
        super().__init__()
        project = project if project is not None else [True] * len(in_channels)
        self.laterals = nn.ModuleList()
        for cin, needs_projection in zip(in_channels, project):
            if needs_projection:
                self.laterals.append(nn.Conv2d(cin, channels, 1))
            elif cin == channels:
                self.laterals.append(nn.Identity())
            else:
                raise ValueError(f"an unprojected input needs {channels} channels, got {cin}")
        self.smooth = nn.ModuleList(nn.Conv2d(channels, channels, 3, 1, 1) for _ in in_channels)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_uniform_(module.weight, a=1)
                nn.init.zeros_(module.bias)

    def forward(self, features: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        laterals = [lateral(feature) for lateral, feature in zip(self.laterals, features)]
        merged = laterals[-1]
        pyramid = [self.smooth[-1](merged)]
        for index in range(len(laterals) - 2, -1, -1):
            lateral = laterals[index]
            merged = lateral + F.interpolate(merged, size=lateral.shape[-2:], mode="nearest")
            pyramid.insert(0, self.smooth[index](merged))
        return laterals, pyramid
