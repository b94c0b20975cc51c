"""Training, held-out report and ONNX export of the face follower (needs the ``train`` extra: torch).

``python start.py train-follower`` runs it: it cuts windows from a labelled folder
(:mod:`detectors.follower.samples`, cached in the run folder), trains
:class:`~detectors.follower.model.FaceFollowerNet` on the fitting split (:func:`follower_loss`), reports the held-out split and
writes ``follower.onnx``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from detectors.boxes import pairwise_iou
from detectors.follower.model import FaceFollowerNet
from detectors.following import INPUT_SIZE, decode_peak
from detectors.training.small_nets import SmallNetTraining, photometric_jitter
from detectors.training.export import add_metadata
from detectors.verification import crops_to_batch

#: Focal loss exponents of the heatmap (CenterNet's): hard cells weigh more, cells near the face less.
FOCAL_ALPHA, FOCAL_BETA = 2.0, 4.0
#: The Gaussian around the face's cell: a sixth of the face's longer side, at least half a cell.
SIGMA_PER_SIDE, MIN_SIGMA = 1.0 / 6.0, 0.5

#: Generated featureless frames cut by default.
FEATURELESS_FRAMES = 400


@dataclass(frozen=True)
class FollowerTraining(SmallNetTraining):
    """The follower's training recipe (the defaults are the shipped follower's)."""

    learning_rate: float = 2e-3


def flip_batch(windows: torch.Tensor, boxes: torch.Tensor, flips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror the ``flips`` rows of an (N, 3, S, S) batch and of their (N, 4) window-side-unit boxes."""
    mirrored = torch.stack([1.0 - boxes[:, 2], boxes[:, 1], 1.0 - boxes[:, 0], boxes[:, 3]], dim=1)
    return (torch.where(flips[:, None, None, None], windows.flip(3), windows),
            torch.where(flips[:, None], mirrored, boxes))


