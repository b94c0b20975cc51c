"""AInnoFace variants: backbone, pyramid, heads and anchor layout.

AInnoFace (Zhang et al., "Accurate Face Detection for High Performance", arXiv 1905.01585) is a
RetinaNet (ResNet + FPN) face detector with SRN's selective two-step classification (STC, on the
finest pyramid levels) and selective two-step regression (STR, on the coarsest ones), sigmoid
focal loss, an IoU regression loss and S3FD's max-out background labels on the finest level.

Pyramid level ``l`` has stride ``2**l``. SRN tiles two anchor scales per location,
``{2, 2*sqrt(2)} x stride`` (written ``2.83`` as in the paper), with aspect ratio 1.25;
FaceTrack uses square anchors only (every project detector and the runtime decoder assume
``w == h`` anchors), so the 1.25 ratio is dropped. Anchor sizes are rounded to 4 decimals so
they round-trip exactly through the ``anchor_levels`` ONNX metadata.

``paper``: ResNet-152, width 1.0, 256 FPN channels, P2-P7, four-conv heads, GroupNorm (trained
from scratch here, with the small per-device batches the paper's resolution implies).

``small``: the CPU-trainable variant: ResNet-18 at width 0.25 (16/32/64/128 channels), 64 FPN
channels, one-conv second-step subnets, first-step predictions straight from the projected
backbone features (like RefineDet's ARM), P3-P7, BatchNorm backbone: 1.11 M parameters,
2.19 GMAC at 640x640 (``python -m detectors.ainnoface.profile small 640 640``), 3.7 MB ONNX.
Measured alternatives: ResNet-18 at width 0.5 costs 3.9 GMAC for the backbone alone, and with a
stride-4 P2 level the FPN and heads cost 2.5 GMAC even at 48 channels, so the 2.5 GMAC budget
forces both the narrower backbone and dropping P2 (smallest anchor 16 px at stride 8; faces under ~11 px only get their best anchor,
the runtime's ``upscale`` helps there).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from detectors.anchors import AnchorLevel

#: Inputs are padded (bottom/right) to a multiple of this. Every stride-2 layer rounds up
#: (``ceil``) exactly as :func:`detectors.anchors.feature_map_size` does and the FPN upsamples to
#: the lateral's size, so any multiple of 32 (in fact any size) lines up with the anchors.
PAD_MULTIPLE = 32

#: SRN's anchor scales per location, in units of the level stride.
SRN_ANCHOR_SCALES = (2.0, 2.83)

DEPTHS = (18, 34, 50, 101, 152)
NORMS = ("bn", "gn")
HEAD_NORMS = ("gn", "none")


@dataclass(frozen=True)
class AInnoFaceConfig:
    """One AInnoFace variant.

    Attributes:
        name: Variant name (stored in the ONNX metadata as ``ainnoface-<name>``).
        depth: ResNet depth (18/34 use BasicBlock, 50/101/152 Bottleneck).
        width: Channel multiplier of the ResNet (1.0 = torchvision widths).
        backbone_norm: ``"bn"`` (BatchNorm) or ``"gn"`` (GroupNorm) in the ResNet.
        fpn_channels: Channels of every pyramid level and of the heads.
        head_convs: 3x3 conv(+norm+ReLU) layers in each second-step subnet (RetinaNet: 4).
        first_step_convs: Same for the first-step subnets (0 = predict straight from the
            projected backbone features, as RefineDet's ARM does).
        head_norm: ``"gn"`` or ``"none"`` in the head subnets (they are shared across levels,
            so BatchNorm statistics would mix levels).
        min_level: Finest pyramid level (2 = stride 4).
        max_level: Coarsest pyramid level (7 = stride 128).
        anchor_scales: Square anchor sizes per location in units of the stride.
        two_step_cls_levels: Levels with the first-step (filtering) classifier (SRN: P2-P4).
        two_step_reg_levels: Levels with the first-step (anchor refining) regressor (SRN: P5-P7).
        maxout_levels: Levels whose classifier uses max-out background labels.
        maxout_background: Background logits on those levels (S3FD: Nb = 3).
        first_step_threshold: Anchors whose first-step face probability is below this are
            rejected (score 0 at inference, dropped from the second-step loss) (SRN: 0.01).
        prior_probability: Initial face probability of the second-step classifier (RetinaNet).
        first_step_prior: Initial face probability of the first-step classifier; slightly above
            the threshold so the second step sees every anchor at the start of training.
    """

    name: str
    depth: int = 152
    width: float = 1.0
    backbone_norm: str = "gn"
    fpn_channels: int = 256
    head_convs: int = 4
    first_step_convs: int = 4
    head_norm: str = "gn"
    min_level: int = 2
    max_level: int = 7
    anchor_scales: tuple[float, ...] = SRN_ANCHOR_SCALES
    two_step_cls_levels: tuple[int, ...] = (2, 3, 4)
    two_step_reg_levels: tuple[int, ...] = (5, 6, 7)
    maxout_levels: tuple[int, ...] = (2,)
    maxout_background: int = 3
    first_step_threshold: float = 0.01
    prior_probability: float = 0.01
    first_step_prior: float = 0.02

    def __post_init__(self) -> None:
        if self.depth not in DEPTHS:
            raise ValueError(f"depth must be one of {DEPTHS}, got {self.depth}")
        if self.backbone_norm not in NORMS:
            raise ValueError(f"backbone_norm must be one of {NORMS}, got {self.backbone_norm!r}")
        if self.head_norm not in HEAD_NORMS:
            raise ValueError(f"head_norm must be one of {HEAD_NORMS}, got {self.head_norm!r}")
        if not 2 <= self.min_level <= 5 or self.max_level < max(self.min_level, 5):
            raise ValueError("levels must satisfy 2 <= min_level <= 5 <= max_level")
        for name in ("two_step_cls_levels", "two_step_reg_levels", "maxout_levels"):
            outside = [level for level in getattr(self, name) if level not in self.level_ids]
            if outside:
                raise ValueError(f"{name} {outside} outside the pyramid P{self.min_level}-P{self.max_level}")
        if self.maxout_background < 1:
            raise ValueError("maxout_background must be >= 1")

    @property
    def level_ids(self) -> tuple[int, ...]:
        """Pyramid levels used, finest first (e.g. ``(2, 3, 4, 5, 6, 7)``)."""
        return tuple(range(self.min_level, self.max_level + 1))

    @property
    def anchors_per_cell(self) -> int:
        return len(self.anchor_scales)

    @property
    def levels(self) -> tuple[AnchorLevel, ...]:
        """Anchor levels in the order the network emits its predictions."""
        return tuple(
            AnchorLevel(
                stride=2**level,
                sizes=tuple(round(scale * 2**level, 4) for scale in self.anchor_scales),
                densities=(1,) * len(self.anchor_scales),
            )
            for level in self.level_ids
        )


PAPER = AInnoFaceConfig(name="paper")

SMALL = AInnoFaceConfig(
    name="small",
    depth=18,
    width=0.25,
    backbone_norm="bn",
    fpn_channels=64,
    head_convs=1,
    first_step_convs=0,
    head_norm="gn",
    min_level=3,
    max_level=7,
    two_step_cls_levels=(3, 4),
    two_step_reg_levels=(5, 6, 7),
    maxout_levels=(3,),
)

VARIANTS: dict[str, AInnoFaceConfig] = {"paper": PAPER, "small": SMALL}


def get_config(variant: str | AInnoFaceConfig = "small", **overrides) -> AInnoFaceConfig:
    """The named variant (or a given config) with ``overrides`` applied (``depth=50`` ...)."""
    if isinstance(variant, AInnoFaceConfig):
        base = variant
    elif variant in VARIANTS:
        base = VARIANTS[variant]
    else:
        raise ValueError(f"unknown AInnoFace variant {variant!r}: use one of {', '.join(VARIANTS)}")
    return replace(base, **overrides) if overrides else base
