"""RetinaNet-style classification / regression subnets for the two SRN steps.

Each step has a classification subnet and a regression subnet, each a tower of ``num_convs``
3x3 conv (+GroupNorm) + ReLU layers and a 3x3 prediction conv, shared across pyramid levels.
The first step only has the subnets its selected levels need (classification on the STC
levels, regression on the STR levels); the second step has both on every level.

Classification outputs one sigmoid face logit per anchor. On max-out levels the prediction conv
emits ``1 + Nb`` logits per anchor (face, background_1..Nb) and the face logit is
``face - max(background)`` (S3FD's max-out background label; ``sigmoid`` of it equals the
face probability of a 2-way softmax over ``(max background, face)``). Max-out levels have their
own prediction conv (the tower is still shared).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from detectors.ainnoface.backbone import make_norm


def flatten_predictions(x: torch.Tensor, width: int) -> torch.Tensor:
    """(N, A*width, H, W) -> (N, H*W*A, width): cell row-major, anchor by anchor."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, width)


def maxout_face_logit(raw: torch.Tensor) -> torch.Tensor:
    """(..., 1 + Nb) ``(face, background_1..Nb)`` logits -> (...) ``face - max(background)``."""
    return raw[..., 0] - raw[..., 1:].amax(dim=-1)


def make_tower(channels: int, num_convs: int, norm: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += [
            nn.Conv2d(channels, channels, 3, 1, 1, bias=norm == "none"),
            make_norm(norm, channels),
            nn.ReLU(inplace=True),
        ]
    return nn.Sequential(*layers)


def prior_bias(probability: float) -> float:
    """Logit whose sigmoid is ``probability`` (RetinaNet's prior initialisation)."""
    return -math.log((1.0 - probability) / probability)


class StepHead(nn.Module):
    """The subnets of one refinement step.

    Args:
        channels: Input (FPN) channels.
        anchors_per_cell: Anchors per feature-map location.
        num_convs: Tower depth of each subnet.
        norm: ``"gn"`` or ``"none"``.
        classify: Build the classification subnet.
        regress: Build the regression subnet.
        maxout_background: Background logits on max-out levels (0: no max-out prediction conv).
        plain_levels: Whether some level classifies without max-out (builds the plain conv).
        prior: Initial face probability.
    """

    def __init__(
        self,
        channels: int,
        anchors_per_cell: int,
        num_convs: int,
        norm: str,
        classify: bool,
        regress: bool,
        maxout_background: int = 0,
        plain_levels: bool = True,
        prior: float = 0.01,
    ) -> None:
        super().__init__()
        self.anchors_per_cell = anchors_per_cell
        self.maxout_background = maxout_background
        self.cls_tower = make_tower(channels, num_convs, norm) if classify else None
        self.cls_pred = nn.Conv2d(channels, anchors_per_cell, 3, 1, 1) if classify and plain_levels else None
        self.cls_pred_maxout = None
        if classify and maxout_background > 0:
            self.cls_pred_maxout = nn.Conv2d(channels, anchors_per_cell * (1 + maxout_background), 3, 1, 1)
        self.reg_tower = make_tower(channels, num_convs, norm) if regress else None
        self.reg_pred = nn.Conv2d(channels, anchors_per_cell * 4, 3, 1, 1) if regress else None
        self._init_weights(prior)

    def _init_weights(self, prior: float) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, std=0.01)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.GroupNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if self.cls_pred is not None:
            nn.init.constant_(self.cls_pred.bias, prior_bias(prior))
        if self.cls_pred_maxout is not None:
            # Face logit at the prior, background logits at 0: sigmoid(face - max(bg)) ~ prior.
            self.cls_pred_maxout.bias.data.view(self.anchors_per_cell, -1)[:, 0] = prior_bias(prior)

    def classify(self, feature: torch.Tensor, maxout: bool) -> torch.Tensor:
        """(N, H*W*A) face logits for one level."""
        if self.cls_tower is None:
            raise RuntimeError("this step has no classification subnet")
        x = self.cls_tower(feature)
        if maxout:
            return maxout_face_logit(flatten_predictions(self.cls_pred_maxout(x), 1 + self.maxout_background))
        return flatten_predictions(self.cls_pred(x), 1)[..., 0]

    def regress(self, feature: torch.Tensor) -> torch.Tensor:
        """(N, H*W*A, 4) box deltas for one level."""
        if self.reg_tower is None:
            raise RuntimeError("this step has no regression subnet")
        return flatten_predictions(self.reg_pred(self.reg_tower(feature)), 4)