def heatmap_targets(presence: torch.Tensor, boxes: torch.Tensor, cells: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The (N, C, C) Gaussian heatmap (1 at the face's cell, all 0 without a face), the (N,) index of
    each face's cell and the (N, 4) regression targets there: centre offset in the cell, log width
    and height in window sides."""
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2 * cells
    sizes = (boxes[:, 2:] - boxes[:, :2]).clamp(min=1e-3)
    cell = centres.floor().clamp(0, cells - 1)
    sigma = (sizes.max(dim=1).values * cells * SIGMA_PER_SIDE).clamp(min=MIN_SIGMA)
    grid = torch.arange(cells, dtype=boxes.dtype)
    dx = (grid[None, None, :] - cell[:, 0, None, None]) ** 2
    dy = (grid[None, :, None] - cell[:, 1, None, None]) ** 2
    heat = torch.exp(-(dx + dy) / (2 * sigma[:, None, None] ** 2)) * presence[:, None, None]
    index = (cell[:, 1] * cells + cell[:, 0]).long()
    return heat, index, torch.cat([centres - cell, sizes.log()], dim=1)


def follower_loss(maps: torch.Tensor, presence: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """CenterNet's focal loss of the heatmap (normalised by the windows with a face) plus the L1 error
    of the offsets and log sizes at each face's cell (``boxes`` of windows without a face are ignored)."""
    count, _, cells, _ = maps.shape
    heat, index, regression = heatmap_targets(presence, boxes, cells)
    probability = torch.sigmoid(maps[:, 0]).clamp(1e-4, 1 - 1e-4)
    peak = heat == 1.0
    positive = (1 - probability) ** FOCAL_ALPHA * probability.log() * peak
    negative = (1 - heat) ** FOCAL_BETA * probability**FOCAL_ALPHA * (1 - probability).log() * ~peak
    faces = presence > 0.5
    loss = -(positive.sum() + negative.sum()) / faces.sum().clamp(min=1)
    if faces.any():
        at_face = maps.flatten(2)[torch.arange(count), 1:, index]
        loss = loss + (at_face[faces] - regression[faces]).abs().mean()
    return loss


def train_follower(crops: np.ndarray, presence: np.ndarray, boxes: np.ndarray,
                   recipe: FollowerTraining = FollowerTraining(), log=print) -> FaceFollowerNet:
    """Train a follower on (N, S, S, 3) uint8 BGR windows, their 1/0 ``presence`` and (N, 4) ``boxes``
    (window-side units; any value where presence is 0); returns it in eval mode."""
    torch.manual_seed(recipe.seed)
    torch.set_num_threads(recipe.threads)
    generator = torch.Generator().manual_seed(recipe.seed)
    model = FaceFollowerNet(crops.shape[1])
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    steps = recipe.epochs * math.ceil(len(presence) / recipe.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, recipe.learning_rate, total_steps=steps, pct_start=0.1)
    inputs = torch.from_numpy(crops_to_batch(crops))
    targets = torch.from_numpy(presence.astype(np.float32))
    target_boxes = torch.from_numpy(np.nan_to_num(boxes.astype(np.float32)))
    for epoch in range(recipe.epochs):
        model.train()
        order = torch.randperm(len(presence), generator=generator)
        total = 0.0
        for start in range(0, len(order), recipe.batch_size):
            rows = order[start : start + recipe.batch_size]
            flips = torch.rand(len(rows), generator=generator) < 0.5
            windows, batch_boxes = flip_batch(inputs[rows], target_boxes[rows], flips)
            loss = follower_loss(model(photometric_jitter(windows, generator)), targets[rows], batch_boxes)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(rows)
        log(f"epoch {epoch + 1}/{recipe.epochs}: loss {total / len(order):.4f}")
    return model.eval()


def follower_outputs(model: FaceFollowerNet, crops: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """(N, 5) face probability and window-side-unit box of each (N, S, S, 3) uint8 window, decoded as
    at run time (:func:`detectors.following.decode_peak`)."""
    outputs = []
    with torch.no_grad():
        for start in range(0, len(crops), batch_size):
            maps = model(torch.from_numpy(crops_to_batch(crops[start : start + batch_size]))).numpy()
            presence, boxes = decode_peak(maps)
            outputs.append(np.concatenate([presence[:, None], boxes], axis=1).astype(np.float32))
    return np.concatenate(outputs) if outputs else np.zeros((0, 5), np.float32)


def held_out_report(windows: dict[str, np.ndarray], outputs: np.ndarray) -> list[str]:
    """Lines on the held-out windows: share of faces found (probability >= 0.5), their boxes' mean IoU
    and share at IoU >= 0.5, and share of face-free windows left empty, per source."""
    lines = []
    held = windows["held_out"]
    faces = held & (windows["presence"] == 1)
    if faces.any():
        rows = np.flatnonzero(faces)
        ious = np.array([pairwise_iou(outputs[row : row + 1, 1:5], windows["boxes"][row : row + 1])[0, 0] for row in rows])
        found = outputs[rows, 0] >= 0.5
        lines.append(f"held-out windows with a face: {int(found.sum())} / {len(rows)} found, box IoU mean "
                     f"{ious.mean():.3f}, {(ious >= 0.5).mean():.1%} at IoU >= 0.5")
    for source in sorted(set(windows["sources"][held & (windows["presence"] == 0)].tolist())):
        rows = held & (windows["presence"] == 0) & (windows["sources"] == source)
        empty = int((outputs[rows, 0] < 0.5).sum())
        lines.append(f"held-out face-free windows ({source}): {empty} / {int(rows.sum())} left empty")
    return lines


def export_follower(model: FaceFollowerNet, path: str | Path, notes: dict[str, str]) -> Path:
    """Write ``model`` as ONNX (``windows`` (N, 3, S, S) -> ``maps`` (N, 5, S/8, S/8), dynamic batch axis) with the metadata :class:`detectors.following.FaceFollower` reads."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.rand(2, 3, INPUT_SIZE, INPUT_SIZE)
    with torch.no_grad():
        torch.onnx.export(model.eval(), (example,), str(path), input_names=["windows"], output_names=["maps"],
                          dynamic_axes={"windows": {0: "batch"}, "maps": {0: "batch"}}, opset_version=17, dynamo=False)
    return add_metadata(path, {"facetrack_follower": "centre-heatmap64", "input_size": str(INPUT_SIZE), **notes})


def cut_or_load(train_folder: Path, cache: Path, featureless_frames: int, log=print) -> dict[str, np.ndarray]:
    """The windows of ``train_folder`` (see :mod:`detectors.follower.samples`), read from ``cache`` when
    it exists, else cut and saved there."""
    from detectors.datasets import read_face_folder
    from detectors.follower.samples import WindowSet, cut_featureless, cut_labelled

    if cache.is_file():
        with np.load(cache) as stored:
            return {key: stored[key] for key in stored.files}
    windows = WindowSet()
    samples = read_face_folder(train_folder)
    log(f"cutting windows from {len(samples)} labelled images and {featureless_frames} featureless frames")
    cut_labelled(samples, windows)
    cut_featureless(featureless_frames, windows)
    cut = windows.arrays()
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, **cut)
    return cut


def train_and_export(train_folder: Path, run_dir: Path, output: Path, recipe: FollowerTraining = FollowerTraining(),
                     featureless_frames: int = FEATURELESS_FRAMES, log=print) -> Path:
    """Cut (or reuse ``run_dir/windows.npz``), train on the fitting split (or reuse ``run_dir/follower.pt``),
    log the held-out report and write ``output``."""
    windows = cut_or_load(train_folder, run_dir / "windows.npz", featureless_frames, log)
    fit = ~windows["held_out"]
    log(f"{int(fit.sum())} windows to fit ({int(windows['presence'][fit].sum())} with a face), {int((~fit).sum())} held out")
    weights_path = run_dir / "follower.pt"
    if weights_path.is_file():
        log(f"reusing the trained weights of {weights_path}")
        model = FaceFollowerNet(windows["crops"].shape[1])
        model.load_state_dict(torch.load(weights_path, weights_only=True)["weights"])
        model.eval()
    else:
        model = train_follower(windows["crops"][fit], windows["presence"][fit], windows["boxes"][fit], recipe, log)
        torch.save({"weights": model.state_dict(), "recipe": recipe.__dict__}, weights_path)
    outputs = np.zeros((len(fit), 5), np.float32)
    outputs[~fit] = follower_outputs(model, windows["crops"][~fit])
    for line in held_out_report(windows, outputs):
        log(line)
    return export_follower(model, output, {"trained_on": str(train_folder), "epochs": str(recipe.epochs),
                                           "seed": str(recipe.seed)})
