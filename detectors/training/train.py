"""Resumable training loop for the detectors, with per-epoch logging and dev-set AP.

Checkpoints (``last.pt`` every epoch, ``best.pt`` at the best dev score) and the JSON-lines log
``log.jsonl`` are written to the run folder; running the same command again resumes from
``last.pt``. Checkpoints hold only tensors and plain values, so they load with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from detectors.datasets.sample import FaceSample
from detectors.datasets.voc import read_voc_folder
from detectors.evaluation.ap import evaluate_detections
from detectors.faceboxes.config import PAD_MULTIPLE
from detectors.inference import ScalePolicy, detect_frame
from detectors.postprocess import PostprocessConfig
from detectors.training.augment import AugmentConfig
from detectors.training.data import FaceTrainingSet
from detectors.training.export import InferenceWrapper
from detectors.training.loss import multibox_loss

#: Buckets averaged into the model-selection score.
SELECTION_BUCKETS = (">=64", "32-64", "16-32")


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in each checkpoint)."""

    run_dir: str = "runs/faceboxes-small"
    variant: str = "small"
    train_sets: list[str] = field(default_factory=lambda: ["../shared/data/faces/train", "../shared/data/pseudo"])
    dev_set: str = "../shared/data/faces/dev"
    epochs: int = 45
    batch_size: int = 16
    image_size: int = 512
    learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.03
    negatives_per_positive: int = 3
    eval_every: int = 4
    eval_max_side: int = 1024
    workers: int = 1
    threads: int = 2
    seed: int = 0
    max_batches: int | None = None  # smoke tests: stop each epoch after this many batches
    dev_limit: int | None = None  # smoke tests: evaluate on the first N dev images


def torch_forward(model: nn.Module) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A :data:`detectors.inference.ForwardFn` running ``model`` in PyTorch."""
    wrapper = InferenceWrapper(model).eval()

    def forward(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            deltas, scores = wrapper(torch.from_numpy(batch))
        return deltas[0].numpy(), scores[0].numpy()

    return forward


def evaluate_model(model: nn.Module, samples: Sequence[FaceSample], max_side: int) -> dict[str, dict[str, float]]:
    """AP per size bucket of ``model`` on ``samples`` (score threshold 0.05, as for AP)."""
    import cv2

    was_training = model.training
    forward = torch_forward(model)
    post = PostprocessConfig(score_threshold=0.05)
    detections = []
    for sample in samples:
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        detections.append(
            detect_frame(image, forward, model.config.levels, PAD_MULTIPLE, ScalePolicy(max_side=max_side), post)
        )
    model.train(was_training)
    return evaluate_detections(samples, detections)


def selection_score(results: dict[str, dict[str, float]]) -> float:
    """Mean AP over the buckets from 16 px up that have faces (the model-selection criterion)."""
    values = [results[name]["ap"] for name in SELECTION_BUCKETS if not np.isnan(results[name]["ap"])]
    return float(np.mean(values)) if values else 0.0


def _build_model(config: TrainConfig) -> nn.Module:
    from detectors.faceboxes.model import build_faceboxes

    return build_faceboxes(config.variant)


def _collate(batch: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    images, labels, targets = zip(*batch)
    return torch.stack(images), torch.stack(labels), torch.stack(targets)


def _load_training_samples(config: TrainConfig) -> list[FaceSample]:
    samples = []
    for folder in config.train_sets:
        samples.extend(read_voc_folder(folder))
    if not samples:
        raise FileNotFoundError(f"no annotated images found in {config.train_sets}")
    return samples


def train(config: TrainConfig, log: Callable[[str], None] = print) -> Path:
    """Train (or resume) a detector; returns the run folder."""
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    model = _build_model(config)
    dataset = FaceTrainingSet(
        _load_training_samples(config), model.config.levels, AugmentConfig(size=config.image_size), seed=config.seed
    )
    dev_samples = read_voc_folder(config.dev_set)[: config.dev_limit]
    loader = DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=config.workers,
        collate_fn=_collate,
        persistent_workers=False,
        generator=torch.Generator().manual_seed(config.seed),
    )
    steps_per_epoch = min(len(loader), config.max_batches or len(loader))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    start_epoch, best_score = 0, -math.inf
    last_path = run_dir / "last.pt"
    if last_path.exists():
        state = torch.load(last_path, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, best_score = int(state["epoch"]) + 1, float(state["best_score"])
        log(f"resumed from {last_path} at epoch {start_epoch}")
    # The schedule is rebuilt from the step count, so a resumed run may also extend ``epochs``.
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=config.learning_rate,
        total_steps=max(config.epochs, start_epoch + 1) * steps_per_epoch,
        pct_start=config.warmup_fraction,
        anneal_strategy="cos",
        last_epoch=start_epoch * steps_per_epoch - 1,
    )

    for epoch in range(start_epoch, config.epochs):
        dataset.set_epoch(epoch)
        model.train()
        started = time.time()
        totals = np.zeros(2)
        for step, (images, labels, targets) in enumerate(loader):
            if step >= steps_per_epoch:
                break
            deltas, logits = model(images)
            cls_loss, loc_loss = multibox_loss(deltas, logits, labels, targets, config.negatives_per_positive)
            optimizer.zero_grad(set_to_none=True)
            (cls_loss + loc_loss).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            scheduler.step()
            totals += (cls_loss.item(), loc_loss.item())
        record: dict = {
            "epoch": epoch,
            "cls_loss": totals[0] / steps_per_epoch,
            "loc_loss": totals[1] / steps_per_epoch,
            "lr": scheduler.get_last_lr()[0],
            "train_seconds": round(time.time() - started, 1),
        }
        is_last = epoch == config.epochs - 1
        if dev_samples and ((epoch + 1) % config.eval_every == 0 or is_last):
            results = evaluate_model(model, dev_samples, config.eval_max_side)
            record["dev_ap"] = {
                name: None if np.isnan(values["ap"]) else round(values["ap"], 4) for name, values in results.items()
            }
            score = selection_score(results)
            record["selection_score"] = round(score, 4)
            if score > best_score:
                best_score = score
                torch.save({"model": model.state_dict(), "epoch": epoch, "dev_ap": record["dev_ap"],
                            "config": asdict(config)}, run_dir / "best.pt")
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": epoch,
            "best_score": best_score,
            "config": asdict(config),
        }
        torch.save(state, run_dir / "last.pt.tmp")
        (run_dir / "last.pt.tmp").replace(last_path)
        with open(run_dir / "log.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")
        log(json.dumps(record))
    return run_dir
