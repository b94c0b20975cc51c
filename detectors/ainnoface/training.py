"""Glue for training AInnoFace with the project's loop (:mod:`detectors.training.train`).

Unlike FaceBoxes, AInnoFace cannot match anchors in the data loader: the second step is matched
against the anchors refined by the network's own first step. The dataset therefore yields the
boxes themselves and :func:`detectors.ainnoface.losses.ainnoface_loss` matches inside the loss.

Typical step::

    images, boxes, ignore = batch                      # from DataLoader(..., collate_fn=collate)
    losses = compute_losses(model, images, boxes, ignore)
    losses["total"].backward()

and for evaluation ``detect_frame(image, torch_forward(model), model.levels, PAD_MULTIPLE, ...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import torch

from detectors.ainnoface.losses import LossConfig, ainnoface_loss
from detectors.ainnoface.model import AInnoFace, AInnoFaceInferenceWrapper, AInnoFaceOutput
from detectors.anchors import generate_anchors
from detectors.inference import ForwardFn
from detectors.training.data import AugmentedFaceSet, image_tensor
from detectors.training.forward import torch_forward as run_wrapper


class AInnoFaceTrainingSet(AugmentedFaceSet):
    """Augmented samples ``(image (3,S,S) float32 BGR 0..255, boxes (G,4), ignore (K,4))``.

    Augmentation: :func:`detectors.training.anchor_sampling.augment_with_das` (data-anchor-sampling
    with probability ``augment_config.das_probability``, the FaceBoxes crop otherwise) and hard
    negatives (:class:`detectors.training.data.AugmentedFaceSet`), deterministic per
    ``(seed, epoch, index)`` like :class:`detectors.training.data.FaceTrainingSet`.
    """

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        image, boxes, ignore = self.augmented(index)
        return image_tensor(image), torch.from_numpy(boxes.reshape(-1, 4)), torch.from_numpy(ignore.reshape(-1, 4))


def collate(batch: list) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Stack the images; keep the per-image box and ignore lists (their lengths differ)."""
    images, boxes, ignore = zip(*batch)
    return torch.stack(images), list(boxes), list(ignore)


def compute_losses(
    model: AInnoFace,
    images: torch.Tensor,
    boxes: Sequence,
    ignore: Sequence | None = None,
    config: LossConfig | None = None,
    outputs: AInnoFaceOutput | None = None,
) -> dict[str, torch.Tensor]:
    """:func:`ainnoface_loss` of ``images`` (anchors for the batch size); ``outputs``: the model's
    outputs on ``images`` when already computed (else the model runs here)."""
    anchors = generate_anchors(model.config.levels, images.shape[2], images.shape[3])
    return ainnoface_loss(model(images) if outputs is None else outputs, anchors, boxes, ignore, config)


def torch_forward(model: AInnoFace) -> ForwardFn:
    """A :data:`detectors.inference.ForwardFn` running the runtime contract in PyTorch."""
    return run_wrapper(AInnoFaceInferenceWrapper(model))


def model_config_dict(model: AInnoFace) -> dict:
    """The model's config as plain values, to store in checkpoints as ``model_config``."""
    return asdict(model.config)
