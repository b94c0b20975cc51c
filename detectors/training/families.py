"""What the training loop needs to know about each detector family (FaceBoxes, AInnoFace).

A :class:`ModelFamily` bundles model construction, the training set, the loss, the PyTorch
forward used for evaluation and the ONNX export, so :mod:`detectors.training.train` is one loop
for every detector.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from detectors.anchors import AnchorLevel
from detectors.datasets.sample import FaceSample
from detectors.inference import ForwardFn
from detectors.training.augment import AugmentConfig
from detectors.training.forward import torch_forward

#: (model, batch from the data loader, TrainConfig, teacher or None) -> named loss terms, including ``total``.
LossFn = Callable[[nn.Module, Any, Any, "nn.Module | None"], dict[str, torch.Tensor]]


@dataclass(frozen=True)
class ModelFamily:
    """Family-specific pieces of training, evaluation and export."""

    name: str
    default_variant: str
    build: Callable[[str], nn.Module]
    make_dataset: Callable[[Sequence[FaceSample], nn.Module, AugmentConfig, int], Dataset]
    collate: Callable[[list], Any]
    losses: LossFn
    forward: Callable[[nn.Module], ForwardFn]
    levels: Callable[[nn.Module], tuple[AnchorLevel, ...]]
    pad_multiple: int
    export_checkpoint: Callable[[Path, Path, dict[str, str] | None], Path]
    checkpoint_extras: Callable[[nn.Module], dict[str, Any]] = lambda model: {}
    default_das_probability: float = 0.0
    """Share of training crops made by data-anchor-sampling unless the run sets it."""


def _faceboxes() -> ModelFamily:
    from detectors.faceboxes.config import PAD_MULTIPLE
    from detectors.faceboxes.model import build_faceboxes
    from detectors.training.data import FaceTrainingSet, stack_batch
    from detectors.training.distill import faceboxes_distillation
    from detectors.training.export import InferenceWrapper, export_checkpoint
    from detectors.training.loss import multibox_loss

    def losses(model: nn.Module, batch: Any, config: Any, teacher: nn.Module | None) -> dict[str, torch.Tensor]:
        images, labels, targets = batch
        deltas, logits = model(images)
        classification, localisation = multibox_loss(
            deltas.float(), logits.float(), labels, targets, background_weight=config.background_weight,
            giou_weight=config.giou_weight,
        )
        terms = {"cls": classification, "loc": localisation}
        if teacher is not None:
            with torch.no_grad():
                answers = teacher(images)
            faces = labels == 1
            summed = faceboxes_distillation((deltas, logits), answers, faces.any(dim=1))
            terms["distill"] = config.distill_weight * summed / faces.sum().clamp(min=1).float()
        return {**terms, "total": sum(terms.values())}

    return ModelFamily(
        name="faceboxes",
        default_variant="small2",
        build=build_faceboxes,
        make_dataset=lambda samples, model, augment, seed: FaceTrainingSet(samples, model.config.levels, augment,
                                                                           seed=seed),
        collate=stack_batch,
        losses=losses,
        forward=lambda model: torch_forward(InferenceWrapper(model)),
        levels=lambda model: model.config.levels,
        pad_multiple=PAD_MULTIPLE,
        export_checkpoint=export_checkpoint,
    )


def _ainnoface() -> ModelFamily:
    from detectors.ainnoface import PAD_MULTIPLE, build_ainnoface
    from detectors.ainnoface import training as ainnoface_training
    from detectors.ainnoface.export import export_ainnoface_checkpoint
    from detectors.training.distill import ainnoface_distillation

    def losses(model: nn.Module, batch: Any, config: Any, teacher: nn.Module | None) -> dict[str, torch.Tensor]:
        images, boxes, ignore = batch
        outputs = model(images)
        terms = ainnoface_training.compute_losses(model, images, boxes, ignore, outputs=outputs)
        if teacher is None:
            return terms
        with torch.no_grad():
            answers = teacher(images)
        counts = torch.tensor([len(faces) for faces in boxes])
        summed = ainnoface_distillation(outputs, answers, counts > 0)
        distill = config.distill_weight * summed / counts.sum().clamp(min=1).float()
        return {**terms, "distill": distill, "total": terms["total"] + distill}

    return ModelFamily(
        name="ainnoface",
        default_variant="small",
        build=build_ainnoface,
        make_dataset=lambda samples, model, augment, seed: ainnoface_training.AInnoFaceTrainingSet(
            samples, augment, seed=seed
        ),
        collate=ainnoface_training.collate,
        losses=losses,
        forward=ainnoface_training.torch_forward,
        levels=lambda model: model.config.levels,
        pad_multiple=PAD_MULTIPLE,
        export_checkpoint=export_ainnoface_checkpoint,
        checkpoint_extras=lambda model: {"model_config": ainnoface_training.model_config_dict(model)},
        default_das_probability=0.5,
    )


FAMILIES: dict[str, Callable[[], ModelFamily]] = {"faceboxes": _faceboxes, "ainnoface": _ainnoface}


def get_family(name: str) -> ModelFamily:
    """The :class:`ModelFamily` called ``name`` (``faceboxes`` or ``ainnoface``)."""
    if name not in FAMILIES:
        raise ValueError(f"unknown detector family {name!r}; choose one of {', '.join(FAMILIES)}")
    return FAMILIES[name]()


def export_trained(checkpoint: str | Path, output: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Export a checkpoint of any family to ONNX (the family is read from the checkpoint).

    ``metadata`` adds entries such as the recommended ``score_threshold`` and
    ``low_score_threshold`` (see :class:`detectors.runtime.OnnxFaceDetector`).
    """
    state = torch.load(checkpoint, weights_only=True)
    family = state.get("config", {}).get("family", "faceboxes")
    return get_family(family).export_checkpoint(Path(checkpoint), Path(output), metadata)
