"""Put the weights of a shipped ONNX detector back into its PyTorch model (fine-tuning without a .pt).

The shipped files were exported with ``torch.onnx.export(..., dynamo=False)`` in eval mode, which
keeps the parameter names of the inference wrapper (``model.<state_dict key>``) for every tensor it
uses as is, but folds each BatchNorm into the convolution before it: such a convolution's weight and
new bias are anonymous initializers (``onnx::Conv_NNN``) and the BatchNorm has no tensors left.

The mapping used here:

* named initializers ``model.<key>`` are copied to ``<key>`` of the state dict;
* every ``Conv`` node, in graph order (the traced execution order), is paired with the model's
  ``nn.Conv2d`` calls in the order a forward pass makes them (names are not trusted there: the
  exporter also merges initializers of equal value under one name); shapes must agree pair by pair;
* the ``Mul`` -> ``Add`` pairs with unnamed constants left by exported GroupNorms go, in graph
  order, to the calls of the GroupNorms not loaded by name, in execution order;
* a folded pair (weight ``W'``, bias ``b'``) goes back as ``conv.weight = W'`` (a conv bias, if
  any, is zeroed) and BatchNorm ``gamma = sqrt(var + eps)``, ``beta = b' + mean``: in eval mode
  that is exactly ``W' x + b'`` for any ``mean``/``var``. :func:`calibrate_batch_norm` then scales
  each such weight back to the size of a freshly initialised one (so that Adam's steps are as large,
  relative to the weights, as in the original training) and sets ``mean``/``var`` to the statistics
  of its output on training crops (:func:`calibration_images`), so that training-mode BatchNorm,
  which normalises with batch statistics, starts from what the shipped network computes.

:func:`max_output_difference` checks the result against onnxruntime on a random input.

    python -m detectors.training.onnx_weights detectors/weights/faceboxes.onnx -o runs/shipped-faceboxes.pt

writes a checkpoint that ``start.py train --init-from`` and ``start.py export`` accept.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from detectors.training.anchor_sampling import augment_with_das
from detectors.training.augment import AugmentConfig
from detectors.training.families import ModelFamily, get_family

#: Prefix the inference wrappers give the model's parameters in the ONNX graph.
WRAPPER_PREFIX = "model."


@dataclass(frozen=True)
class ConvLink:
    """One convolution of the model in execution order and the BatchNorm that reads its output."""

    name: str
    conv: nn.Conv2d
    norm: nn.BatchNorm2d | None


def parse_model_name(metadata: dict[str, str]) -> tuple[str, str]:
    """``(family, variant)`` from the ``facetrack_model`` metadata (e.g. ``faceboxes-small2``)."""
    family, _, variant = metadata.get("facetrack_model", "").partition("-")
    if not family or not variant:
        raise ValueError(f"not a FaceTrack detector: facetrack_model={metadata.get('facetrack_model')!r}")
    return family, variant


def execution_order(model: nn.Module, example: torch.Tensor) -> tuple[list[ConvLink], list[tuple[str, nn.GroupNorm]]]:
    """The model's convolution and GroupNorm calls (a layer shared by several levels once per call)
    in the order one forward pass of ``example`` makes them; each convolution with the BatchNorm
    that takes its output as input, if any."""
    names = {module: name for name, module in model.named_modules()}
    produced: dict[int, nn.Conv2d] = {}
    outputs: list[torch.Tensor] = []  # kept alive so their ids stay unique during the pass
    convs: list[nn.Conv2d] = []
    group_norms: list[nn.GroupNorm] = []
    norms: dict[nn.Conv2d, nn.BatchNorm2d] = {}

    def after_conv(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        produced[id(output)] = module
        outputs.append(output)
        convs.append(module)

    def before_batch_norm(module: nn.Module, inputs: tuple) -> None:
        source = produced.get(id(inputs[0]))
        if source is not None:
            norms[source] = module

    def before_group_norm(module: nn.Module, inputs: tuple) -> None:
        group_norms.append(module)

    hooks = [m.register_forward_hook(after_conv) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_pre_hook(before_batch_norm) for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    hooks += [m.register_forward_pre_hook(before_group_norm) for m in model.modules() if isinstance(m, nn.GroupNorm)]
    try:
        with torch.no_grad():
            model.eval()(example)
    finally:
        for hook in hooks:
            hook.remove()
    return ([ConvLink(names[conv], conv, norms.get(conv)) for conv in convs],
            [(names[norm], norm) for norm in group_norms])


@dataclass(frozen=True)
class OnnxTensors:
    """What the loader reads from an ONNX file.

    Attributes:
        tensors: Initializers by name.
        convs: ``(weight, bias)`` initializer names of each Conv node, in graph order.
        affines: ``(scale, shift)`` initializer names of each ``Mul`` -> ``Add`` pair with unnamed
            constants (the affine part of an exported GroupNorm call), in graph order.
        metadata: The model's metadata.
    """

    tensors: dict[str, np.ndarray]
    convs: list[tuple[str, str | None]]
    affines: list[tuple[str, str]]
    metadata: dict[str, str]


def read_onnx_tensors(path: str | Path) -> OnnxTensors:
    """The initializers of the ONNX file at ``path`` and where its graph uses them."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(path))
    tensors = {init.name: numpy_helper.to_array(init).copy() for init in proto.graph.initializer}
    nodes = list(proto.graph.node)
    # The exporter shares initializers of equal value, giving the copies as Identity outputs.
    tensors.update({node.output[0]: tensors[node.input[0]] for node in nodes
                    if node.op_type == "Identity" and node.input[0] in tensors})
    convs = [
        (node.input[1], node.input[2] if len(node.input) > 2 and node.input[2] else None)
        for node in nodes
        if node.op_type == "Conv" and node.input[1] in tensors
    ]
    shift_of = {node.input[0]: node.input[1] for node in nodes if node.op_type == "Add" and node.input[1] in tensors}
    affines = []
    for node in nodes:
        scale = node.input[1] if node.op_type == "Mul" and len(node.input) > 1 else ""
        if scale in tensors and not scale.startswith(WRAPPER_PREFIX) and node.output[0] in shift_of:
            affines.append((scale, shift_of[node.output[0]]))
    return OnnxTensors(tensors, convs, affines, {prop.key: prop.value for prop in proto.metadata_props})


