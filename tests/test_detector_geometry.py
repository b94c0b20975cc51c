"""Anchors, box coding, IoU / NMS and post-processing of the face detectors."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from detectors.anchors import AnchorLevel, feature_map_size, generate_anchors
from detectors.box_coding import centers_to_corners, corners_to_centers, decode, encode
from detectors.boxes import box_area, close_pairs, nms, paired_iou, pairwise_iou
from detectors.faceboxes.config import PAPER_LEVELS, SMALL_FACE_LEVELS, VARIANTS
from detectors.postprocess import PostprocessConfig, postprocess

# --------------------------------------------------------------------------------------------- anchors


def test_anchors_per_cell_of_the_paper_and_small_layouts() -> None:
    assert [level.anchors_per_cell for level in PAPER_LEVELS] == [21, 1, 1]
    assert [level.stride for level in PAPER_LEVELS] == [32, 64, 128]
    assert [level.anchors_per_cell for level in SMALL_FACE_LEVELS] == [4, 21, 1, 1]
    assert SMALL_FACE_LEVELS[0] == AnchorLevel(stride=16, sizes=(16,), densities=(2,))
    assert SMALL_FACE_LEVELS[1:] == PAPER_LEVELS
    assert VARIANTS["paper"].levels == PAPER_LEVELS and not VARIANTS["paper"].small_face_level
    assert VARIANTS["small"].levels == SMALL_FACE_LEVELS and VARIANTS["small"].small_face_level


def test_paper_anchor_count_at_1024() -> None:
    anchors = generate_anchors(PAPER_LEVELS, 1024, 1024)
    assert anchors.shape == (21_824, 4)
    assert anchors.dtype == np.float32
    # level by level: 32x32 cells x 21, 16x16 x 1, 8x8 x 1
    assert np.all(anchors[:21_504, 2] <= 128)
    assert np.all(anchors[21_504:21_760, 2] == 256)
    assert np.all(anchors[21_760:, 2] == 512)
    sizes, counts = np.unique(anchors[:, 2], return_counts=True)
    assert dict(zip(sizes.tolist(), counts.tolist())) == {
        32.0: 16_384,
        64.0: 4_096,
        128.0: 1_024,
        256.0: 256,
        512.0: 64,
    }


def test_small_variant_adds_a_stride16_level() -> None:
    anchors = generate_anchors(SMALL_FACE_LEVELS, 1024, 1024)
    assert anchors.shape == (64 * 64 * 4 + 21_824, 4)
    assert np.all(anchors[: 64 * 64 * 4, 2] == 16)
    np.testing.assert_array_equal(anchors[64 * 64 * 4 :], generate_anchors(PAPER_LEVELS, 1024, 1024))


def test_anchor_counts_of_non_square_inputs_use_ceil() -> None:
    assert feature_map_size(480, 640, 128) == (4, 5)
    assert feature_map_size(352, 608, 64) == (6, 10)
    expected = 15 * 20 * 21 + 8 * 10 + 4 * 5
    assert len(generate_anchors(PAPER_LEVELS, 480, 640)) == expected
    assert len(generate_anchors(SMALL_FACE_LEVELS, 480, 640)) == 30 * 40 * 4 + expected


def test_densified_centres_of_one_cell_hand_checked() -> None:
    anchors = generate_anchors(PAPER_LEVELS, 96, 128)  # stride-32 map: 3 rows x 4 cols
    row, col = 1, 2
    cell = anchors[(row * 4 + col) * 21 : (row * 4 + col + 1) * 21]
    x0, y0 = col * 32, row * 32  # cell corner (64, 32)
    expected = []
    for dy in (4, 12, 20, 28):  # 32 px anchors tiled 4x4, 8 px apart, centred in the cell
        for dx in (4, 12, 20, 28):
            expected.append((x0 + dx, y0 + dy, 32, 32))
    for dy in (8, 24):  # 64 px anchors tiled 2x2
        for dx in (8, 24):
            expected.append((x0 + dx, y0 + dy, 64, 64))
    expected.append((x0 + 16, y0 + 16, 128, 128))
    np.testing.assert_array_equal(cell, np.asarray(expected, dtype=np.float32))


def test_small_level_centres_of_one_cell() -> None:
    anchors = generate_anchors(SMALL_FACE_LEVELS, 64, 64)  # stride-16 map 4x4
    first_cells = anchors[: 2 * 4].reshape(2, 4, 4)
    np.testing.assert_array_equal(first_cells[0], [[4, 4, 16, 16], [12, 4, 16, 16], [4, 12, 16, 16], [12, 12, 16, 16]])
    np.testing.assert_array_equal(
        first_cells[1][:, :2], [[20, 4], [28, 4], [20, 12], [28, 12]]
    )  # next cell to the right


def test_anchor_cache_returns_read_only_arrays() -> None:
    first = generate_anchors(PAPER_LEVELS, 160, 224)
    second = generate_anchors(list(PAPER_LEVELS), 160, 224)
    assert second is first
    assert not first.flags.writeable
    with pytest.raises(ValueError):
        first[0, 0] = 1.0


# ------------------------------------------------------------------------ head order vs anchor order


@pytest.mark.parametrize("variant", ["paper", "small", "small2"])
@pytest.mark.parametrize(("height", "width"), [(480, 640), (352, 608)])
def test_model_output_count_matches_anchor_count(variant: str, height: int, width: int) -> None:
    torch = pytest.importorskip("torch")
    from detectors.faceboxes.model import build_faceboxes

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_faceboxes(variant).eval()
    with torch.no_grad():
        deltas, logits = model(torch.zeros(1, 3, height, width))
    count = len(generate_anchors(model.config.levels, height, width))
    assert deltas.shape == (1, count, 4)
    assert logits.shape == (1, count, 2)


@pytest.mark.parametrize("variant", ["paper", "small", "small2"])
def test_head_emits_predictions_in_anchor_order(variant: str) -> None:
    """Feed the head feature maps holding (row, col) and make it output (row, col, anchor size)."""
    torch = pytest.importorskip("torch")
    from detectors.faceboxes.model import build_faceboxes

    model = build_faceboxes(variant).eval()
    height, width = 96, 160
    levels = model.config.levels
    features = []
    with torch.no_grad():
        for level, regressor in zip(levels, model.head.regressors):
            rows, cols = feature_map_size(height, width, level.stride)
            channels = regressor.in_channels
            feature = torch.zeros(1, channels, rows, cols)
            feature[0, 0] = torch.arange(rows, dtype=torch.float32)[:, None]
            feature[0, 1] = torch.arange(cols, dtype=torch.float32)[None, :]
            features.append(feature)
            regressor.weight.zero_()
            regressor.bias.zero_()
            sizes = [s for s, d in zip(level.sizes, level.densities) for _ in range(d * d)]
            for a, size in enumerate(sizes):
                regressor.weight[a * 4 + 0, 0, 1, 1] = 1.0  # row index
                regressor.weight[a * 4 + 1, 1, 1, 1] = 1.0  # column index
                regressor.bias[a * 4 + 2] = float(size)
                regressor.bias[a * 4 + 3] = float(level.stride)
        deltas, _ = model.head(features)
    deltas = deltas[0].numpy()
    anchors = generate_anchors(levels, height, width)
    assert deltas.shape == anchors.shape
    strides = deltas[:, 3]
    np.testing.assert_array_equal(deltas[:, 2], anchors[:, 2])
    np.testing.assert_array_equal(deltas[:, 0], np.floor(anchors[:, 1] / strides))
    np.testing.assert_array_equal(deltas[:, 1], np.floor(anchors[:, 0] / strides))


# ---------------------------------------------------------------------------------------- box coding


def test_corners_centers_round_trip_and_values() -> None:
    corners = np.array([[10, 20, 30, 60], [0, 0, 1, 1]], dtype=np.float32)
    centers = corners_to_centers(corners)
    np.testing.assert_allclose(centers, [[20, 40, 20, 40], [0.5, 0.5, 1, 1]])
    np.testing.assert_allclose(centers_to_corners(centers), corners)


def test_encode_hand_example() -> None:
    anchors = np.array([[50, 50, 20, 20], [50, 50, 20, 20]], dtype=np.float32)
    boxes = np.array([[45, 40, 65, 60], [35, 45, 75, 55]], dtype=np.float32)
    # box 1: centre (55, 50), 20x20 -> (5 / (0.1 * 20), 0, log 1 / 0.2, log 1 / 0.2)
    # box 2: centre (55, 50), 40x10 -> (2.5, 0, log 2 / 0.2, log 0.5 / 0.2)
    expected = [[2.5, 0, 0, 0], [2.5, 0, math.log(2) / 0.2, math.log(0.5) / 0.2]]
    np.testing.assert_allclose(encode(boxes, anchors), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(decode(np.asarray(expected, np.float32), anchors), boxes, atol=1e-4)


def test_encode_decode_round_trip_on_random_boxes() -> None:
    rng = np.random.default_rng(7)
    n = 500
    anchors = np.column_stack([rng.uniform(0, 500, (n, 2)), np.repeat(rng.choice([16, 32, 64, 128], n)[:, None], 2, 1)])
    anchors = anchors.astype(np.float32)
    x1y1 = rng.uniform(-50, 500, (n, 2))
    wh = rng.uniform(2, 300, (n, 2))
    boxes = np.concatenate([x1y1, x1y1 + wh], axis=1).astype(np.float32)
    deltas = encode(boxes, anchors)
    assert deltas.dtype == np.float32
    np.testing.assert_allclose(decode(deltas, anchors), boxes, atol=2e-3, rtol=1e-4)


def test_decode_clips_extreme_scales() -> None:
    anchors = np.array([[0, 0, 16, 16]], dtype=np.float32)
    big = decode(np.array([[0, 0, 100, -100]], dtype=np.float32), anchors)
    np.testing.assert_allclose(big[0, 2] - big[0, 0], 1000.0, rtol=1e-4)  # 16 px x 62.5
    np.testing.assert_allclose(big[0, 3] - big[0, 1], 16 / 62.5, rtol=1e-4)
    assert np.all(np.isfinite(big))


# ------------------------------------------------------------------------------------------ IoU / NMS


def test_box_area_and_pairwise_iou_hand_values() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 5]], dtype=np.float32)
    b = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [20, 20, 30, 30], [0, 0, 5, 10]], dtype=np.float32)
    np.testing.assert_allclose(box_area(a), [100, 0])
    iou = pairwise_iou(a, b)
    assert iou.shape == (2, 4)
    np.testing.assert_allclose(iou[0], [1.0, 25 / 175, 0.0, 0.5], rtol=1e-6)
    np.testing.assert_array_equal(iou[1], [0, 0, 0, 0])  # degenerate box: zero, not NaN


def test_nms_suppresses_overlapping_lower_score_and_keeps_disjoint() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60], [0, 1, 10, 11]], dtype=np.float32)
    scores = np.array([0.6, 0.9, 0.8, 0.3], dtype=np.float32)
    keep = nms(boxes, scores, 0.4)
    assert keep.dtype == np.int64
    assert keep.tolist() == [1, 2]  # 0 and 3 overlap box 1 with IoU > 0.4


def test_nms_threshold_boundary_is_kept() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 5]], dtype=np.float32)  # IoU exactly 0.5
    scores = np.array([0.9, 0.8], dtype=np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [0, 1]  # not above the threshold -> kept
    assert nms(boxes, scores, 0.49).tolist() == [0]


def test_nms_max_keep_and_empty_input() -> None:
    boxes = np.array([[i * 20, 0, i * 20 + 10, 10] for i in range(5)], dtype=np.float32)
    scores = np.array([0.1, 0.5, 0.3, 0.9, 0.7], dtype=np.float32)
    assert nms(boxes, scores, 0.4).tolist() == [3, 4, 1, 2, 0]
    assert nms(boxes, scores, 0.4, max_keep=2).tolist() == [3, 4]
    empty = nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.4)
    assert empty.shape == (0,) and empty.dtype == np.int64


def _random_boxes(rng: np.random.Generator, count: int) -> np.ndarray:
    corners = rng.uniform(0, 1000, (count, 2))
    return np.concatenate([corners, corners + rng.uniform(4, 60, (count, 2))], axis=1).astype(np.float32)


def test_paired_iou_hand_values() -> None:
    a = np.array([[0, 0, 4, 4], [0, 0, 10, 10], [0, 0, 2, 2], [1.5, 0.5, 3.5, 2.5], [3, 3, 7, 9]], np.float32)
    b = np.array([[2, 1, 6, 5], [2, 2, 6, 6], [2, 0, 4, 2], [2.5, 1.5, 5.5, 3.5], [3, 3, 7, 9]], np.float32)
    expected = [
        3 / 13,  # overlap x 2..4, y 1..4 = 2 * 3 = 6; union 16 + 16 - 6 = 26
        0.16,    # b inside a: 4 * 4 = 16 of 100
        0.0,     # touching at x = 2: overlap width 0
        1 / 9,   # overlap x 2.5..3.5, y 1.5..2.5 = 1; union 2 * 2 + 3 * 2 - 1 = 9
        1.0,     # the same box
    ]
    np.testing.assert_allclose(paired_iou(a, b), expected, rtol=1e-6)
    np.testing.assert_allclose(paired_iou(b, a), expected, rtol=1e-6)


def test_pairwise_iou_hand_values_off_the_diagonal() -> None:
    a = np.array([[0, 0, 4, 4], [1.5, 0.5, 3.5, 2.5]], np.float32)
    b = np.array([[2, 2, 6, 6], [0, 0, 2, 2]], np.float32)
    np.testing.assert_allclose(pairwise_iou(a, b), [
        [1 / 7,  # overlap x 2..4, y 2..4 = 4; union 16 + 16 - 4 = 28
         0.25],  # b inside a: 2 * 2 = 4 of 16
        [3 / 77,  # overlap x 2..3.5, y 2..2.5 = 1.5 * 0.5 = 0.75; union 4 + 16 - 0.75 = 19.25
         3 / 29],  # overlap x 1.5..2, y 0.5..2 = 0.5 * 1.5 = 0.75; union 4 + 4 - 0.75 = 7.25
    ], rtol=1e-6)


def test_paired_iou_is_the_diagonal_of_pairwise_iou() -> None:
    rng = np.random.default_rng(3)
    a, b = _random_boxes(rng, 50), _random_boxes(rng, 50)
    np.testing.assert_allclose(paired_iou(a, b), np.diag(pairwise_iou(a, b)), rtol=1e-6)


@pytest.mark.parametrize("min_iou", [0.3, 0.6, 0.9])
def test_close_pairs_contains_every_pair_reaching_the_iou(min_iou: float) -> None:
    rng = np.random.default_rng(int(min_iou * 10))
    heads, boxes = _random_boxes(rng, 80), _random_boxes(rng, 3000)
    boxes[:80] = heads + rng.uniform(-3, 3, heads.shape).astype(np.float32)  # some near-duplicates
    head, box = close_pairs(heads, boxes, min_iou)
    found = set(zip(head.tolist(), box.tolist()))
    needed = set(zip(*np.nonzero(pairwise_iou(heads, boxes) >= min_iou)))
    assert needed and needed <= found
    assert len(found) == len(head) < len(heads) * len(boxes) / 4  # no duplicates, a fraction of all pairs


# ----------------------------------------------------------------------------------------- postprocess


def _disjoint_anchors(n: int) -> np.ndarray:
    return np.array([[20 + 40 * i, 20, 16, 16] for i in range(n)], dtype=np.float32)


def test_postprocess_threshold_and_sorting() -> None:
    anchors = _disjoint_anchors(5)
    deltas = np.zeros((5, 4), np.float32)
    scores = np.array([0.2, 0.5, 0.95, 0.49, 0.7], dtype=np.float32)
    out = postprocess(deltas, scores, anchors, PostprocessConfig(score_threshold=0.5))
    assert out.dtype == np.float32 and out.shape == (3, 5)
    np.testing.assert_allclose(out[:, 4], [0.95, 0.7, 0.5])  # threshold inclusive, sorted
    np.testing.assert_allclose(out[0, :4], [92, 12, 108, 28])  # anchor 2 decoded with zero deltas


def test_postprocess_applies_deltas_and_nms() -> None:
    anchors = np.array([[50, 50, 20, 20], [52, 50, 20, 20]], dtype=np.float32)
    deltas = np.array([[2.5, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32)
    out = postprocess(deltas, np.array([0.9, 0.8], np.float32), anchors, PostprocessConfig(score_threshold=0.1))
    np.testing.assert_allclose(out, [[45, 40, 65, 60, 0.9]], rtol=1e-6)  # second box (IoU 0.74) suppressed


def test_postprocess_box_voting_with_confident_neighbours_below_the_size_limit() -> None:
    anchors = np.array([[50, 50, 20, 20], [52, 50, 20, 20], [51, 50, 20, 20]], dtype=np.float32)
    deltas = np.zeros((3, 4), np.float32)
    scores = np.array([0.9, 0.6, 0.1], np.float32)  # the third is below 0.3 x 0.9: no vote
    voting = PostprocessConfig(score_threshold=0.05, vote_max_size=48)
    out = postprocess(deltas, scores, anchors, voting)
    # (40*0.9 + 42*0.6) / 1.5 = 40.8 for x1; the box keeps the top score.
    np.testing.assert_allclose(out, [[40.8, 40, 60.8, 60, 0.9]], rtol=1e-6)
    out = postprocess(deltas, scores, anchors, dataclasses.replace(voting, vote_min_score_ratio=0.0))
    np.testing.assert_allclose(out[0, 0], (40 * 0.9 + 42 * 0.6 + 41 * 0.1) / 1.6, rtol=1e-6)
    for plain in (dataclasses.replace(voting, vote_max_size=20), PostprocessConfig(score_threshold=0.05)):
        out = postprocess(deltas, scores, anchors, plain)  # 20 px boxes not below the limit / no voting
        np.testing.assert_allclose(out, [[40, 40, 60, 60, 0.9]], rtol=1e-6)


def test_postprocess_top_k_and_max_detections() -> None:
    anchors = _disjoint_anchors(6)
    deltas = np.zeros((6, 4), np.float32)
    scores = np.array([0.6, 0.9, 0.7, 0.99, 0.8, 0.65], dtype=np.float32)
    out = postprocess(deltas, scores, anchors, PostprocessConfig(score_threshold=0.5, pre_nms_top_k=3))
    np.testing.assert_allclose(out[:, 4], [0.99, 0.9, 0.8])
    out = postprocess(deltas, scores, anchors, PostprocessConfig(score_threshold=0.5, max_detections=2))
    np.testing.assert_allclose(out[:, 4], [0.99, 0.9])


def test_postprocess_empty_output() -> None:
    anchors = _disjoint_anchors(3)
    out = postprocess(np.zeros((3, 4), np.float32), np.full(3, 0.1, np.float32), anchors, PostprocessConfig())
    assert out.shape == (0, 5) and out.dtype == np.float32
