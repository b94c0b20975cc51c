"""PyTorch dataset producing augmented images with matched anchor targets."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from detectors.anchors import AnchorLevel, generate_anchors
from detectors.datasets.sample import FaceSample
from detectors.training.anchor_sampling import augment_with_das
from detectors.training.augment import AugmentConfig
from detectors.training.matching import match_anchors


class AugmentedFaceSet(Dataset):
    """Base of the training sets: the samples, their epoch-dependent randomness and image loading."""

    def __init__(self, samples: Sequence[FaceSample], augment_config: AugmentConfig, seed: int = 0) -> None:
        self.samples = list(samples)
        self.augment_config = augment_config
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.samples)

    def set_epoch(self, epoch: int) -> None:
        """Change the augmentation randomness (call before each epoch)."""
        self.epoch = epoch

    def load(self, index: int) -> tuple[FaceSample, np.ndarray, np.random.Generator]:
        """Sample ``index``, its BGR image and a generator fixed by ``(seed, epoch, index)``."""
        sample = self.samples[index]
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise OSError(f"cannot read training image {sample.image_path}")
        return sample, image, np.random.default_rng((self.seed, self.epoch, index))


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 BGR -> (3, H, W) float32 tensor in 0..255."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float()


class FaceTrainingSet(AugmentedFaceSet):
    """Augmented training samples: ``(image (3,S,S) float32 BGR 0..255, labels (A,), targets (A,4))``.

    Augmentation: the FaceBoxes crop, or data-anchor-sampling with probability
    ``augment_config.das_probability`` (:func:`detectors.training.anchor_sampling.augment_with_das`).
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
        sample, image, rng = self.load(index)
        image, boxes, ignore = augment_with_das(image, sample.boxes, sample.ignore, rng, self.augment_config)
        labels, targets = match_anchors(self.anchors, boxes, ignore, self.iou_threshold)
        return image_tensor(image), torch.from_numpy(labels.astype(np.int64)), torch.from_numpy(targets)


def stack_batch(batch: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Collate :class:`FaceTrainingSet` items into batched tensors."""
    images, labels, targets = zip(*batch)
    return torch.stack(images), torch.stack(labels), torch.stack(targets)
