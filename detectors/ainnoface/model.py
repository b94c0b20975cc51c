"""The AInnoFace network: ResNet + FPN + SRN two-step heads, and its runtime (ONNX) wrapper.

The network takes a float32 BGR image batch in 0..255 (N, 3, H, W) and normalises it itself
(ImageNet mean/std in BGR order; the runtime pads with the mean, which becomes 0). Any H and W
work; the runtime pads to :data:`detectors.ainnoface.config.PAD_MULTIPLE`.

Data flow per pyramid level ``l`` (finest first):

* ``C2..C5`` from the ResNet, ``C6, C7`` from stride-2 convs on C5 (only up to ``max_level``);
* ``L_l``: the FPN lateral projection of ``C_l`` (C6/C7 are already at FPN width): the "raw"
  backbone features SRN's first step predicts from;
* ``P_l``: the FPN top-down + smoothed map the second step predicts from;
* first-step classification on the STC levels, first-step regression on the STR levels,
  second-step classification and regression on every level.

Outputs are concatenated in :func:`detectors.anchors.generate_anchors` order. Levels without a
first-step classifier get the constant logit :data:`NO_FILTER_LOGIT` (probability 1: never
rejected), levels without a first-step regressor get zero deltas (refined anchor = anchor), so
the two-step composition is uniform over all anchors.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from detectors.ainnoface.backbone import ExtraLevels, ResNet
from detectors.ainnoface.box_ops import compose_deltas
from detectors.ainnoface.config import AInnoFaceConfig, get_config
from detectors.ainnoface.fpn import FeaturePyramid
from detectors.ainnoface.heads import StepHead

#: First-step logit of anchors on levels without first-step classification (sigmoid == 1.0).
NO_FILTER_LOGIT = 20.0

BGR_MEAN = (103.53, 116.28, 123.675)
BGR_STD = (57.375, 57.12, 58.395)


class AInnoFaceOutput(NamedTuple):
    """Per-anchor predictions of a batch (A anchors in ``generate_anchors`` order).

    Attributes:
        cls1: (N, A) first-step face logits (NO_FILTER_LOGIT outside the STC levels).
        reg1: (N, A, 4) first-step deltas w.r.t. the anchors (0 outside the STR levels).
        cls2: (N, A) second-step face logits.
        reg2: (N, A, 4) second-step deltas w.r.t. the refined anchors.
        cls1_mask: (A,) bool, anchors with a first-step classifier.
        reg1_mask: (A,) bool, anchors with a first-step regressor.
    """

    cls1: torch.Tensor
    reg1: torch.Tensor
    cls2: torch.Tensor
    reg2: torch.Tensor
    cls1_mask: torch.Tensor
    reg1_mask: torch.Tensor


class AInnoFace(nn.Module):
    """The complete detector; see the module docstring for inputs and outputs."""

    def __init__(self, config: AInnoFaceConfig) -> None:
        super().__init__()
        self.config = config
        channels = config.fpn_channels
        self.backbone = ResNet(config.depth, config.width, config.backbone_norm)
        self.extras = ExtraLevels(self.backbone.out_channels[-1], channels, config.max_level - 5)
        backbone_levels = [level for level in config.level_ids if level <= 5]
        in_channels = [self.backbone.out_channels[level - 2] for level in backbone_levels]
        extra_count = config.max_level - 5
        self.fpn = FeaturePyramid(
            in_channels + [channels] * extra_count, channels, [True] * len(in_channels) + [False] * extra_count
        )
        anchors = config.anchors_per_cell
        levels = config.level_ids
        self.first_step = StepHead(
            channels,
            anchors,
            config.first_step_convs,
            config.head_norm,
            classify=bool(config.two_step_cls_levels),
            regress=bool(config.two_step_reg_levels),
            maxout_background=config.maxout_background
            if set(config.maxout_levels) & set(config.two_step_cls_levels)
            else 0,
            plain_levels=bool(set(config.two_step_cls_levels) - set(config.maxout_levels)),
            prior=config.first_step_prior,
        )
        self.second_step = StepHead(
            channels,
            anchors,
            config.head_convs,
            config.head_norm,
            classify=True,
            regress=True,
            maxout_background=config.maxout_background if config.maxout_levels else 0,
            plain_levels=bool(set(levels) - set(config.maxout_levels)),
            prior=config.prior_probability,
        )
        self.register_buffer("mean", torch.tensor(BGR_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(BGR_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def levels(self):
        """Anchor levels (:class:`detectors.anchors.AnchorLevel`), finest first."""
        return self.config.levels

    def features(self, images: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """``(laterals, pyramid)``: per used level, first-step and second-step input maps."""
        x = (images - self.mean) / self.std
        c2, c3, c4, c5 = self.backbone(x)
        backbone_maps = {2: c2, 3: c3, 4: c4, 5: c5}
        inputs = [backbone_maps[level] for level in self.config.level_ids if level <= 5]
        inputs += self.extras(c5)
        return self.fpn(inputs)

    def forward(self, images: torch.Tensor) -> AInnoFaceOutput:
        config = self.config
        laterals, pyramid = self.features(images)
        cls1, reg1, cls2, reg2, cls1_mask, reg1_mask = [], [], [], [], [], []
        for level, lateral, feature in zip(config.level_ids, laterals, pyramid):
            maxout = level in config.maxout_levels
            level_cls2 = self.second_step.classify(feature, maxout)
            level_reg2 = self.second_step.regress(feature)
            has_cls1 = level in config.two_step_cls_levels
            has_reg1 = level in config.two_step_reg_levels
            if has_cls1:
                cls1.append(self.first_step.classify(lateral, maxout))
            else:
                cls1.append(torch.full_like(level_cls2, NO_FILTER_LOGIT))
            reg1.append(self.first_step.regress(lateral) if has_reg1 else torch.zeros_like(level_reg2))
            cls2.append(level_cls2)
            reg2.append(level_reg2)
            flags = torch.ones_like(level_cls2[0], dtype=torch.bool)
            cls1_mask.append(flags if has_cls1 else ~flags)
            reg1_mask.append(flags if has_reg1 else ~flags)
        return AInnoFaceOutput(
            torch.cat(cls1, 1),
            torch.cat(reg1, 1),
            torch.cat(cls2, 1),
            torch.cat(reg2, 1),
            torch.cat(cls1_mask),
            torch.cat(reg1_mask),
        )


def final_scores(first_logits: torch.Tensor, second_logits: torch.Tensor, threshold: float = 0.01) -> torch.Tensor:
    """Face probability of the second step, 0 where the first step rejects the anchor (p1 < threshold)."""
    keep = (torch.sigmoid(first_logits) >= threshold).to(second_logits.dtype)
    return torch.sigmoid(second_logits) * keep


class AInnoFaceInferenceWrapper(nn.Module):
    """The runtime contract: ``deltas`` (N, A, 4) w.r.t. the original anchors, face ``scores`` (N, A).

    The two regression steps are composed in-graph (:func:`compose_deltas`: the deltas of
    ``decode(d2, decode(d1, anchor))`` re-encoded against ``anchor``), and the score is the
    second-step probability gated by the first-step filter, so
    :class:`detectors.runtime.OnnxFaceDetector` decodes AInnoFace like any FaceTrack model.
    """

    def __init__(self, model: AInnoFace) -> None:
        super().__init__()
        self.model = model
        self.threshold = float(model.config.first_step_threshold)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(images)
        return compose_deltas(out.reg1, out.reg2), final_scores(out.cls1, out.cls2, self.threshold)


def build_ainnoface(variant: str | AInnoFaceConfig = "small", **overrides) -> AInnoFace:
    """A randomly initialised AInnoFace of the named variant (``paper`` or ``small``).

    ``overrides`` replace config fields, e.g. ``build_ainnoface("small", depth=50)``.
    """
    return AInnoFace(get_config(variant, **overrides))
