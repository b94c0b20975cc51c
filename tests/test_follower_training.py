"""The face follower's training windows, loss, short training and export (needs the train extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from detectors.datasets import read_face_folder  # noqa: E402
from detectors.follower.samples import (  # noqa: E402
    CENTRE_REACH,
    WINDOW_SCALES,
    WindowSet,
    cut_featureless,
    cut_labelled,
    window_target,
    windows_around,
)
from detectors.follower.train import (  # noqa: E402
    FollowerTraining,
    export_follower,
    flip_batch,
    follower_loss,
    heatmap_targets,
    held_out_report,
    train_follower,
)
from detectors.following import FaceFollower, decode_peak  # noqa: E402
from tests.label_layouts import FACES, write_voc  # noqa: E402

NONE = np.zeros((0, 4))


def test_the_face_to_follow_is_the_nearest_plausible_face_near_the_centre() -> None:
    window = np.array([100, 100, 200, 200])
    centred = np.array([[130, 130, 170, 170]])  # 0.4 of the side, centred
    usable, box = window_target(window, centred, NONE)
    assert usable
    np.testing.assert_allclose(box, [0.3, 0.3, 0.7, 0.7])
    nearer = np.array([[110, 110, 150, 150], [135, 140, 175, 180]])  # the second is nearer the centre
    np.testing.assert_allclose(window_target(window, nearer, NONE)[1], [0.35, 0.4, 0.75, 0.8])
    assert window_target(window, np.array([[300, 300, 340, 340]]), NONE) == (True, None)  # far away: no face
    assert window_target(window, np.array([[100, 100, 300, 300]]), NONE) == (True, None)  # twice the window: none
    assert not window_target(window, np.array([[180, 130, 220, 170]]), NONE)[0]  # just past the reach: unsure
    assert not window_target(window, NONE, np.array([[140, 140, 160, 160]]))[0]  # an ignore region: unsure


def test_windows_around_a_face_have_the_drawn_sizes_and_reach() -> None:
    face = np.array([[100, 100, 140, 140]])
    rng = np.random.default_rng(0)
    windows = windows_around(face, 500, rng)
    sides = windows[:, 2] - windows[:, 0]
    assert sides.min() >= 40 * WINDOW_SCALES[0] - 1e-6 and sides.max() <= 40 * WINDOW_SCALES[1] + 1e-6
    offsets = (windows[:, :2] + windows[:, 2:]) / 2 - 120
    assert (np.abs(offsets) <= CENTRE_REACH * sides[:, None] + 1e-6).all()
    away = windows_around(face, 500, rng, away=True)
    away_offsets = np.abs((away[:, :2] + away[:, 2:]) / 2 - 120).max(axis=1) / (away[:, 2] - away[:, 0])
    assert (away_offsets >= 0.55 - 1e-6).all()


def test_cutting_labels_every_window(tmp_path: Path) -> None:
    samples = read_face_folder(write_voc(tmp_path / "voc"))
    windows = WindowSet()
    cut_labelled(samples, windows)
    cut_featureless(2, windows)
    cut = windows.arrays()
    assert cut["crops"].shape[1:] == (64, 64, 3) and cut["crops"].dtype == np.uint8
    assert set(cut["presence"][cut["sources"] == "free"]) == {0}
    assert set(cut["presence"][cut["sources"] == "featureless"]) == {0}
    around = cut["sources"] == "around"
    assert around.sum() > 0 and cut["presence"][around].mean() > 0.9
    faces = cut["boxes"][cut["presence"] == 1]
    assert np.isfinite(faces).all() and np.isnan(cut["boxes"][cut["presence"] == 0]).all()
    assert len(FACES) == len(samples)


def test_flipping_mirrors_windows_and_boxes_together() -> None:
    windows = torch.zeros(2, 3, 4, 4)
    windows[:, :, :, 0] = 1.0  # a bright left column
    boxes = torch.tensor([[0.1, 0.2, 0.4, 0.6], [0.1, 0.2, 0.4, 0.6]])
    flipped, mirrored = flip_batch(windows, boxes, torch.tensor([True, False]))
    assert flipped[0, :, :, 3].eq(1).all() and flipped[1, :, :, 0].eq(1).all()
    torch.testing.assert_close(mirrored, torch.tensor([[0.6, 0.2, 0.9, 0.6], [0.1, 0.2, 0.4, 0.6]]))


def maps_of(presence: torch.Tensor, boxes: torch.Tensor, cells: int = 8) -> torch.Tensor:
    """Network maps that say exactly the targets: a confident peak at each face's cell, its box there."""
    heat, index, regression = heatmap_targets(presence, boxes, cells)
    maps = torch.zeros(len(boxes), 5, cells, cells)
    maps[:, 0] = torch.where(heat == 1.0, 12.0, -12.0)
    flat = maps.view(len(boxes), 5, -1)
    flat[torch.arange(len(boxes)), 1:, index] = regression
    return maps