def _copy(state: dict[str, torch.Tensor], key: str, array: np.ndarray, source: str) -> None:
    """``state[key] = array`` (reshaped to its shape when the sizes agree)."""
    if state[key].numel() != array.size:
        raise ValueError(f"{source}: shape {array.shape} in the ONNX file, {tuple(state[key].shape)} in the model")
    state[key].copy_(torch.from_numpy(array).reshape(state[key].shape))


def load_onnx_weights(model: nn.Module, path: str | Path, example: torch.Tensor) -> dict[str, int]:
    """Copy the weights of the ONNX file at ``path`` into ``model`` (see the module docstring).

    BatchNorms of folded convolutions get ``mean = 0`` and ``var = 1 - eps`` (exact in eval mode);
    call :func:`calibrate_batch_norm` before training in train mode. Returns how many ``named``
    tensors, ``folded`` and ``plain`` (unfolded) convolutions and ``group_norm`` affines were loaded.

    Raises:
        ValueError: When a tensor of the model is left without a value, or shapes disagree.
    """
    onnx_file = read_onnx_tensors(path)
    state = model.state_dict()
    loaded: set[str] = set()
    for name, array in onnx_file.tensors.items():
        key = name.removeprefix(WRAPPER_PREFIX)
        if name.startswith(WRAPPER_PREFIX) and key in state:
            _copy(state, key, array, name)
            loaded.add(key)
    links, group_norms = execution_order(model, example)
    group_norms = [(name, norm) for name, norm in group_norms if f"{name}.weight" not in loaded]
    if len(links) != len(onnx_file.convs) or len(group_norms) != len(onnx_file.affines):
        raise ValueError(f"{len(onnx_file.convs)} Conv nodes and {len(onnx_file.affines)} affines in the ONNX file "
                         f"for {len(links)} convolution calls and {len(group_norms)} GroupNorms")
    named = len(loaded)
    folded: set[str] = set()
    plain: set[str] = set()
    for (name, _), (scale, shift) in zip(group_norms, onnx_file.affines):
        _copy(state, f"{name}.weight", onnx_file.tensors[scale], scale)
        _copy(state, f"{name}.bias", onnx_file.tensors[shift], shift)
        loaded.update((f"{name}.weight", f"{name}.bias"))
    norm_names = {module: name for name, module in model.named_modules()}
    for link, (weight_name, bias_name) in zip(links, onnx_file.convs):
        weight = onnx_file.tensors[weight_name]
        bias = torch.from_numpy(onnx_file.tensors[bias_name]) if bias_name else torch.zeros(weight.shape[0])
        _copy(state, f"{link.name}.weight", weight, weight_name)
        loaded.add(f"{link.name}.weight")
        if link.norm is None:
            if link.conv.bias is not None:
                _copy(state, f"{link.name}.bias", bias.numpy(), str(bias_name))
                loaded.add(f"{link.name}.bias")
            elif bias_name:
                raise ValueError(f"{link.name}: the ONNX Conv has a bias, the model's convolution none")
            plain.add(link.name)
            continue
        if link.conv.bias is not None:
            state[f"{link.name}.bias"].zero_()
            loaded.add(f"{link.name}.bias")
        with torch.no_grad():
            _set_norm(link.norm, bias, torch.zeros_like(bias), torch.ones_like(bias) - link.norm.eps)
        loaded.update(f"{norm_names[link.norm]}.{key}" for key in link.norm.state_dict())
        folded.add(link.name)
    missing = sorted(set(state) - loaded)
    if missing:
        raise ValueError(f"no value in the ONNX file for {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
    return {"named": named, "folded": len(folded), "plain": len(plain), "group_norm": len(group_norms)}


def _set_norm(norm: nn.BatchNorm2d, bias: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> None:
    """Make eval-mode ``norm`` the identity plus ``bias`` for the given running statistics."""
    norm.running_mean.copy_(mean)
    norm.running_var.copy_(var)
    norm.weight.copy_(torch.sqrt(var + norm.eps))
    norm.bias.copy_(bias + mean)


def weight_rms(model: nn.Module) -> dict[str, float]:
    """The root mean square of each convolution weight of ``model`` by module name (of a freshly
    built model: the scale the weights were trained from)."""
    return {name: float(module.weight.pow(2).mean().sqrt())
            for name, module in model.named_modules() if isinstance(module, nn.Conv2d)}


@torch.no_grad()
def calibrate_batch_norm(model: nn.Module, images: torch.Tensor, example: torch.Tensor,
                         target_rms: dict[str, float] | None = None) -> int:
    """Re-parametrise each convolution + BatchNorm pair without changing what eval mode computes:
    the convolution weight scaled to ``target_rms[name]`` (e.g. :func:`weight_rms` of a fresh model;
    None keeps the scale) and the running statistics set to those of the scaled convolution's
    output on ``images`` ((N, 3, H, W) BGR 0..255). Returns how many pairs were set.

    Folding leaves convolution weights at ``gamma / sigma`` times their trained scale, up to 7x
    smaller here; Adam's steps do not scale with the weights, so fine-tuning them at that scale
    would move them several times faster than training did.
    """
    links = [link for link in execution_order(model, example)[0] if link.norm is not None]
    captured: dict[nn.BatchNorm2d, torch.Tensor] = {}
    hooks = [
        link.norm.register_forward_pre_hook(lambda module, inputs: captured.__setitem__(module, inputs[0].detach()))
        for link in links
    ]
    try:
        model.eval()(images)
    finally:
        for hook in hooks:
            hook.remove()
    for link in {link.name: link for link in links}.values():
        norm = link.norm
        # Eval mode computes ``slope * z + offset`` of the convolution's output z; keep that.
        slope = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        offset = norm.bias - norm.running_mean * slope
        scale = 1.0
        if target_rms is not None:
            scale = target_rms[link.name] / float(link.conv.weight.pow(2).mean().sqrt())
            link.conv.weight.mul_(scale)
            if link.conv.bias is not None:
                link.conv.bias.mul_(scale)
        values = captured[norm].transpose(0, 1).reshape(norm.num_features, -1) * scale
        mean, var = values.mean(dim=1), values.var(dim=1, unbiased=False)
        norm.running_mean.copy_(mean)
        norm.running_var.copy_(var)
        norm.weight.copy_(slope * torch.sqrt(var + norm.eps) / scale)
        norm.bias.copy_(offset + mean * slope / scale)
    return len({link.name for link in links})


def onnx_family(path: str | Path) -> tuple[ModelFamily, str, dict[str, str]]:
    """The :class:`ModelFamily`, variant and metadata of a FaceTrack ONNX file."""
    metadata = read_onnx_tensors(path).metadata
    family, variant = parse_model_name(metadata)
    return get_family(family), variant, metadata


def max_output_difference(model: nn.Module, family: ModelFamily, path: str | Path, seed: int = 0,
                          size: tuple[int, int] = (320, 416)) -> float:
    """Largest absolute difference between the PyTorch model's ``deltas``/``scores`` and
    onnxruntime's on one random (1, 3, ``size``) input in 0..255."""
    import onnxruntime as ort

    batch = np.random.default_rng(seed).uniform(0, 255, (1, 3, *size)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_deltas, onnx_scores = session.run(None, {session.get_inputs()[0].name: batch})
    deltas, scores = family.forward(model)(batch)
    return float(max(np.abs(deltas - onnx_deltas[0]).max(), np.abs(scores - onnx_scores[0]).max()))


def calibration_images(folders: Sequence[str | Path], count: int, config: AugmentConfig, seed: int = 0) -> torch.Tensor:
    """``count`` training crops of images drawn from the labelled ``folders`` (VOC, YOLO or WIDER FACE,
    recognised from their layout), made by the training augmentation (:func:`detectors.training.anchor_sampling.augment_with_das` with ``config``).

    BatchNorm must be calibrated on what training feeds it: once training starts, its statistics
    follow the training crops, and statistics of other images (whole frames, say) would change
    what the re-parametrised network computes as soon as they were replaced.
    """
    from detectors.datasets import read_face_folder

    samples = [sample for folder in folders for sample in read_face_folder(folder)]
    rng = np.random.default_rng(seed)
    images = []
    for index in rng.choice(len(samples), size=min(count, len(samples)), replace=False):
        sample = samples[index]
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        crop, _, _ = augment_with_das(image, sample.boxes, sample.ignore, rng, config)
        images.append(torch.from_numpy(crop.transpose(2, 0, 1).copy()).float())
    return torch.stack(images)


def checkpoint_from_onnx(path: str | Path, calibration: torch.Tensor | None, tolerance: float = 1e-4) -> dict:
    """A training checkpoint (``model``, ``config``, ``epoch``, family extras) holding the weights of
    the ONNX file; with ``calibration`` images, convolutions + BatchNorms re-parametrised by
    :func:`calibrate_batch_norm` to a fresh model's weight scale.

    Raises:
        ValueError: When the PyTorch model's outputs differ from onnxruntime's by more than ``tolerance``.
    """
    family, variant, metadata = onnx_family(path)
    model = family.build(variant)
    example = torch.rand(1, 3, 256, 256) * 255
    counts = load_onnx_weights(model, path, example)
    if calibration is not None:
        calibrate_batch_norm(model, calibration, example, weight_rms(family.build(variant)))
    difference = max_output_difference(model, family, path)
    if difference > tolerance:
        raise ValueError(f"the PyTorch model differs from {path} by {difference:.2e} (> {tolerance:.0e})")
    return {
        "model": model.state_dict(),
        "config": {"family": family.name, "variant": variant},
        "epoch": int(metadata.get("epoch") or -1),
        "from_onnx": {"path": str(path), "max_difference": difference, **counts},
        **family.checkpoint_extras(model),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: write the checkpoint of an ONNX detector."""
    parser = argparse.ArgumentParser(description="Turn a shipped FaceTrack ONNX detector into a training checkpoint.")
    parser.add_argument("model", type=Path)
    parser.add_argument("--output", "-o", type=Path, required=True)
    parser.add_argument("--calibrate-on", nargs="+", required=True, metavar="FOLDER",
                        help="labelled training folders (VOC, YOLO or WIDER FACE) whose training crops set the "
                             "BatchNorm statistics: the frames you will fine-tune on")
    parser.add_argument("--calibration-images", type=int, default=64)
    parser.add_argument("--calibration-size", type=int, default=512, help="side of the training crops")
    parser.add_argument("--das", type=float, default=0.5, help="share of data-anchor-sampling crops (as trained)")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    from detectors.datasets import LabelError

    try:
        images = calibration_images(args.calibrate_on, args.calibration_images,
                                    AugmentConfig(size=args.calibration_size, das_probability=args.das))
    except LabelError as error:
        parser.exit(2, f"error: {error}\n")
    checkpoint = checkpoint_from_onnx(args.model, images)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, args.output)
    print(f"wrote {args.output}: {checkpoint['from_onnx']}")


if __name__ == "__main__":
    main()
