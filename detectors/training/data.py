"""PyTorch dataset producing augmented images with matched anchor targets."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from detectors.anchors import AnchorLevel, generate_anchors
from detectors.datasets.sample import FaceSample
from detectors.training.anchor_sampling import PYRAMIDBOX_ANCHORS, augment_with_das
from detectors.training.augment import AugmentConfig
from detectors.training.copy_paste import paste_small_faces
from detectors.training.degrade import degrade
from detectors.training.matching import match_anchors
from detectors.training.negatives import hard_negative, negative_count

NO_BOXES = np.zeros((0, 4), dtype=np.float32)


class AugmentedFaceSet(Dataset):
    """Base of the training sets: the samples, their epoch-dependent randomness, image loading and
    augmentation.

    Indices below ``len(samples)`` are the annotated images; the ``negative_count`` indices after
    them are hard negatives (:mod:`detectors.training.negatives`), each made from a training image
    drawn per ``(seed, epoch, index)``, so ``augment_config.negative_fraction`` of an epoch is
    face-free while every annotated image is still seen once.
    """

    def __init__(
        self,
        samples: Sequence[FaceSample],
        augment_config: AugmentConfig,
        seed: int = 0,
        anchor_sizes: tuple[float, ...] = PYRAMIDBOX_ANCHORS,
    ) -> None:
        self.samples = list(samples)
        self.augment_config = augment_config
        self.seed = seed
        self.anchor_sizes = anchor_sizes
        self.negative_count = negative_count(len(self.samples), augment_config.negative_fraction)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.samples) + self.negative_count

    def set_epoch(self, epoch: int) -> None:
        """Change the augmentation randomness (call before each epoch)."""
        self.epoch = epoch

    def load(self, index: int) -> tuple[FaceSample, np.ndarray, np.random.Generator]:
        """Sample ``index`` (a random one for a negative's index), its BGR image and a generator
        fixed by ``(seed, epoch, index)``."""
        rng = np.random.default_rng((self.seed, self.epoch, index))
        sample = self.samples[index if index < len(self.samples) else int(rng.integers(len(self.samples)))]
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise OSError(f"cannot read training image {sample.image_path}")
        return sample, image, rng

    def augmented(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(image, boxes, ignore)`` of item ``index`` at the training size: the augmented annotated
        image (:func:`detectors.training.anchor_sampling.augment_with_das`, then
        :func:`detectors.training.copy_paste.paste_small_faces` and
        :func:`detectors.training.degrade.degrade`) or a hard negative
        (no boxes, no ignore regions)."""
        sample, image, rng = self.load(index)
        if index >= len(self.samples):
            return hard_negative(image, sample.boxes, sample.ignore, rng, self.augment_config.size), NO_BOXES, NO_BOXES
        image, boxes, ignore = augment_with_das(image, sample.boxes, sample.ignore, rng, self.augment_config,
                                                self.anchor_sizes)
        config = self.augment_config
        image, boxes, ignore = paste_small_faces(image, boxes, ignore, rng, config.copy_paste_probability)
        return degrade(image, boxes, ignore, rng, config.blur_probability, config.mask_probability,
                       config.smeared_face_ratio)


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 BGR -> (3, H, W) float32 tensor in 0..255."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float()


class FaceTrainingSet(AugmentedFaceSet):
    """Augmented training samples: ``(image (3,S,S) float32 BGR 0..255, labels (A,), targets (A,4))``.

    Augmentation: the FaceBoxes crop, or data-anchor-sampling with probability
    ``augment_config.das_probability`` (:func:`detectors.training.anchor_sampling.augment_with_das`);
    hard negatives as :class:`AugmentedFaceSet` adds them.
    """

    def __init__(
        self,
        samples: Sequence[FaceSample],
        levels: tuple[AnchorLevel, ...],
        augment_config: AugmentConfig,
        iou_threshold: float = 0.35,
        seed: int = 0,
    ) -> None:
        super().__init__(samples, augment_config, seed)
        self.anchors = generate_anchors(levels, augment_config.size, augment_config.size)
        self.iou_threshold = iou_threshold

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        image, boxes, ignore = self.augmented(index)
        labels, targets = match_anchors(self.anchors, boxes, ignore, self.iou_threshold)
        return image_tensor(image), torch.from_numpy(labels.astype(np.int64)), torch.from_numpy(targets)


def stack_batch(batch: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Collate :class:`FaceTrainingSet` items into batched tensors."""
    images, labels, targets = zip(*batch)
    return torch.stack(images), torch.stack(labels), torch.stack(targets)
