"""Training pieces: anchor matching, MultiBox loss, augmentation, the dataset and a training step."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from detectors.anchors import AnchorLevel, generate_anchors
from detectors.box_coding import centers_to_corners, encode
from detectors.boxes import pairwise_iou
from detectors.faceboxes.config import PAPER_LEVELS, SMALL_FACE_LEVELS
from detectors.training.augment import AugmentConfig, augment
from detectors.training.matching import IGNORED, NEGATIVE, POSITIVE, match_anchors

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from detectors.ainnoface.box_ops import aligned_iou
from detectors.training.loss import anchor_frame_boxes, multibox_loss

NO_BOXES = np.zeros((0, 4), np.float32)

#: 16 px anchors tiling a 64 x 64 image without overlap (4 x 4 cells).
GRID = generate_anchors((AnchorLevel(stride=16, sizes=(16,), densities=(1,)),), 64, 64)


# -------------------------------------------------------------------------------------------- matching


def test_face_equal_to_an_anchor_is_positive_with_zero_targets() -> None:
    face = np.array([[16, 16, 32, 32]], np.float32)  # anchor of row 1, col 1
    labels, targets = match_anchors(GRID, face, NO_BOXES)
    assert labels.dtype == np.int8 and targets.dtype == np.float32
    assert np.flatnonzero(labels == POSITIVE).tolist() == [5]
    assert np.all(labels[np.arange(16) != 5] == NEGATIVE)
    np.testing.assert_allclose(targets[5], 0, atol=1e-6)
    assert np.all(targets[labels != POSITIVE] == 0)


def test_every_anchor_above_the_threshold_is_positive_for_its_best_face() -> None:
    anchors = generate_anchors(PAPER_LEVELS, 128, 128)
    faces = np.array([[0, 0, 64, 64], [64, 64, 128, 128]], np.float32)
    labels, targets = match_anchors(anchors, faces, NO_BOXES, iou_threshold=0.35)
    iou = pairwise_iou(centers_to_corners(anchors), faces)
    expected_positive = iou.max(axis=1) >= 0.35
    np.testing.assert_array_equal(labels == POSITIVE, expected_positive)
    assert expected_positive.sum() > 2
    best = iou.argmax(axis=1)
    positive = np.flatnonzero(expected_positive)
    np.testing.assert_allclose(targets[positive], encode(faces[best[positive]], anchors[positive]), atol=1e-5)
    exact = np.flatnonzero((anchors[:, 2] == 64) & (anchors[:, 0] == 32) & (anchors[:, 1] == 32))
    np.testing.assert_allclose(targets[exact], 0, atol=1e-6)  # the anchor equal to face 0


def test_tiny_face_still_gets_its_best_anchor() -> None:
    anchors = generate_anchors(PAPER_LEVELS, 128, 128)
    face = np.array([[40, 40, 48, 48]], np.float32)  # 8 px: IoU 64 / 1024 with the best 32 px anchor
    labels, targets = match_anchors(anchors, face, NO_BOXES, iou_threshold=0.35)
    positive = np.flatnonzero(labels == POSITIVE)
    assert len(positive) == 1
    iou = pairwise_iou(centers_to_corners(anchors), face)[:, 0]
    assert iou[positive[0]] == pytest.approx(iou.max()) and iou.max() == pytest.approx(64 / 1024)
    np.testing.assert_allclose(targets[positive[0]], encode(face, anchors[positive])[0], atol=1e-6)
    assert np.count_nonzero(labels == NEGATIVE) == len(anchors) - 1


def test_ignore_regions_label_anchors_minus_one() -> None:
    ignore = np.array([[0, 0, 16, 16], [36, 32, 52, 48]], np.float32)  # = anchor 0; IoU 0.6 with 10, 0.14 with 11
    labels, targets = match_anchors(GRID, NO_BOXES, ignore, iou_threshold=0.35)
    assert np.flatnonzero(labels == IGNORED).tolist() == [0, 10]
    assert np.all(labels[labels != IGNORED] == NEGATIVE)
    assert np.all(targets == 0)


def test_faces_override_ignore_regions() -> None:
    # the same region as face and ignore box: the anchor is a positive, never ignored
    face = np.array([[16, 16, 32, 32]], np.float32)
    ignore = np.array([[16, 16, 32, 32], [48, 48, 64, 64]], np.float32)
    labels, targets = match_anchors(GRID, face, ignore)
    assert labels[5] == POSITIVE
    assert labels[15] == IGNORED
    assert np.count_nonzero(labels == IGNORED) == 1
    np.testing.assert_allclose(targets[5], 0, atol=1e-6)


def test_no_faces_all_negative() -> None:
    anchors = generate_anchors(SMALL_FACE_LEVELS, 128, 96)
    labels, targets = match_anchors(anchors, NO_BOXES, NO_BOXES)
    assert labels.shape == (len(anchors),) and np.all(labels == NEGATIVE)
    assert targets.shape == (len(anchors), 4) and np.all(targets == 0)


# ------------------------------------------------------------------------------------------------ loss


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def _toy_batch() -> tuple:
    """One image: anchor 0 positive, anchors 1-6 negatives, 7-8 ignored."""
    labels = torch.tensor([[1, 0, 0, 0, 0, 0, 0, -1, -1]])
    face_logits = torch.tensor([0.0, 3.0, -2.0, 2.0, 1.0, 0.0, -1.0, 10.0, 8.0])
    logits = torch.stack([torch.zeros(9), face_logits], dim=-1)[None]
    targets = torch.zeros(1, 9, 4)
    targets[0, 0] = torch.tensor([0.5, -1.0, 0.25, 2.0])
    deltas = torch.randn(1, 9, 4, generator=torch.Generator().manual_seed(0)) * 5
    deltas[0, 0] = targets[0, 0]
    return deltas, logits, labels, targets


def test_classification_loss_hand_computed() -> None:
    deltas, logits, labels, targets = _toy_batch()
    classification, localisation = multibox_loss(deltas, logits, labels, targets, negatives_per_positive=3)
    # positive CE (logits equal) + the 3 hardest negatives (face logits 3, 2, 1); ignored anchors excluded
    expected = math.log(2) + _softplus(3) + _softplus(2) + _softplus(1)
    assert classification.item() == pytest.approx(expected, rel=1e-5)
    assert localisation.item() == pytest.approx(0.0, abs=1e-7)  # perfect deltas


def test_background_term_averages_all_negatives() -> None:
    deltas, logits, labels, targets = _toy_batch()
    base, _ = multibox_loss(deltas, logits, labels, targets, negatives_per_positive=3)
    weighted, _ = multibox_loss(deltas, logits, labels, targets, negatives_per_positive=3, background_weight=0.5)
    # mean CE over the six real negatives (ignored anchors excluded), easy ones included
    mean_negative = sum(_softplus(x) for x in (3, -2, 2, 1, 0, -1)) / 6
    assert weighted.item() - base.item() == pytest.approx(0.5 * mean_negative, rel=1e-5)


def test_negative_ratio_and_cap() -> None:
    deltas, logits, labels, targets = _toy_batch()
    one, _ = multibox_loss(deltas, logits, labels, targets, negatives_per_positive=1)
    assert one.item() == pytest.approx(math.log(2) + _softplus(3), rel=1e-5)
    # more negatives requested than available: all 6 real negatives, still no ignored anchor
    capped, _ = multibox_loss(deltas, logits, labels, targets, negatives_per_positive=10)
    expected = math.log(2) + sum(_softplus(x) for x in (3, -2, 2, 1, 0, -1))
    assert capped.item() == pytest.approx(expected, rel=1e-5)


def test_localisation_loss_smooth_l1_weighted_by_two() -> None:
    deltas, logits, labels, targets = _toy_batch()
    deltas[0, 0, 0] += 0.5  # smooth L1: 0.5 * 0.5^2 = 0.125
    deltas[0, 0, 3] -= 2.0  # smooth L1: 2 - 0.5 = 1.5
    _, localisation = multibox_loss(deltas, logits, labels, targets)
    assert localisation.item() == pytest.approx(2.0 * (0.125 + 1.5), rel=1e-5)


def _giou_numpy(a: np.ndarray, b: np.ndarray) -> float:
    """GIoU of two corner boxes, written out independently of the code under test."""
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return inter / union - (hull - union) / hull


@pytest.mark.parametrize("predicted", [(40.0, 30.0, 90.0, 100.0), (0.0, 0.0, 20.0, 25.0), (200.0, 210.0, 260.0, 300.0)])
def test_giou_in_anchor_frame_equals_giou_in_pixels(predicted: tuple[float, ...]) -> None:
    anchor = np.array([[64.0, 72.0, 48.0, 80.0]], np.float32)  # cx, cy, w, h: not square, off-origin
    face = np.array([[30.0, 40.0, 95.0, 110.0]], np.float32)
    predicted_box = np.array([predicted], np.float32)
    target_deltas = torch.from_numpy(encode(face, anchor))
    predicted_deltas = torch.from_numpy(encode(predicted_box, anchor))
    in_frame = aligned_iou(anchor_frame_boxes(predicted_deltas), anchor_frame_boxes(target_deltas), generalized=True)
    assert in_frame.item() == pytest.approx(_giou_numpy(predicted_box[0], face[0]), abs=1e-5)


def test_giou_term_adds_weighted_one_minus_giou_per_positive() -> None:
    deltas, logits, labels, targets = _toy_batch()
    _, perfect = multibox_loss(deltas, logits, labels, targets, giou_weight=3.0)
    assert perfect.item() == pytest.approx(0.0, abs=1e-6)
    deltas[0, 0, 0] += 5.0  # centre moved by half the anchor width: smooth L1 4.5, GIoU below 1
    _, plain = multibox_loss(deltas, logits, labels, targets)
    _, with_giou = multibox_loss(deltas, logits, labels, targets, giou_weight=3.0)
    giou = aligned_iou(anchor_frame_boxes(deltas[0, :1]), anchor_frame_boxes(targets[0, :1]), generalized=True).item()
    assert 0.0 < giou < 1.0
    assert with_giou.item() - plain.item() == pytest.approx(3.0 * (1.0 - giou), rel=1e-5)


def test_ignored_and_unselected_anchors_contribute_nothing() -> None:
    deltas, logits, labels, targets = _toy_batch()
    deltas.requires_grad_(True)
    logits.requires_grad_(True)
    classification, localisation = multibox_loss(deltas, logits, labels, targets)
    (classification + localisation).backward()
    assert torch.all(logits.grad[0, 7:] == 0) and torch.all(deltas.grad[0, 7:] == 0)  # ignored
    assert torch.all(logits.grad[0, [2, 5, 6]] == 0)  # easy negatives not mined
    assert torch.all(deltas.grad[0, 1:] == 0)  # no regression for negatives
    assert torch.all(logits.grad[0, [0, 1, 3, 4]].abs().sum(-1) > 0)
    # changing the ignored anchors' outputs changes nothing
    other_logits = logits.detach().clone()
    other_logits[0, 7:] = torch.tensor([[5.0, -5.0], [-3.0, 30.0]])
    other_deltas = deltas.detach().clone()
    other_deltas[0, 7:] = 100.0
    again = multibox_loss(other_deltas, other_logits, labels, targets)
    assert again[0].item() == pytest.approx(classification.item(), rel=1e-6)
    assert again[1].item() == pytest.approx(localisation.item(), abs=1e-7)


def test_loss_is_normalised_by_all_positives_and_mines_images_without_faces() -> None:
    deltas, logits, labels, targets = _toy_batch()
    # second image: no faces, 5 negatives -> at least negatives_per_positive (3) hardest kept
    face_logits = torch.tensor([4.0, -1.0, 0.5, 2.5, -3.0, 0.0, 0.0, 0.0, 0.0])
    logits2 = torch.stack([torch.zeros(9), face_logits], dim=-1)[None]
    labels2 = torch.tensor([[0, 0, 0, 0, 0, -1, -1, -1, -1]])
    classification, _ = multibox_loss(
        torch.cat([deltas, deltas]),
        torch.cat([logits, logits2]),
        torch.cat([labels, labels2]),
        torch.cat([targets, targets]),
    )
    first = math.log(2) + _softplus(3) + _softplus(2) + _softplus(1)
    second = _softplus(4) + _softplus(2.5) + _softplus(0.5)
    assert classification.item() == pytest.approx(first + second, rel=1e-5)  # divided by 1 positive
    # two positives in the batch: everything is divided by 2
    labels3 = labels2.clone()
    labels3[0, 4] = 1
    classification, _ = multibox_loss(
        torch.cat([deltas, deltas]),
        torch.cat([logits, logits2]),
        torch.cat([labels, labels3]),
        torch.cat([targets, targets]),
    )
    positive_ce = _softplus(3)  # face logit -3 -> -log softmax = log(1 + e^3)
    second = positive_ce + _softplus(4) + _softplus(2.5) + _softplus(0.5)  # + 3 of the 4 negatives
    assert classification.item() == pytest.approx((first + second) / 2, rel=1e-5)


# ------------------------------------------------------------------------------------------ augment

RECT = (60, 90, 140, 150)  # x1, y1, x2, y2 of a two-tone "face" off the image centre


def _test_image() -> tuple[np.ndarray, np.ndarray]:
    image = np.zeros((240, 240, 3), np.uint8)
    x1, y1, x2, y2 = RECT
    image[y1:y2, x1 : (x1 + x2) // 2] = 255  # bright left half
    image[y1:y2, (x1 + x2) // 2 : x2] = 200  # dimmer right half
    return image, np.array([RECT], np.float32)


def test_augment_output_size_and_boxes_follow_the_face() -> None:
    image, boxes = _test_image()
    config = AugmentConfig(size=96, min_face=1.0)
    flipped = kept = 0
    for seed in range(24):
        out, out_boxes, out_ignore = augment(image, boxes, NO_BOXES, np.random.default_rng(seed), config)
        assert out.shape == (96, 96, 3) and out.dtype == np.uint8
        assert out_boxes.dtype == np.float32 and out_ignore.shape == (0, 4)
        assert np.all(out_boxes >= 0) and np.all(out_boxes <= 96)
        if len(out_boxes) == 0:
            continue
        kept += 1
        x1, y1, x2, y2 = out_boxes[0]
        gray = out.astype(np.float32).mean(axis=2)
        ys, xs = np.nonzero(gray > 66)  # face pixels after any colour distortion (background <= 48)
        assert abs(xs.min() - x1) <= 2 and abs(xs.max() + 1 - x2) <= 2, seed
        assert abs(ys.min() - y1) <= 2 and abs(ys.max() + 1 - y2) <= 2, seed
        # which half is brighter tells whether the crop was mirrored
        inner = gray[int(y1) + 2 : int(y2) - 2, int(x1) + 2 : int(x2) - 2]
        half = inner.shape[1] // 2
        if inner[:, : half - 2].mean() < inner[:, half + 2 :].mean():
            flipped += 1
    assert kept >= 20
    assert 0 < flipped < kept  # both flipped and unflipped samples were checked


def test_augment_flip_mirrors_boxes() -> None:
    """Force the flip with a scripted generator: no colour change, full-image crop, flip, nearest."""

    class Scripted:
        def __init__(self) -> None:
            self.cropped = False

        def random(self) -> float:
            return 0.1 if self.cropped else 0.9  # colours untouched; flip once the crop is chosen

        def choice(self, options):
            return 1.0

        def integers(self, low, high=None):
            self.cropped = True
            return 3 if high is None else low  # interpolation index 3 = nearest

        def uniform(self, low, high):
            raise AssertionError("no colour distortion expected")

    image, boxes = _test_image()
    ignore = np.array([[0, 0, 20, 30]], np.float32)
    out, out_boxes, out_ignore = augment(image, boxes, ignore, Scripted(), AugmentConfig(size=120))  # type: ignore[arg-type]
    np.testing.assert_allclose(out_boxes, [[50, 45, 90, 75]])  # (240 - 140, 90, 240 - 60, 150) / 2
    np.testing.assert_allclose(out_ignore, [[110, 0, 120, 15]])
    np.testing.assert_array_equal(out, cv2.resize(image[:, ::-1], (120, 120), interpolation=cv2.INTER_NEAREST))


def test_faces_below_min_face_become_ignore_regions() -> None:
    image = np.zeros((400, 400, 3), np.uint8)
    tiny = np.array([[195, 195, 205, 205]], np.float32)  # 10 px in 400 px: <= 3.4 px at size 40 after any crop
    for seed in range(8):
        _, out_boxes, out_ignore = augment(image, tiny, NO_BOXES, np.random.default_rng(seed), AugmentConfig(size=40))
        assert out_boxes.shape == (0, 4)
        assert out_ignore.shape == (1, 4)
        side = np.sqrt(np.prod(out_ignore[0, 2:] - out_ignore[0, :2]))
        assert 0 < side < 6


def test_min_face_splits_boxes_from_ignore() -> None:
    image, boxes = _test_image()
    _, out_boxes, out_ignore = augment(
        image, boxes, NO_BOXES, np.random.default_rng(1), AugmentConfig(size=96, min_face=1e6)
    )
    assert len(out_boxes) == 0 and len(out_ignore) == 1


def test_augment_is_deterministic_for_a_fixed_rng() -> None:
    image = np.random.default_rng(0).integers(0, 256, (150, 200, 3), dtype=np.uint8)
    boxes = np.array([[10, 10, 60, 70], [100, 40, 150, 100]], np.float32)
    ignore = np.array([[160, 100, 190, 140]], np.float32)
    config = AugmentConfig(size=64)
    first = augment(image, boxes, ignore, np.random.default_rng(42), config)
    second = augment(image, boxes, ignore, np.random.default_rng(42), config)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    others = [augment(image, boxes, ignore, np.random.default_rng(seed), config)[0] for seed in range(43, 47)]
    assert any(not np.array_equal(first[0], other) for other in others)
    np.testing.assert_array_equal(image, np.random.default_rng(0).integers(0, 256, (150, 200, 3), dtype=np.uint8))


class _RecordingRng:
    """A seeded generator recording the ranges passed to ``uniform``."""

    def __init__(self, seed: int) -> None:
        self.generator = np.random.default_rng(seed)
        self.calls: list[tuple[float, float]] = []

    def random(self) -> float:
        return float(self.generator.random())

    def uniform(self, low: float, high: float) -> float:
        self.calls.append((low, high))
        return float(self.generator.uniform(low, high))


def _distortion_rates(draws: int = 2000) -> dict[str, float]:
    from detectors.training.augment import distort_colours

    image = np.full((2, 2, 3), 100, np.uint8)
    rng = _RecordingRng(0)
    counts = {"brightness": 0, "contrast+saturation": 0, "hue": 0}
    for _ in range(draws):
        rng.calls.clear()
        distort_colours(image, rng)  # type: ignore[arg-type]
        counts["brightness"] += rng.calls.count((-32, 32))
        counts["contrast+saturation"] += rng.calls.count((0.5, 1.5))
        counts["hue"] += rng.calls.count((-9, 9))
    return {name: count / draws for name, count in counts.items()}


def test_brightness_distortion_probability_is_one_half() -> None:
    assert 0.45 < _distortion_rates()["brightness"] < 0.55


def test_hue_and_saturation_distortion_probability_is_one_half() -> None:
    rates = _distortion_rates()
    assert 0.45 < rates["hue"] < 0.55, rates
    assert 0.9 < rates["contrast+saturation"] < 1.1, rates  # 0.5 (contrast) + 0.5 (saturation)


# -------------------------------------------------------------------------------- dataset and a step


def test_face_training_set_items(tmp_path: Path) -> None:
    from detectors.datasets.sample import FaceSample
    from detectors.training.data import FaceTrainingSet

    image, boxes = _test_image()
    cv2.imwrite(str(tmp_path / "face.png"), image)
    dataset = FaceTrainingSet([FaceSample(tmp_path / "face.png", boxes)], SMALL_FACE_LEVELS, AugmentConfig(size=64))
    count = len(generate_anchors(SMALL_FACE_LEVELS, 64, 64))
    tensor, labels, targets = dataset[0]
    assert tensor.shape == (3, 64, 64) and tensor.dtype == torch.float32
    assert labels.shape == (count,) and labels.dtype == torch.int64
    assert targets.shape == (count, 4)
    assert 0 <= tensor.min() and tensor.max() <= 255
    assert (labels == 1).sum() >= 1
    again = dataset[0]
    assert torch.equal(tensor, again[0]) and torch.equal(labels, again[1])
    dataset.set_epoch(1)
    assert not torch.equal(tensor, dataset[0][0])  # new epoch -> new augmentation
    with pytest.raises(OSError):
        FaceTrainingSet([FaceSample(tmp_path / "missing.png")], SMALL_FACE_LEVELS, AugmentConfig(size=64))[0]


def test_a_few_training_steps_reduce_the_loss() -> None:
    from detectors.faceboxes.model import build_faceboxes

    torch.manual_seed(0)
    model = build_faceboxes("small").train()
    anchors = generate_anchors(model.config.levels, 128, 128)
    rng = np.random.default_rng(0)
    images, all_labels, all_targets = [], [], []
    for faces in ([[20, 30, 60, 70]], [[64, 16, 112, 64], [10, 80, 34, 104]]):
        image = rng.integers(0, 80, (128, 128, 3)).astype(np.float32)
        for x1, y1, x2, y2 in faces:
            image[y1:y2, x1:x2] = 220
        labels, targets = match_anchors(anchors, np.asarray(faces, np.float32), NO_BOXES)
        images.append(torch.from_numpy(image.transpose(2, 0, 1).copy()))
        all_labels.append(torch.from_numpy(labels.astype(np.int64)))
        all_targets.append(torch.from_numpy(targets))
    images, labels, targets = torch.stack(images), torch.stack(all_labels), torch.stack(all_targets)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def loss_value() -> torch.Tensor:
        deltas, logits = model(images)
        classification, localisation = multibox_loss(deltas, logits, labels, targets)
        return classification + localisation

    losses = []
    for _ in range(6):
        loss = loss_value()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        final = loss_value().item()
    assert all(np.isfinite(losses)) and np.isfinite(final)
    assert final < 0.8 * losses[0], losses + [final]
