"""AInnoFace training glue: dataset, collate, losses on a loader batch, PyTorch forward for evaluation."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from detectors.ainnoface import PAD_MULTIPLE, build_ainnoface
from detectors.ainnoface.training import AInnoFaceTrainingSet, collate, compute_losses, torch_forward
from detectors.datasets.sample import FaceSample
from detectors.inference import ScalePolicy, detect_frame
from detectors.postprocess import PostprocessConfig
from detectors.training.augment import AugmentConfig


def test_dataset_batch_trains_and_evaluates(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    samples = []
    for index in range(3):
        image = rng.integers(0, 255, (150, 200, 3), dtype=np.uint8)
        path = tmp_path / f"image{index}.jpg"
        cv2.imwrite(str(path), image)
        boxes = (
            np.array([[30, 40, 70, 90], [120, 20, 180, 90]], np.float32)[: index + 1]
            if index
            else np.zeros((0, 4), np.float32)
        )
        samples.append(FaceSample(path, boxes, np.array([[0, 0, 10, 10]], np.float32)))
    dataset = AInnoFaceTrainingSet(samples, AugmentConfig(size=128, das_probability=0.7), seed=1)
    images, boxes, ignore = collate([dataset[index] for index in range(len(dataset))])
    assert tuple(images.shape) == (3, 3, 128, 128) and images.dtype == torch.float32
    assert [tuple(b.shape)[1] for b in boxes] == [4, 4, 4] and len(ignore) == 3
    assert len(boxes[0]) == 0
    model = build_ainnoface("small").train()
    losses = compute_losses(model, images, boxes, ignore)
    losses["total"].backward()
    assert torch.isfinite(losses["total"]) and model.second_step.cls_pred.weight.grad is not None
    model.eval()
    frame = rng.integers(0, 255, (90, 130, 3), dtype=np.uint8)
    detections = detect_frame(
        frame, torch_forward(model), model.levels, PAD_MULTIPLE, ScalePolicy(max_side=256), PostprocessConfig(0.005)
    )
    assert detections.dtype == np.float32 and detections.shape[1] == 5
