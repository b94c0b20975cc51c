"""PyTorch dataset producing augmented images with matched anchor targets."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from detectors.anchors import AnchorLevel, generate_anchors
from detectors.datasets.sample import FaceSample
from detectors.training.augment import AugmentConfig, augment
from detectors.training.matching import match_anchors


class FaceTrainingSet(Dataset):
    """Augmented training samples: ``(image (3,S,S) float32 BGR 0..255, labels (A,), targets (A,4))``."""

    def __init__(
        self,
        samples: Sequence[FaceSample],
        levels: tuple[AnchorLevel, ...],
        augment_config: AugmentConfig,
        iou_threshold: float = 0.35,
        seed: int = 0,
    ) -> None:
        self.samples = list(samples)
        self.augment_config = augment_config
        self.anchors = generate_anchors(levels, augment_config.size, augment_config.size)
        self.iou_threshold = iou_threshold
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.samples)

    def set_epoch(self, epoch: int) -> None:
        """Change the augmentation randomness (call before each epoch)."""
        self.epoch = epoch

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sample = self.samples[index]
        rng = np.random.default_rng((self.seed, self.epoch, index))
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise OSError(f"cannot read training image {sample.image_path}")
        image, boxes, ignore = augment(image, sample.boxes, sample.ignore, rng, self.augment_config)
        labels, targets = match_anchors(self.anchors, boxes, ignore, self.iou_threshold)
        tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float()
        return tensor, torch.from_numpy(labels.astype(np.int64)), torch.from_numpy(targets)


def stack_batch(batch: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Collate :class:`FaceTrainingSet` items into batched tensors."""
    images, labels, targets = zip(*batch)
    return torch.stack(images), torch.stack(labels), torch.stack(targets)
