"""ResNet backbone returning C2..C5, plus the extra stride-2 levels (C6, C7) above C5.

Normalisation is selectable. Nothing here can be ImageNet-pretrained (the paper's ResNet-152 is),
so the backbone trains from scratch:

* ``"gn"`` GroupNorm is the documented from-scratch choice (He et al., "Rethinking ImageNet
  Pre-training"): batch-size independent, which the paper-sized model needs (a few images of
  1024 px per device).
* ``"bn"`` BatchNorm is the default of the ``small`` variant: the training loop uses batches of
  16 images of 512-640 px, where BatchNorm statistics are reliable; it is ~1.3-1.5x faster than
  GroupNorm on CPU in training, and it folds into the convolutions in the exported ONNX graph,
  so it costs nothing at inference.

The last norm of every residual block starts at zero (each block starts as the identity), which
makes deep ResNets trainable from scratch without warm-up tricks.

Every stride-2 layer (7x7/2 stem, 3x3/2 max-pool, 3x3/2 and 1x1/2 convs) maps a size ``n`` to
``ceil(n / 2)``, the rounding of :func:`detectors.anchors.feature_map_size`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: (block type, blocks per stage) of the torchvision ResNets.
RESNET_SPECS: dict[int, tuple[str, tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


def scaled_channels(channels: float, divisor: int = 8) -> int:
    """``channels`` rounded to a multiple of ``divisor`` (at least ``divisor``)."""
    return max(divisor, round(channels / divisor) * divisor)


def group_count(channels: int, max_groups: int = 32, min_group_size: int = 4) -> int:
    """GroupNorm groups: up to 32, with at least ``min_group_size`` channels per group."""
    return math.gcd(max_groups, max(channels // min_group_size, 1))


def make_norm(kind: str, channels: int) -> nn.Module:
    """``"bn"`` -> BatchNorm2d, ``"gn"`` -> GroupNorm, ``"none"`` -> Identity."""
    if kind == "bn":
        return nn.BatchNorm2d(channels)
    if kind == "gn":
        return nn.GroupNorm(group_count(channels), channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}")


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride, 0, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual connection (ResNet-18/34)."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int, norm: str) -> None:
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = conv3x3(cin, planes, stride)
        self.norm1 = make_norm(norm, planes)
        self.conv2 = conv3x3(planes, cout)
        self.norm2 = make_norm(norm, cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(conv1x1(cin, cout, stride), make_norm(norm, cout))

    def last_norm(self) -> nn.Module:
        return self.norm2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride, "ResNet v1.5"), 1x1 expand x4 (ResNet-50/101/152)."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int, norm: str) -> None:
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = conv1x1(cin, planes)
        self.norm1 = make_norm(norm, planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.norm2 = make_norm(norm, planes)
        self.conv3 = conv1x1(planes, cout)
        self.norm3 = make_norm(norm, cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(conv1x1(cin, cout, stride), make_norm(norm, cout))

    def last_norm(self) -> nn.Module:
        return self.norm3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.relu(self.norm2(self.conv2(out)))
        out = self.norm3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ResNet trunk (no pooling head): ``forward`` returns ``[C2, C3, C4, C5]`` (strides 4-32).

    Args:
        depth: 18, 34, 50, 101 or 152.
        width: Channel multiplier (stage widths ``64/128/256/512 * width``, rounded to 8).
        norm: ``"bn"`` or ``"gn"``.
    """

    def __init__(self, depth: int = 50, width: float = 1.0, norm: str = "bn") -> None:
        super().__init__()
        if depth not in RESNET_SPECS:
            raise ValueError(f"unsupported ResNet depth {depth}")
        kind, blocks = RESNET_SPECS[depth]
        block = BasicBlock if kind == "basic" else Bottleneck
        stem = scaled_channels(64 * width)
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem, 7, 2, 3, bias=False),
            make_norm(norm, stem),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        cin = stem
        stages = []
        self.out_channels: list[int] = []
        for index, count in enumerate(blocks):
            planes = scaled_channels(64 * 2**index * width)
            layers = []
            for position in range(count):
                stride = 2 if (index > 0 and position == 0) else 1
                layers.append(block(cin, planes, stride, norm))
                cin = planes * block.expansion
            stages.append(nn.Sequential(*layers))
            self.out_channels.append(cin)
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for module in self.modules():
            if isinstance(module, (BasicBlock, Bottleneck)):
                norm = module.last_norm()
                if isinstance(norm, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.zeros_(norm.weight)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        c2 = self.layer1(self.stem(x))
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return [c2, c3, c4, c5]


class ExtraLevels(nn.Module):
    """C6, C7, ... by 3x3 stride-2 convs: the first on C5, the next ones on ReLU of the previous.

    (RetinaNet's P6/P7; here they are also the first-step features of the top levels and feed the
    FPN top-down path.) Outputs have ``channels`` channels.
    """

    def __init__(self, in_channels: int, channels: int, count: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(in_channels if index == 0 else channels, channels, 3, 2, 1) for index in range(count)
        )
        for conv in self.convs:
            nn.init.kaiming_uniform_(conv.weight, a=1)
            nn.init.zeros_(conv.bias)

    def forward(self, c5: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        x = c5
        for index, conv in enumerate(self.convs):
            x = conv(x if index == 0 else torch.relu(x))
            outputs.append(x)
        return outputs
