"""Resumable training loop for the detectors, with per-epoch logging and dev-set AP.

Checkpoints (``last.pt`` every epoch, ``best.pt`` at the best dev score, or every epoch without a
dev set, with ``keep_epochs`` also ``epoch_NNN.pt``), the JSON-lines log ``log.jsonl`` and its
plot ``training.png`` are written to the run folder; running the same command again resumes from
``last.pt``. Data folders may be labelled as Pascal VOC, YOLO or WIDER FACE
(:func:`detectors.datasets.read_face_folder`). With ``ema_decay`` > 0 the dev AP,
``best.pt`` and hence the export use an exponential moving average of the weights
(``detectors.training.ema``); ``last.pt`` holds both. Checkpoints hold only tensors and plain
values, so they load with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from detectors.datasets.errors import LabelError
from detectors.datasets.folders import LabelFormat, read_face_folder
from detectors.datasets.sample import FaceSample
from detectors.evaluation.ap import EVALUATION_SCORE_FLOOR, evaluate_detections
from detectors.inference import ScalePolicy, detect_frame
from detectors.postprocess import PostprocessConfig
from detectors.training.augment import AugmentConfig
from detectors.training.distill import frozen_teacher
from detectors.training.ema import WeightAverage, evaluated_weights
from detectors.training.families import ModelFamily, get_family
from detectors.training.freeze import freeze_except, frozen_norms_to_eval
from detectors.training.plot import plot_run
from detectors.training.progress import JsonLines, TrainingProgress

#: Buckets averaged into the model-selection score.
SELECTION_BUCKETS = (">=64", "32-64", "16-32")


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in each checkpoint)."""

    run_dir: str = "runs/faceboxes-small"
    family: str = "faceboxes"
    variant: str | None = None  # None: the family's default (FaceBoxes small2, AInnoFace small)
    train_sets: list[str] = field(default_factory=list)  # labelled folders (VOC, YOLO or WIDER FACE)
    dev_set: str | None = None  # labelled folder for the dev AP and best.pt; None: best.pt is the last epoch
    label_format: str | None = None  # a LabelFormat value for every folder; None: recognised per folder
    epochs: int = 38
    batch_size: int = 16
    image_size: int = 512
    learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.03
    eval_every: int = 4
    eval_max_side: int = 1024
    eval_min_side: int | None = None  # dev frames with a shorter long side are enlarged (match the export's --min-side)
    eval_vote_max_size: float | None = None  # box voting below this size in the dev AP (match the export's --vote-max-size)
    keep_epochs: bool = False  # also save the evaluated weights of every epoch as epoch_NNN.pt (for averaging)
    workers: int = 1
    threads: int = 2
    seed: int = 0
    background_weight: float = 1.0
    giou_weight: float = 0.0  # FaceBoxes: weight of the GIoU term added to smooth L1 (AInnoFace always uses GIoU)
    ema_decay: float = 0.0  # > 0: evaluate and keep an exponential moving average of the weights (e.g. 0.999)
    init_from: str | None = None  # start from these model weights (a checkpoint) instead of random
    trainable: list[str] = field(default_factory=list)  # fine-tune only these parameter prefixes ([]: all)
    frozen_norms: bool = False  # every BatchNorm keeps its running statistics (eval mode) while training
    distill_weight: float = 0.0  # > 0: also learn the init_from weights' answers on crops with faces
    das_probability: float | None = None  # data-anchor-sampling crops; None: family default (FaceBoxes 0, AInnoFace 0.5)
    negative_fraction: float = 0.08  # share of each epoch that is face-free hard negatives (detectors.training.negatives)
    blur_probability: float = 0.0  # share of annotated crops motion- or defocus-blurred (detectors.training.degrade)
    mask_probability: float = 0.0  # probability that a face of a crop gets a face mask painted on
    smeared_face_ratio: float = 0.0  # blurred faces under this times the blur's extent become ignore regions
    copy_paste_probability: float = 0.0  # share of annotated crops with small copies of their faces pasted in
    bf16: bool = True  # bfloat16 autocast + channels-last: ~1.9x faster on CPUs with AMX/AVX512-BF16
    max_batches: int | None = None  # smoke tests: stop each epoch after this many batches
    dev_limit: int | None = None  # smoke tests: evaluate on the first N dev images


