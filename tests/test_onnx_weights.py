"""Shipped ONNX weights back into PyTorch: exact outputs, BatchNorm statistics that train mode agrees with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from torch import nn  # noqa: E402

from detectors import BUILTIN_DETECTORS, WEIGHTS_DIR  # noqa: E402
from detectors.training.families import export_trained, get_family  # noqa: E402
from detectors.training.onnx_weights import (  # noqa: E402
    calibrate_batch_norm,
    execution_order,
    checkpoint_from_onnx,
    load_onnx_weights,
    max_output_difference,
    onnx_family,
    parse_model_name,
    weight_rms,
)

EXAMPLE = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(0)) * 255


def _randomise_norms(model: nn.Module, seed: int) -> nn.Module:
    """Non-trivial BatchNorm/GroupNorm parameters and statistics, so that folding them matters."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator) * 1.5 + 0.25)
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.5)
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator))
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) * 2 + 0.5)
    return model.eval()


@pytest.fixture(scope="module", params=["faceboxes", "ainnoface"])
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, nn.Module, Path]:
    """``(family, model, onnx path)``: a small seeded model with random norms, exported as the shipped ones."""
    torch.set_num_threads(1)
    torch.manual_seed(3)
    family = get_family(request.param)
    variant = "small2" if request.param == "faceboxes" else "small"
    model = _randomise_norms(family.build(variant), seed=5)
    checkpoint = tmp_path_factory.mktemp("ckpt") / "model.pt"
    torch.save({"model": model.state_dict(), "config": {"family": request.param, "variant": variant}, "epoch": 7,
                **family.checkpoint_extras(model)}, checkpoint)
    path = export_trained(checkpoint, checkpoint.with_suffix(".onnx"), {"score_threshold": "0.5"})
    return request.param, model, path


def test_model_name_gives_family_and_variant() -> None:
    assert parse_model_name({"facetrack_model": "faceboxes-small2"}) == ("faceboxes", "small2")
    with pytest.raises(ValueError, match="not a FaceTrack detector"):
        parse_model_name({})


def _outputs(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Every floating-point output of the raw model, flattened into one tensor."""
    with torch.no_grad():
        outputs = model(images)
    return torch.cat([tensor.flatten() for tensor in outputs if tensor.is_floating_point()])


def test_loaded_model_reproduces_the_onnx_outputs(exported: tuple[str, nn.Module, Path]) -> None:
    name, original, path = exported
    family, variant, metadata = onnx_family(path)
    assert family.name == name and metadata["score_threshold"] == "0.5"
    model = family.build(variant)
    counts = load_onnx_weights(model, path, EXAMPLE)
    assert counts["folded"] > 0 and counts["named"] > 0  # BatchNorms were folded by the export and put back
    assert max_output_difference(model, family, path, size=(160, 224)) < 1e-4
    torch.testing.assert_close(_outputs(model.eval(), EXAMPLE), _outputs(original.eval(), EXAMPLE), atol=1e-4, rtol=1e-4)


def test_calibrated_batch_norm_makes_train_mode_agree_with_eval_mode(exported: tuple[str, nn.Module, Path]) -> None:
    _, _, path = exported
    family, variant, _ = onnx_family(path)
    model = family.build(variant)
    load_onnx_weights(model, path, EXAMPLE)
    images = torch.rand(4, 3, 128, 128, generator=torch.Generator().manual_seed(1)) * 255
    target = weight_rms(family.build(variant))
    calibrated = calibrate_batch_norm(model, images, EXAMPLE, target)
    assert calibrated == sum(isinstance(module, nn.BatchNorm2d) for module in model.modules())
    assert max_output_difference(model, family, path, size=(160, 224)) < 1e-4  # eval mode unchanged
    rescaled = weight_rms(model)
    normalised = {link.name for link in execution_order(model, EXAMPLE)[0] if link.norm is not None}
    assert all(rescaled[name] == pytest.approx(target[name], rel=1e-4) for name in normalised)  # a fresh model's scale
    evaluated = _outputs(model.eval(), images)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = 0.0  # keep the calibrated statistics through the train-mode pass
    # Batch statistics of the calibration images are the calibrated ones: train mode computes the same.
    torch.testing.assert_close(_outputs(model.train(), images), evaluated, atol=2e-3, rtol=2e-3)


def test_checkpoint_exports_back_to_the_same_detector(exported: tuple[str, nn.Module, Path], tmp_path: Path) -> None:
    _, _, path = exported
    checkpoint = checkpoint_from_onnx(path, calibration=None)
    assert checkpoint["epoch"] == 7 and checkpoint["from_onnx"]["max_difference"] < 1e-4
    torch.save(checkpoint, tmp_path / "back.pt")
    again = export_trained(tmp_path / "back.pt", tmp_path / "again.onnx")
    family, variant, _ = onnx_family(again)
    model = family.build(variant)
    load_onnx_weights(model, again, EXAMPLE)
    assert max_output_difference(model, family, path, size=(96, 128)) < 1e-4


@pytest.mark.parametrize("name", sorted(BUILTIN_DETECTORS))
def test_shipped_weights_load_into_pytorch(name: str) -> None:
    path = WEIGHTS_DIR / BUILTIN_DETECTORS[name]
    if not path.exists():
        pytest.skip(f"{path} is not installed")
    family, variant, _ = onnx_family(path)
    model = family.build(variant)
    load_onnx_weights(model, path, EXAMPLE)
    assert max_output_difference(model, family, path) < 1e-4


def test_calibration_images_are_training_crops(tmp_path: Path) -> None:
    import cv2

    from detectors.training.augment import AugmentConfig
    from detectors.training.onnx_weights import calibration_images

    (tmp_path / "images").mkdir()
    (tmp_path / "annotations").mkdir()
    for index in range(3):
        cv2.imwrite(str(tmp_path / "images" / f"i{index}.jpg"), np.full((120, 200, 3), 60 * index, np.uint8))
        (tmp_path / "annotations" / f"i{index}.xml").write_text(
            "<annotation><object><name>face</name><bndbox><xmin>20</xmin><ymin>20</ymin><xmax>60</xmax>"
            "<ymax>60</ymax></bndbox></object></annotation>"
        )
    images = calibration_images([tmp_path], 2, AugmentConfig(size=64, das_probability=0.5))
    assert images.shape == (2, 3, 64, 64) and images.dtype == torch.float32
    from detectors.datasets import UnreadableFolder

    with pytest.raises(UnreadableFolder):
        calibration_images([tmp_path / "none"], 2, AugmentConfig(size=64))
