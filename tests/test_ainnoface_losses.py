"""AInnoFace losses and anchor matching: hand-computed values, toy matching, a few training steps."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from detectors.ainnoface import AInnoFaceOutput, LossConfig, ainnoface_loss, build_ainnoface
from detectors.ainnoface.losses import iou_loss, sigmoid_focal_loss
from detectors.ainnoface.matching import IGNORED, NEGATIVE, POSITIVE, match_anchors
from detectors.anchors import generate_anchors


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _focal_by_hand(logit: float, target: int, alpha: float = 0.25, gamma: float = 2.0) -> float:
    p = 1 / (1 + math.exp(-logit))
    if target == 1:
        return -alpha * (1 - p) ** gamma * math.log(p)
    return -(1 - alpha) * p**gamma * math.log(1 - p)


def test_focal_loss_matches_hand_computation() -> None:
    logits = torch.tensor([2.0, -1.0, 0.5, -3.0])
    targets = torch.tensor([1.0, 0.0, 0.0, 1.0])
    expected = [_focal_by_hand(x, int(t)) for x, t in zip(logits.tolist(), targets.tolist())]
    # 2.0 -> positive: -0.25 * (1 - 0.880797)^2 * ln(0.880797) = 0.00045067...
    assert expected[0] == pytest.approx(0.25 * (1 - 0.8807970779778823) ** 2 * -math.log(0.8807970779778823))
    np.testing.assert_allclose(sigmoid_focal_loss(logits, targets).numpy(), expected, rtol=1e-5)
    # gamma = 0 and no alpha is plain binary cross-entropy.
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    torch.testing.assert_close(sigmoid_focal_loss(logits, targets, alpha=-1, gamma=0.0), bce)


@pytest.mark.parametrize("kind", ["iou", "linear_iou", "giou"])
def test_iou_loss_zero_for_perfect_boxes_positive_otherwise(kind: str) -> None:
    target = torch.tensor([[10.0, 10.0, 50.0, 60.0], [0.0, 0.0, 8.0, 8.0], [100.0, 100.0, 300.0, 200.0]])
    assert torch.allclose(iou_loss(target, target, kind), torch.zeros(3), atol=1e-6)
    shifted = target + torch.tensor([3.0, 0.0, 3.0, 0.0])
    disjoint = target + 1000.0
    assert torch.all(iou_loss(shifted, target, kind) > 0)
    assert torch.all(iou_loss(disjoint, target, kind) > iou_loss(shifted, target, kind))
    # Half overlap: IoU 1/3 for two 2x1 boxes shifted by one.
    a, b = torch.tensor([[0.0, 0.0, 2.0, 1.0]]), torch.tensor([[1.0, 0.0, 3.0, 1.0]])
    value = float(iou_loss(a, b, kind))
    assert value == pytest.approx({"iou": math.log(3), "linear_iou": 2 / 3, "giou": 2 / 3}[kind], rel=1e-5)


def test_iou_loss_has_gradients() -> None:
    predicted = torch.tensor([[12.0, 9.0, 48.0, 58.0]], requires_grad=True)
    iou_loss(predicted, torch.tensor([[10.0, 10.0, 50.0, 60.0]])).sum().backward()
    assert predicted.grad is not None and float(predicted.grad.abs().sum()) > 0


def test_matching_toy_case() -> None:
    anchors = torch.tensor(
        [
            [0.0, 0.0, 10.0, 10.0],  # 0: identical to face A -> positive
            [5.0, 0.0, 15.0, 10.0],  # 1: IoU 1/3 with face A -> negative
            [2.0, 0.0, 12.0, 10.0],  # 2: IoU 8/12 = 0.667 with A -> positive
            [3.0, 0.0, 13.0, 10.0],  # 3: IoU 7/13 = 0.538 -> positive
            [4.0, 0.0, 14.0, 10.0],  # 4: IoU 6/14 = 0.429 -> ignored (between 0.4 and 0.5)
            [100.0, 100.0, 110.0, 110.0],  # 5: on the ignore region -> ignored
            [200.0, 200.0, 300.0, 300.0],  # 6: best (and only) anchor of the tiny face B -> positive
            [500.0, 500.0, 510.0, 510.0],  # 7: far from everything -> negative
            [102.0, 100.0, 112.0, 110.0],  # 8: IoU 8/12 with the ignore region -> ignored
            [106.0, 100.0, 116.0, 110.0],  # 9: IoU 4/16 with the ignore region -> negative
        ]
    )
    faces = torch.tensor([[0.0, 0.0, 10.0, 10.0], [240.0, 240.0, 250.0, 250.0]])
    ignore = torch.tensor([[100.0, 100.0, 110.0, 110.0]])
    labels, matched = match_anchors(anchors, faces, ignore)
    P, N, I = POSITIVE, NEGATIVE, IGNORED
    assert labels.tolist() == [P, N, P, P, I, I, P, N, I, N]
    assert matched[[0, 2, 3, 6]].tolist() == [0, 0, 0, 1]
    # Without the best-anchor rule the tiny face gets nothing; without faces only ignores remain.
    labels, _ = match_anchors(anchors, faces, ignore, best_anchor_per_face=False)
    assert int(labels[6]) == N
    labels, _ = match_anchors(anchors, torch.zeros((0, 4)), ignore)
    assert labels.tolist() == [N, N, N, N, N, I, N, N, I, N]
    # A real face overrides an ignore region it overlaps.
    labels, _ = match_anchors(anchors, torch.tensor([[100.0, 100.0, 110.0, 110.0]]), ignore)
    assert int(labels[5]) == P


def _handmade_outputs(cls1: list[float], cls2: list[float]) -> AInnoFaceOutput:
    count = len(cls1)
    return AInnoFaceOutput(
        torch.tensor([cls1]),
        torch.zeros(1, count, 4),
        torch.tensor([cls2]),
        torch.zeros(1, count, 4),
        torch.ones(count, dtype=torch.bool),
        torch.zeros(count, dtype=torch.bool),
    )


def test_second_step_skips_negatives_rejected_by_the_first_step() -> None:
    # Four 10 px anchors; the face sits on anchor 0.
    anchors = np.array([[5, 5, 10, 10], [55, 5, 10, 10], [105, 5, 10, 10], [155, 5, 10, 10]], dtype=np.float32)
    face = [np.array([[0.0, 0.0, 10.0, 10.0]], dtype=np.float32)]
    cls1 = [-8.0, -8.0, 0.0, 1.0]  # anchor 0 (positive) and 1 (negative) rejected by the first step
    cls2 = [0.5, 2.0, -1.0, -2.0]
    losses = ainnoface_loss(_handmade_outputs(cls1, cls2), anchors, face, [None])
    hand1 = sum(_focal_by_hand(x, t) for x, t in zip(cls1, [1, 0, 0, 0]))
    assert float(losses["cls1"]) == pytest.approx(hand1, rel=1e-5)
    # The rejected negative (anchor 1) does not count; the rejected positive is kept by default.
    hand2 = _focal_by_hand(0.5, 1) + _focal_by_hand(-1.0, 0) + _focal_by_hand(-2.0, 0)
    assert float(losses["cls2"]) == pytest.approx(hand2, rel=1e-5)
    # Zero deltas on anchors identical to the face: perfect regression.
    assert float(losses["reg2"]) == pytest.approx(0.0, abs=1e-6)
    assert float(losses["reg1"]) == 0.0  # no first-step regression levels here
    strict = ainnoface_loss(
        _handmade_outputs(cls1, cls2), anchors, face, [None], LossConfig(keep_rejected_positives=False)
    )
    assert float(strict["cls2"]) == pytest.approx(_focal_by_hand(-1.0, 0) + _focal_by_hand(-2.0, 0), rel=1e-5)
    assert float(losses["total"]) == pytest.approx(sum(float(losses[k]) for k in ("cls1", "reg1", "cls2", "reg2")))


def _toy_batch(height: int = 128, width: int = 160) -> tuple[torch.Tensor, list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(0)
    images = np.full((2, 3, height, width), 90.0, dtype=np.float32)
    boxes = [np.array([[20, 30, 52, 62], [90, 40, 150, 100]], np.float32), np.array([[40, 20, 84, 64]], np.float32)]
    for index, image_boxes in enumerate(boxes):
        for x1, y1, x2, y2 in image_boxes.astype(int):
            images[index, :, y1:y2, x1:x2] = rng.uniform(150, 255, size=(3, 1, 1))
    ignore = [np.array([[0, 100, 16, 116]], np.float32), np.zeros((0, 4), np.float32)]
    return torch.from_numpy(images), boxes, ignore


def test_a_few_optimisation_steps_reduce_the_loss() -> None:
    torch.manual_seed(0)
    model = build_ainnoface("small").train()
    images, boxes, ignore = _toy_batch()
    anchors = generate_anchors(model.levels, images.shape[2], images.shape[3])
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    history = []
    for _ in range(8):
        losses = ainnoface_loss(model(images), anchors, boxes, ignore)
        assert set(losses) == {"cls1", "reg1", "cls2", "reg2", "total"}
        assert all(torch.isfinite(value) for value in losses.values())
        optimizer.zero_grad()
        losses["total"].backward()
        optimizer.step()
        history.append(float(losses["total"].detach()))
    assert history[0] > 0 and float(losses["reg1"].detach()) > 0  # the 60 px face is matched on the STR level P5
    assert min(history[-3:]) < 0.8 * history[0], history


def test_loss_rejects_wrong_anchor_count() -> None:
    model = build_ainnoface("small").eval()
    images, boxes, ignore = _toy_batch()
    with torch.no_grad():
        outputs = model(images)
    with pytest.raises(ValueError):
        ainnoface_loss(outputs, generate_anchors(model.levels, 64, 64), boxes, ignore)


def test_second_step_is_matched_against_the_refined_anchors() -> None:
    # Anchor 0 starts 50 px right of the face (a first-step negative); its first-step deltas move
    # it exactly onto the face, so it is a second-step positive. Anchor 1 sits on the face.
    anchors = np.array([[55, 5, 10, 10], [5, 5, 10, 10]], dtype=np.float32)
    face = [np.array([[0.0, 0.0, 10.0, 10.0]], dtype=np.float32)]
    outputs = AInnoFaceOutput(
        torch.tensor([[20.0, 20.0]]),
        torch.tensor([[[-50.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]),
        torch.tensor([[0.5, 0.5]]),
        torch.zeros(1, 2, 4),
        torch.zeros(2, dtype=torch.bool),
        torch.tensor([True, False]),
    )
    losses = ainnoface_loss(outputs, anchors, face, [None])
    assert float(losses["cls2"]) == pytest.approx(_focal_by_hand(0.5, 1), rel=1e-5)  # 2 positives / 2
    assert float(losses["reg2"]) == pytest.approx(0.0, abs=1e-5)
    # First step: anchor 0 is a negative there, so no first-step regression loss is counted.
    assert float(losses["reg1"]) == 0.0