def load_matching_weights(model: nn.Module, state: dict[str, torch.Tensor]) -> tuple[int, list[str]]:
    """Copy the tensors of ``state`` whose name and shape match ``model``'s; the rest stays as initialised.

    Lets a variant start from another variant's checkpoint (e.g. ``paper`` from ``small2``: same
    backbone, different heads). Returns the number of tensors loaded and the names left untouched.
    """
    own = model.state_dict()
    matching = {name: tensor for name, tensor in state.items() if name in own and own[name].shape == tensor.shape}
    model.load_state_dict(matching, strict=False)
    return len(matching), sorted(name for name in own if name not in matching)


def evaluate_model(
    model: nn.Module,
    family: ModelFamily,
    samples: Sequence[FaceSample],
    max_side: int,
    min_side: int | None = None,
    vote_max_size: float | None = None,
) -> dict[str, dict[str, float]]:
    """AP per size bucket of ``model`` on ``samples`` (detections down to :data:`EVALUATION_SCORE_FLOOR`).

    Frames are scaled as :class:`ScalePolicy` with ``max_side`` and ``min_side`` does at inference;
    ``vote_max_size`` is the post-processing's (:class:`PostprocessConfig`).
    """
    import cv2

    was_training = model.training
    forward = family.forward(model)
    post = PostprocessConfig(score_threshold=EVALUATION_SCORE_FLOOR, vote_max_size=vote_max_size)
    levels = family.levels(model)
    policy = ScalePolicy(max_side=max_side, min_side=min_side)
    detections = []
    for sample in samples:
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        detections.append(detect_frame(image, forward, levels, family.pad_multiple, policy, post))
    model.train(was_training)
    return evaluate_detections(samples, detections)


def selection_score(results: dict[str, dict[str, float]]) -> float:
    """Mean AP over the buckets from 16 px up that have faces (the model-selection criterion)."""
    values = [results[name]["ap"] for name in SELECTION_BUCKETS if not np.isnan(results[name]["ap"])]
    return float(np.mean(values)) if values else 0.0


def load_data(config: TrainConfig) -> tuple[list[FaceSample], list[FaceSample]]:
    """The training samples of every ``train_sets`` folder and the dev samples (first ``dev_limit``).

    Raises:
        detectors.datasets.LabelError: If a folder has no readable labels (the message says which).
    """
    label_format = LabelFormat(config.label_format) if config.label_format else None
    if not config.train_sets:
        raise LabelError("no training folder given")
    samples = [sample for folder in config.train_sets for sample in read_face_folder(folder, label_format)]
    dev = read_face_folder(config.dev_set, label_format)[: config.dev_limit] if config.dev_set else []
    return samples, dev


def recorded_config(run_dir: str | Path) -> dict | None:
    """The :class:`TrainConfig` values stored in ``run_dir/last.pt``; None when there is no run to resume."""
    last_path = Path(run_dir) / "last.pt"
    return torch.load(last_path, weights_only=True)["config"] if last_path.exists() else None


class TrainingSetupError(ValueError):
    """The run's settings cannot work together (found before the first batch)."""


def distillation_teacher(config: TrainConfig, family: ModelFamily) -> nn.Module | None:
    """The frozen ``init_from`` model that a run with ``distill_weight`` learns from (None without).

    Raises:
        TrainingSetupError: If distillation is asked for without ``init_from``.
    """
    if config.distill_weight <= 0:
        return None
    if not config.init_from:
        raise TrainingSetupError("distillation learns from the starting weights: give --init-from")
    teacher = family.build(config.variant)
    load_matching_weights(teacher, evaluated_weights(torch.load(config.init_from, weights_only=True)))
    if config.bf16:
        teacher = teacher.to(memory_format=torch.channels_last)
    return frozen_teacher(teacher)


