"""ONNX export of trained detectors (dynamic batch size, input height and width).

``python -m detectors.training.export --batch-axis MODEL.onnx ...`` gives models exported before
the batch axis existed one, in place (same weights): the follow windows of the tracker then run
in one network call per frame instead of one per window.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from detectors.training.ema import evaluated_weights


class InferenceWrapper(nn.Module):
    """Exposes the runtime contract: ``deltas`` (N, A, 4) and face ``scores`` (N, A)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        deltas, logits = self.model(images)
        return deltas, torch.softmax(logits, dim=-1)[..., 1]


def export_wrapper_onnx(
    wrapper: nn.Module,
    path: str | Path,
    metadata: dict[str, str],
    opset: int = 17,
    example_size: tuple[int, int] = (256, 384),
) -> Path:
    """Export an inference wrapper (images -> ``deltas``, ``scores``) with dynamic N/H/W and ``metadata``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapper = wrapper.eval()
    example = torch.rand(1, 3, *example_size) * 255
    with torch.no_grad(), warnings.catch_warnings():
        # Shape checks on traced sizes (e.g. GroupNorm's batch check) only guard error paths.
        warnings.filterwarnings("ignore", "Converting a tensor to a Python boolean", torch.jit.TracerWarning)
        torch.onnx.export(
            wrapper,
            (example,),
            str(path),
            input_names=["images"],
            output_names=["deltas", "scores"],
            dynamic_axes={
                "images": {0: "batch", 2: "height", 3: "width"},
                "deltas": {0: "batch", 1: "anchors"},
                "scores": {0: "batch", 1: "anchors"},
            },
            opset_version=opset,
            dynamo=False,
        )
    return add_metadata(path, metadata)


def add_metadata(path: Path, metadata: dict[str, str]) -> Path:
    """Store ``metadata`` (key -> value) in the ONNX file at ``path``, which the runtime reads back;
    an entry already stored under one of the keys is replaced."""
    import onnx

    proto = onnx.load(str(path))
    kept = [entry for entry in proto.metadata_props if entry.key not in metadata]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(proto, str(path))
    return path


def export_onnx(model: nn.Module, path: str | Path, metadata: dict[str, str], opset: int = 17) -> Path:
    """Export a FaceBoxes ``model`` (switched to eval mode) to ``path`` with dynamic H/W and ``metadata``."""
    return export_wrapper_onnx(InferenceWrapper(model.eval()), path, metadata, opset)


def export_checkpoint(checkpoint_path: str | Path, output_path: str | Path, model_card: dict[str, str] | None = None) -> Path:
    """Export a FaceBoxes training checkpoint (``best.pt``/``last.pt``) to a runtime ONNX model.

    The anchor layout and padding multiple are written into the ONNX metadata, which is all the
    runtime needs to decode the outputs.
    """
    from detectors.faceboxes.config import PAD_MULTIPLE
    from detectors.faceboxes.model import build_faceboxes
    from detectors.runtime import format_levels

    state = torch.load(checkpoint_path, weights_only=True)
    variant = state["config"]["variant"]
    model = build_faceboxes(variant)
    model.load_state_dict(evaluated_weights(state))
    model.eval()
    metadata = {
        "facetrack_model": f"faceboxes-{variant}",
        "anchor_levels": format_levels(model.config.levels),
        "pad_multiple": str(PAD_MULTIPLE),
        "epoch": str(state.get("epoch", "")),
    }
    metadata.update(model_card or {})
    return export_onnx(model, output_path, metadata)


def add_batch_axis(path: str | Path) -> bool:
    """Give the model at ``path`` a dynamic batch axis in place; False if it already had one.

    Only the declared shapes change: FaceTrack's graphs take the batch size from the input's
    shape wherever they reshape, so the same weights answer each image of a batch exactly as
    they answer it alone (tested on both shipped detectors).
    """
    import onnx

    proto = onnx.load(str(path))
    first_dims = [value.type.tensor_type.shape.dim[0] for value in [*proto.graph.input, *proto.graph.output]]
    if all(dim.dim_param for dim in first_dims):
        return False
    for dim in first_dims:
        dim.dim_param = "batch"
    onnx.save(proto, str(path))
    return True


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Give exported FaceTrack models a dynamic batch axis, in place.")
    parser.add_argument("--batch-axis", nargs="+", type=Path, required=True, metavar="MODEL")
    for model_path in parser.parse_args().batch_axis:
        print(f"{model_path}: {'batch axis added' if add_batch_axis(model_path) else 'already has a batch axis'}")
