"""FaceBoxes variants: anchor layouts and the preprocessing contract of the ONNX models.

``paper`` is the configuration of the official release: anchors 32/64/128 px on the stride-32
map (densified x4/x2/x1: 21 per cell), 256 px at stride 64 and 512 px at stride 128.

``small`` adds one level at stride 16, fed by a light top-down fusion of the
stride-16 RDCL features with the upsampled Inception output, carrying 16 px anchors densified
x2 (4 per cell, 8 px spacing). 72 % of the training faces are under 32 px, and the paper's
smallest anchor (32 px) cannot match most of them; this level gives them anchors of their
own at about +25 % compute.

``small2`` (the shipped default) also moves the 32 px anchors to that stride-16 level.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.anchors import AnchorLevel

#: Inputs are padded (bottom/right) to a multiple of this. Every stride-2 layer above stride 32
#: rounds up (ceil), exactly as :func:`detectors.anchors.feature_map_size` does.
PAD_MULTIPLE = 32

PAPER_LEVELS: tuple[AnchorLevel, ...] = (
    AnchorLevel(stride=32, sizes=(32, 64, 128), densities=(4, 2, 1)),
    AnchorLevel(stride=64, sizes=(256,), densities=(1,)),
    AnchorLevel(stride=128, sizes=(512,), densities=(1,)),
)

SMALL_FACE_LEVELS: tuple[AnchorLevel, ...] = (
    AnchorLevel(stride=16, sizes=(16,), densities=(2,)),
) + PAPER_LEVELS

#: ``small2`` (shipped): the 32 px anchors move to the stride-16 level as well, so faces of 16-32 px
#: are localised from stride-16 features instead of the coarse stride-32 map, where ``small``
#: localised them poorly (recall .81 at IoU 0.3 but .45 at IoU 0.5). Dev AP on 16-32 px faces:
#: .391 after 90 epochs, against .155 for ``small`` after 44.
SMALL2_LEVELS: tuple[AnchorLevel, ...] = (
    AnchorLevel(stride=16, sizes=(16, 32), densities=(2, 1)),
    AnchorLevel(stride=32, sizes=(64, 128), densities=(2, 1)),
    AnchorLevel(stride=64, sizes=(256,), densities=(1,)),
    AnchorLevel(stride=128, sizes=(512,), densities=(1,)),
)


@dataclass(frozen=True)
class FaceBoxesConfig:
    """One FaceBoxes variant.

    Attributes:
        name: Variant name stored in the ONNX metadata.
        levels: Anchor levels, finest first.
        small_face_level: Whether the stride-16 fusion level exists.
    """

    name: str
    levels: tuple[AnchorLevel, ...]
    small_face_level: bool


VARIANTS: dict[str, FaceBoxesConfig] = {
    "paper": FaceBoxesConfig("paper", PAPER_LEVELS, small_face_level=False),
    "small": FaceBoxesConfig("small", SMALL_FACE_LEVELS, small_face_level=True),
    "small2": FaceBoxesConfig("small2", SMALL2_LEVELS, small_face_level=True),
}
