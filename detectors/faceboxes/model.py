"""FaceBoxes network in PyTorch: backbone (RDCL + MSCL), optional small-face neck, heads.

The network takes a float32 BGR image batch in 0..255 (N, 3, H, W) with H and W multiples of
32, normalises it itself (so the exported ONNX model needs no preprocessing beyond padding),
and returns ``(deltas, scores)``: (N, A, 4) box regressions and (N, A, 2) class logits
(background, face) in the anchor order of :func:`detectors.anchors.generate_anchors`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from detectors.faceboxes.config import VARIANTS, FaceBoxesConfig


class ConvBNReLU(nn.Sequential):
    """Conv -> BatchNorm -> ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


class ConvBNCReLU(nn.Module):
    """Conv -> BatchNorm -> CReLU (concatenated ReLU), which doubles the channels."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return F.relu(torch.cat([x, -x], dim=1))


class Inception(nn.Module):
    """FaceBoxes Inception block: four 32-channel branches on 128 input channels."""

    def __init__(self) -> None:
        super().__init__()
        self.branch1 = ConvBNReLU(128, 32, 1)
        self.branch_pool = ConvBNReLU(128, 32, 1)
        self.branch3 = nn.Sequential(ConvBNReLU(128, 24, 1), ConvBNReLU(24, 32, 3))
        self.branch33 = nn.Sequential(ConvBNReLU(128, 24, 1), ConvBNReLU(24, 32, 3), ConvBNReLU(32, 32, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.avg_pool2d(x, 3, 1, 1)
        return torch.cat([self.branch1(x), self.branch_pool(pooled), self.branch3(x), self.branch33(x)], 1)


class FaceBoxesBackbone(nn.Module):
    """RDCL (rapidly digested) and MSCL (multiple scale) convolutional layers.

    Returns the stride-16, 32, 64 and 128 feature maps (128, 128, 256, 256 channels).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = ConvBNCReLU(3, 24, 7, 4)
        self.conv2 = ConvBNCReLU(48, 64, 5, 2)
        self.inceptions = nn.Sequential(Inception(), Inception(), Inception())
        self.conv3 = nn.Sequential(ConvBNReLU(128, 128, 1), ConvBNReLU(128, 256, 3, 2))
        self.conv4 = nn.Sequential(ConvBNReLU(256, 128, 1), ConvBNReLU(128, 256, 3, 2))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.max_pool2d(self.conv1(x), 3, 2, 1)
        stride16 = self.conv2(x)
        stride32 = self.inceptions(F.max_pool2d(stride16, 3, 2, 1))
        stride64 = self.conv3(stride32)
        stride128 = self.conv4(stride64)
        return [stride16, stride32, stride64, stride128]


class SmallFaceNeck(nn.Module):
    """Top-down fusion producing the stride-16 map for the small-face anchors."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.lateral = ConvBNReLU(128, channels, 1)
        self.top_down = ConvBNReLU(128, channels, 1)
        self.smooth = ConvBNReLU(channels, channels, 3)

    def forward(self, stride16: torch.Tensor, stride32: torch.Tensor) -> torch.Tensor:
        top = F.interpolate(self.top_down(stride32), scale_factor=2.0, mode="nearest")
        return self.smooth(self.lateral(stride16) + top)


class DetectionHead(nn.Module):
    """3x3 convolutions predicting box deltas and class logits for every anchor of each level."""

    def __init__(self, in_channels: list[int], anchors_per_cell: list[int]) -> None:
        super().__init__()
        self.regressors = nn.ModuleList(nn.Conv2d(c, a * 4, 3, 1, 1) for c, a in zip(in_channels, anchors_per_cell))
        self.classifiers = nn.ModuleList(nn.Conv2d(c, a * 2, 3, 1, 1) for c, a in zip(in_channels, anchors_per_cell))

    @staticmethod
    def _flatten(x: torch.Tensor, width: int) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, width)

    def forward(self, features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        deltas = [self._flatten(reg(f), 4) for reg, f in zip(self.regressors, features)]
        logits = [self._flatten(cls(f), 2) for cls, f in zip(self.classifiers, features)]
        return torch.cat(deltas, 1), torch.cat(logits, 1)


class FaceBoxes(nn.Module):
    """The complete detector; see the module docstring for inputs and outputs."""

    def __init__(self, config: FaceBoxesConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = FaceBoxesBackbone()
        self.neck = SmallFaceNeck() if config.small_face_level else None
        channels = ([64] if config.small_face_level else []) + [128, 256, 256]
        self.head = DetectionHead(channels, [level.anchors_per_cell for level in config.levels])
        self.register_buffer("mean", torch.tensor([104.0, 117.0, 123.0]).view(1, 3, 1, 1), persistent=False)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        for classifier in self.head.classifiers:
            # Start with a low face prior so the many background anchors do not dominate early.
            nn.init.normal_(classifier.weight, std=0.01)
            classifier.bias.data.view(-1, 2)[:, 1] = -4.0

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (images - self.mean) / 128.0
        stride16, stride32, stride64, stride128 = self.backbone(x)
        features = [stride32, stride64, stride128]
        if self.neck is not None:
            features.insert(0, self.neck(stride16, stride32))
        return self.head(features)


def build_faceboxes(variant: str = "small") -> FaceBoxes:
    """A randomly initialised FaceBoxes of the named variant (``paper`` or ``small``)."""
    return FaceBoxes(VARIANTS[variant])
