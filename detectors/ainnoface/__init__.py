"""AInnoFace (ResNet + FPN + SRN two-step heads) face detector: model, losses, export.

>>> from detectors.ainnoface import build_ainnoface, ainnoface_loss
>>> model = build_ainnoface("small")
>>> outputs = model(images)                      # images: (N, 3, H, W) BGR 0..255
>>> anchors = generate_anchors(model.levels, H, W)
>>> losses = ainnoface_loss(outputs, anchors, boxes_per_image, ignore_per_image)
>>> losses["total"].backward()
"""

from detectors.ainnoface.config import PAD_MULTIPLE, VARIANTS, AInnoFaceConfig, get_config
from detectors.ainnoface.losses import LossConfig, ainnoface_loss, iou_loss, sigmoid_focal_loss
from detectors.ainnoface.model import (
    AInnoFace,
    AInnoFaceInferenceWrapper,
    AInnoFaceOutput,
    build_ainnoface,
    final_scores,
)

__all__ = [
    "PAD_MULTIPLE",
    "VARIANTS",
    "AInnoFace",
    "AInnoFaceConfig",
    "AInnoFaceInferenceWrapper",
    "AInnoFaceOutput",
    "LossConfig",
    "ainnoface_loss",
    "build_ainnoface",
    "final_scores",
    "get_config",
    "iou_loss",
    "sigmoid_focal_loss",
]
