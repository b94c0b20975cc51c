"""ONNX export of AInnoFace models for the FaceTrack runtime.

Same graph interface as :func:`detectors.training.export.export_onnx` (input ``images``
(1, 3, H, W) BGR 0..255 with dynamic H/W; outputs ``deltas`` (1, A, 4) w.r.t. the original
anchors and face ``scores`` (1, A)), but wrapped with :class:`AInnoFaceInferenceWrapper`
(two-step box composition and first-step filtering in-graph) instead of the FaceBoxes softmax
wrapper, so :class:`detectors.runtime.OnnxFaceDetector` runs it unchanged.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import torch

from detectors.ainnoface.config import PAD_MULTIPLE, AInnoFaceConfig
from detectors.ainnoface.model import AInnoFace, AInnoFaceInferenceWrapper
from detectors.training.ema import evaluated_weights
from detectors.training.export import export_wrapper_onnx


def ainnoface_metadata(model: AInnoFace, **extra: str) -> dict[str, str]:
    """The runtime metadata: model name, ``anchor_levels`` and ``pad_multiple`` (+ ``extra``)."""
    from detectors.runtime import format_levels

    metadata = {
        "facetrack_model": f"ainnoface-{model.config.name}",
        "anchor_levels": format_levels(model.config.levels),
        "pad_multiple": str(PAD_MULTIPLE),
    }
    metadata.update({key: str(value) for key, value in extra.items()})
    return metadata


def export_ainnoface_onnx(
    model: AInnoFace,
    path: str | Path,
    metadata: dict[str, str] | None = None,
    opset: int = 17,
    example_size: tuple[int, int] = (256, 384),
) -> Path:
    """Export ``model`` (switched to eval mode) to ``path`` with dynamic H/W and FaceTrack metadata.

    ``metadata`` defaults to :func:`ainnoface_metadata`; given keys are added to / override it.
    """
    full_metadata = ainnoface_metadata(model)
    full_metadata.update(metadata or {})
    return export_wrapper_onnx(AInnoFaceInferenceWrapper(model.eval()), path, full_metadata, opset, example_size)


def config_from_dict(values: dict) -> AInnoFaceConfig:
    """Rebuild an :class:`AInnoFaceConfig` from ``dataclasses.asdict`` output (lists -> tuples)."""
    names = {field.name for field in fields(AInnoFaceConfig)}
    cleaned = {key: tuple(value) if isinstance(value, list) else value for key, value in values.items() if key in names}
    return AInnoFaceConfig(**cleaned)


def export_ainnoface_checkpoint(
    checkpoint_path: str | Path, output_path: str | Path, model_card: dict[str, str] | None = None
) -> Path:
    """Export a training checkpoint to a runtime ONNX model.

    The checkpoint holds ``model`` (state dict) and either ``model_config`` (``asdict`` of the
    :class:`AInnoFaceConfig`, preferred) or ``config["variant"]`` (a named variant).
    """
    from detectors.ainnoface.config import get_config

    state = torch.load(checkpoint_path, weights_only=True)
    if "model_config" in state:
        config = config_from_dict(state["model_config"])
    else:
        config = get_config(state["config"]["variant"])
    model = AInnoFace(config)
    model.load_state_dict(evaluated_weights(state))
    metadata = {"epoch": str(state.get("epoch", ""))}
    metadata.update(model_card or {})
    return export_ainnoface_onnx(model, output_path, metadata)