def test_targets_decode_back_to_the_face_boxes() -> None:
    boxes = torch.tensor([[0.3, 0.3, 0.7, 0.7], [0.05, 0.5, 0.3, 0.95], [0.42, 0.1, 0.61, 0.33]])
    presence = torch.tensor([1.0, 1.0, 1.0])
    probability, decoded = decode_peak(maps_of(presence, boxes).numpy())
    np.testing.assert_allclose(decoded, boxes.numpy(), atol=1e-5)
    assert (probability > 0.99).all()
    heat = heatmap_targets(torch.tensor([0.0]), boxes[:1], 8)[0]
    assert float(heat.max()) == 0.0  # no face: no peak


def test_the_loss_is_small_for_the_targets_and_counts_boxes_only_where_a_face_is() -> None:
    boxes = torch.tensor([[0.3, 0.3, 0.7, 0.7], [0.0, 0.0, 0.0, 0.0]])
    presence = torch.tensor([1.0, 0.0])
    exact = maps_of(presence, boxes)
    assert float(follower_loss(exact, presence, boxes)) < 1e-3
    other_box = torch.tensor([[0.3, 0.3, 0.7, 0.7], [0.2, 0.2, 0.9, 0.9]])  # ignored: no face there
    assert float(follower_loss(exact, presence, other_box)) < 1e-3
    moved = exact.clone()
    moved[0, 1:3] += 0.5
    assert float(follower_loss(moved, presence, boxes)) == pytest.approx(0.25, abs=1e-3)  # two of four targets off by 0.5
    no_peak = exact.clone()
    no_peak[0, 0] = -12.0
    assert float(follower_loss(no_peak, presence, boxes)) > 5.0


def test_a_short_training_exports_a_follower_the_runtime_loads(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 60, (96, 64, 64, 3), dtype=np.uint8)
    presence = np.array([1, 0] * 48)
    boxes = np.full((96, 4), np.nan, np.float32)
    for row in np.flatnonzero(presence):  # a bright square at a random place: "face"
        x, y = rng.integers(8, 32, 2)
        crops[row, y : y + 24, x : x + 24] = 220
        boxes[row] = np.array([x, y, x + 24, y + 24]) / 64
    model = train_follower(crops, presence, boxes, FollowerTraining(epochs=3, batch_size=32, threads=1), log=lambda line: None)
    path = export_follower(model, tmp_path / "follower.onnx", {"note": "test"})
    follower = FaceFollower(path, threads=1)
    assert follower.input_size == 64
    frame = np.full((200, 200, 3), 30, np.uint8)
    frame[80:110, 90:120] = 220
    results = follower(frame, np.array([[60, 50, 140, 130]]))
    assert len(results) == 1 and results[0].shape[1] == 5
    windows = {"held_out": np.ones(96, bool), "presence": presence, "boxes": boxes,
               "sources": np.array(["around", "free"] * 48)}
    outputs = np.zeros((96, 5), np.float32)
    report = held_out_report(windows, outputs)
    assert report[0].startswith("held-out windows with a face: 0 / 48 found")
    assert "48 / 48 left empty" in report[1]


def test_train_follower_command_reports_a_missing_folder_in_one_line(tmp_path: Path) -> None:
    from tests.cli_helpers import run_cli

    result = run_cli("train-follower", "--train-set", tmp_path / "missing", "--run-dir", tmp_path / "run")
    assert result.code == 2
    assert "missing" in result.line("error:") and "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "run").exists()
