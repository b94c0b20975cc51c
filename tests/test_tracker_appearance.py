"""Colour-histogram appearance cue."""

from __future__ import annotations

import cv2
import numpy as np

from tracker.appearance import (
    EMBEDDING_SIZE,
    HUE_BINS,
    SATURATION_BINS,
    appearance_distance_matrix,
    blend_embedding,
    colour_embeddings,
)

RED = (40, 40, 200)
BLUE = (200, 80, 40)


def _two_patch_frame() -> np.ndarray:
    """Grey frame with a textured red patch at x 0-100 and a textured blue patch at x 100-200."""
    rng = np.random.default_rng(0)
    frame = np.full((100, 300, 3), 128, dtype=np.uint8)
    for x0, colour in ((0, RED), (100, BLUE)):
        patch = np.array(colour, dtype=np.float64) + rng.normal(0, 12, (100, 100, 3))
        frame[:, x0 : x0 + 100] = np.clip(patch, 0, 255).astype(np.uint8)
    return frame


def test_embeddings_are_unit_sqrt_histograms() -> None:
    boxes = np.array([[0, 0, 100, 100], [100, 0, 200, 100], [250, 50, 400, 200]], dtype=float)
    embeddings = colour_embeddings(_two_patch_frame(), boxes)
    assert embeddings.shape == (3, EMBEDDING_SIZE) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.sum(embeddings**2, axis=1), 1.0, rtol=1e-5)
    assert colour_embeddings(_two_patch_frame(), np.zeros((0, 4))).shape == (0, EMBEDDING_SIZE)


def test_distance_separates_colours() -> None:
    frame = _two_patch_frame()
    tracks = colour_embeddings(frame, np.array([[0, 0, 100, 100], [100, 0, 200, 100]], dtype=float))
    # shifted and shrunk boxes over the same patches
    detections = colour_embeddings(frame, np.array([[110, 10, 190, 90], [5, 5, 95, 95]], dtype=float))
    distance = appearance_distance_matrix(tracks, detections)
    assert distance[0, 1] < 0.3 and distance[1, 0] < 0.3
    assert distance[0, 0] > 0.9 and distance[1, 1] > 0.9


def test_distance_equals_opencv_bhattacharyya() -> None:
    rng = np.random.default_rng(1)
    hists = rng.random((2, HUE_BINS, SATURATION_BINS)).astype(np.float32)
    hists /= hists.sum(axis=(1, 2), keepdims=True)
    expected = cv2.compareHist(hists[0], hists[1], cv2.HISTCMP_BHATTACHARYYA)
    embeddings = np.sqrt(hists.reshape(2, -1))
    assert abs(appearance_distance_matrix(embeddings[:1], embeddings[1:])[0, 0] - expected) < 1e-5


def test_blend_moves_towards_new_appearance() -> None:
    frame = _two_patch_frame()
    red, blue = colour_embeddings(frame, np.array([[0, 0, 100, 100], [100, 0, 200, 100]], dtype=float))
    blended = blend_embedding(red, blue, 0.3)
    to_red, to_blue = appearance_distance_matrix(blended[None], np.stack([red, blue]))[0]
    assert 0.0 < to_red < to_blue
    assert appearance_distance_matrix(blend_embedding(red, red, 0.3)[None], red[None])[0, 0] < 1e-3


def test_boxes_reaching_outside_sample_only_their_visible_part() -> None:
    """A face cut by the border is described by its visible pixels, not by repeated border pixels."""
    frame = _two_patch_frame()
    frame[:, :3] = (0, 255, 0)  # a green frame edge that a clamped sampling grid would sample over and over
    inside, overhanging = colour_embeddings(frame, np.array([[0, 0, 100, 100], [-100, 0, 100, 100]], dtype=float))
    assert appearance_distance_matrix(inside[None], overhanging[None])[0, 0] < 0.15