def train(config: TrainConfig, log: Callable[[str], None] = print, progress: TrainingProgress | None = None) -> Path:
    """Train (or resume) a detector; returns the run folder.

    ``log`` receives the run's messages, ``progress`` its batches and epochs (default: each epoch's
    record as a JSON line through ``log``).
    """
    progress = progress or JsonLines(log)
    train_samples, dev_samples = load_data(config)
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    family = get_family(config.family)
    # Family defaults are resolved before anything is saved: checkpoints record what was used.
    if config.variant is None:
        config = replace(config, variant=family.default_variant)
    if config.das_probability is None:
        config = replace(config, das_probability=family.default_das_probability)
    model = family.build(config.variant)
    teacher = distillation_teacher(config, family)
    if config.init_from and not (run_dir / "last.pt").exists():
        loaded, skipped = load_matching_weights(model, evaluated_weights(torch.load(config.init_from, weights_only=True)))
        log(f"initialised from {config.init_from}: {loaded} tensors loaded, {len(skipped)} left random"
            + (f" ({', '.join(skipped[:6])}{', ...' if len(skipped) > 6 else ''})" if skipped else ""))
    if config.bf16:
        model = model.to(memory_format=torch.channels_last)
    augment = AugmentConfig(
        size=config.image_size, das_probability=config.das_probability, negative_fraction=config.negative_fraction,
        blur_probability=config.blur_probability, mask_probability=config.mask_probability,
        smeared_face_ratio=config.smeared_face_ratio, copy_paste_probability=config.copy_paste_probability,
    )
    dataset = family.make_dataset(train_samples, model, augment, config.seed)
    loader = DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=config.workers,
        collate_fn=family.collate,
        persistent_workers=False,
        generator=torch.Generator().manual_seed(config.seed),
    )
    steps_per_epoch = min(len(loader), config.max_batches or len(loader))
    try:
        parameters = freeze_except(model, config.trainable) if config.trainable else model.parameters()
    except ValueError as error:
        raise TrainingSetupError(str(error)) from error
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
    start_epoch, best_score = 0, -math.inf
    last_path = run_dir / "last.pt"
    resumed = torch.load(last_path, weights_only=True) if last_path.exists() else None
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        start_epoch, best_score = int(resumed["epoch"]) + 1, float(resumed["best_score"])
        log(f"resumed from {last_path} at epoch {start_epoch}")
    # A run that turns the average on when resumed starts it from the resumed weights.
    average = WeightAverage(model, config.ema_decay) if config.ema_decay > 0 else None
    if average is not None and resumed is not None and "ema" in resumed:
        average.load_state_dict(resumed["ema"])
    evaluated = average.model if average is not None else model
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
        if config.trainable or config.frozen_norms:
            frozen_norms_to_eval(model, [] if config.frozen_norms else config.trainable)
        started = time.time()
        totals: dict[str, float] = {}
        progress.epoch_started(epoch, config.epochs, steps_per_epoch)
        for step, batch in enumerate(loader):
            if step >= steps_per_epoch:
                break
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
                losses = family.losses(model, batch, config, teacher)
            optimizer.zero_grad(set_to_none=True)
            losses["total"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            scheduler.step()
            if average is not None:
                average.update(model)
            for name, value in losses.items():
                totals[name] = totals.get(name, 0.0) + float(value.detach())
            progress.step_done(step + 1, {name: total / (step + 1) for name, total in totals.items()})
        record: dict = {"epoch": epoch}
        record.update({f"{name}_loss": total / steps_per_epoch for name, total in totals.items() if name != "total"})
        record.update({"lr": scheduler.get_last_lr()[0], "train_seconds": round(time.time() - started, 1)})
        is_last = epoch == config.epochs - 1
        # The evaluated weights as best.pt and epoch_NNN.pt store them.
        weights = {"model": evaluated.state_dict(), "epoch": epoch, "config": asdict(config),
                   **family.checkpoint_extras(model)}
        if not dev_samples:
            torch.save(weights, run_dir / "best.pt")
        elif (epoch + 1) % config.eval_every == 0 or is_last:
            progress.evaluation_started()
            results = evaluate_model(
                evaluated, family, dev_samples, config.eval_max_side, config.eval_min_side, config.eval_vote_max_size
            )
            record["dev_ap"] = {
                name: None if np.isnan(values["ap"]) else round(values["ap"], 4) for name, values in results.items()
            }
            score = selection_score(results)
            record["selection_score"] = round(score, 4)
            if score > best_score:
                best_score = score
                torch.save({**weights, "dev_ap": record["dev_ap"]}, run_dir / "best.pt")
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": epoch,
            "best_score": best_score,
            "config": asdict(config),
            **family.checkpoint_extras(model),
            **({"ema": average.state_dict()} if average is not None else {}),
        }
        if config.keep_epochs:
            torch.save(weights, run_dir / f"epoch_{epoch:03d}.pt")
        torch.save(state, run_dir / "last.pt.tmp")
        (run_dir / "last.pt.tmp").replace(last_path)
        with open(run_dir / "log.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")
        plot_run(run_dir)
        progress.epoch_done(record)
    return run_dir
