"""The face verifier network: a small CNN from a square crop (32 x 32 by default; any side, the
features are pooled globally) to one face logit, the mean of several such networks, and a network
trained on crops of one size judging crops of another (needs torch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Channels of the three conv + pool stages; the last conv keeps the third stage's width.
STAGE_CHANNELS = (16, 32, 64)


def conv_stage(inputs: int, outputs: int) -> nn.Sequential:
    """conv3x3 + BatchNorm + ReLU, then a 2x2 max-pool (halves the side)."""
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class FaceVerifierNet(nn.Module):
    """(N, 3, S, S) BGR crops in [0, 1] -> (N, 1) face logits. About 0.06 M parameters with the
    default ``stage_channels``."""

    def __init__(self, stage_channels: tuple[int, ...] = STAGE_CHANNELS) -> None:
        super().__init__()
        widths = (3, *stage_channels)
        self.features = nn.Sequential(
            *(conv_stage(widths[index], widths[index + 1]) for index in range(len(stage_channels))),
            nn.Conv2d(stage_channels[-1], stage_channels[-1], 3, padding=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.classifier = nn.Linear(stage_channels[-1], 1)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(crops))


class AveragedVerifier(nn.Module):
    """Several verifiers (:class:`FaceVerifierNet`, trained with different seeds, or :class:`ResizedInput`) as
    one: (N, 3, S, S) crops -> (N, 1) the mean of their logits. One training is one noisy draw; the mean of several is
    steadier."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an averaged verifier needs at least one member")
        self.members = nn.ModuleList(members)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(crops) for member in self.members]).mean(dim=0)


class ResizedInput(nn.Module):
    """A verifier trained on ``size`` x ``size`` crops judging crops of another side: each crop is
    resized to ``size`` (bilinear) before it sees it. Lets networks trained at different crop sizes
    be averaged (:class:`AveragedVerifier`) on one crop."""

    def __init__(self, member: nn.Module, size: int) -> None:
        super().__init__()
        self.member, self.size = member, size

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return self.member(F.interpolate(crops, size=(self.size, self.size), mode="bilinear", align_corners=False))
