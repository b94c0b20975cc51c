"""Detection in follow windows: exact coordinate mapping, padding, batching, the batch axis of models."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from detectors import load_detector
from detectors.anchors import AnchorLevel
from detectors.postprocess import PostprocessConfig
from detectors.preprocess import BGR_MEAN
from detectors.windows import cut_window, detect_windows, snap_windows, window_batch

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "media" / "demo.mp4"
DEMO_TRUTH = ROOT / "media" / "demo_gt.txt"


def _frame_with_square(box: tuple[int, int, int, int], shape: tuple[int, int] = (480, 640)) -> np.ndarray:
    frame = np.zeros((*shape, 3), np.uint8)
    x1, y1, x2, y2 = box
    frame[y1:y2, x1:x2] = 255
    return frame


def test_snap_windows_keeps_centre_and_makes_whole_pixel_squares() -> None:
    snapped = snap_windows(np.array([[10.2, 20.7, 110.2, 80.7], [5.0, 5.0, 5.2, 5.1]]))
    np.testing.assert_array_equal(snapped[0], [10, 1, 110, 101])  # side 100 (the larger side), centre (60.2, 50.7)
    assert snapped[1, 2] - snapped[1, 0] == 1 and snapped[1, 3] - snapped[1, 1] == 1  # never empty


def test_window_content_lands_where_the_mapping_says() -> None:
    """A white square at a known frame place appears in the tile at (x - x1) * tile / side."""
    frame = _frame_with_square((300, 200, 340, 240))
    tile, window = 64, np.array([[280, 180, 408, 308]])  # side 128: scale 0.5
    patch = window_batch(frame, snap_windows(window), tile)[0, 0]
    rows, cols = np.nonzero(patch > 127)
    assert (cols.min(), cols.max() + 1, rows.min(), rows.max() + 1) == (10, 30, 10, 30)


def test_window_outside_the_frame_is_padded_with_the_mean() -> None:
    frame = _frame_with_square((0, 0, 20, 20))
    patch = cut_window(frame, np.array([-20, -20, 20, 20]))
    assert patch.shape == (40, 40, 3)
    np.testing.assert_array_equal(patch[0, 0], np.round(BGR_MEAN))
    np.testing.assert_array_equal(patch[30, 30], [255, 255, 255])
    nowhere = cut_window(frame, np.array([1000, 1000, 1010, 1010]))
    assert nowhere.shape == (10, 10, 3) and (nowhere == np.round(BGR_MEAN).astype(np.uint8)).all()


def _fake_network(tile_box: tuple[float, float, float, float]):
    """A forward function whose only anchor decodes to ``tile_box`` with score 0.9 in every window."""
    x1, y1, x2, y2 = tile_box
    level = AnchorLevel(stride=64, sizes=(64.0,), densities=(1,))

    def forward(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        anchors = 4  # a 128 px tile has 2x2 cells of stride 64
        deltas = np.zeros((len(batch), anchors, 4), np.float32)
        scores = np.zeros((len(batch), anchors), np.float32)
        # anchor 0: centre (32, 32), size 64; encode the wanted box relative to it (variances 0.1 / 0.2)
        deltas[:, 0] = [((x1 + x2) / 2 - 32) / (0.1 * 64), ((y1 + y2) / 2 - 32) / (0.1 * 64),
                        np.log((x2 - x1) / 64) / 0.2, np.log((y2 - y1) / 64) / 0.2]
        scores[:, 0] = 0.9
        return deltas, scores

    return forward, (level,)


def test_detections_map_back_to_frame_pixels_exactly() -> None:
    forward, levels = _fake_network((16.0, 24.0, 48.0, 56.0))
    windows = np.array([[100, 50, 356, 306], [-32, -32, 96, 96], [-200, -200, -72, -72]], float)  # tile 128
    frame = np.zeros((480, 640, 3), np.uint8)
    found = detect_windows(frame, windows, forward, levels, 128, PostprocessConfig(score_threshold=0.5))
    np.testing.assert_allclose(found[0][0], [100 + 32, 50 + 48, 100 + 96, 50 + 112, 0.9], atol=1e-3)
    np.testing.assert_allclose(found[1][0], [0, 0, -32 + 48, -32 + 56, 0.9], atol=1e-3)  # clipped to the frame
    assert found[2].shape == (0, 5)  # a window outside the frame finds nothing, without error


def _demo_frame_and_faces() -> tuple[np.ndarray, np.ndarray]:
    """Frame 1 of the project's demo clip and its ground-truth face boxes (x1, y1, x2, y2)."""
    capture = cv2.VideoCapture(str(DEMO))
    ok, frame = capture.read()
    capture.release()
    assert ok, "cannot read media/demo.mp4"
    rows = np.loadtxt(DEMO_TRUTH, delimiter=",", ndmin=2)
    first = rows[(rows[:, 0] == 1) & (rows[:, 6] == 1)][:, 2:6]  # visible (not ignored) faces
    return frame, np.concatenate([first[:, :2], first[:, :2] + first[:, 2:4]], axis=1)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.parametrize("name", ["faceboxes", "ainnoface"])
def test_shipped_detector_finds_a_known_face_in_its_window_and_batches_exactly(name: str) -> None:
    frame, faces = _demo_frame_and_faces()
    detector = load_detector(name, threads=1)
    assert detector.batches, "shipped models must have a dynamic batch axis"
    centres, sides = (faces[:, :2] + faces[:, 2:]) / 2, 2.5 * (faces[:, 2:] - faces[:, :2]).max(axis=1)
    windows = np.concatenate([centres - sides[:, None] / 2, centres + sides[:, None] / 2], axis=1)
    batched = detector.detect_windows(frame, windows)
    for face, found in zip(faces, batched, strict=True):
        assert len(found) and max(_iou(face, box) for box in found[:, :4]) > 0.5
    one_by_one = [detector.detect_windows(frame, window[None])[0] for window in windows]
    for together, alone in zip(batched, one_by_one, strict=True):
        np.testing.assert_allclose(together, alone, atol=1e-3)


def test_models_without_a_batch_axis_get_one_and_answer_the_same(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from detectors.training.export import add_batch_axis

    proto = onnx.load(str(ROOT / "detectors" / "weights" / "faceboxes.onnx"))
    for value in [*proto.graph.input, *proto.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_value = 1  # as models were exported before the batch axis
    old = tmp_path / "old.onnx"
    onnx.save(proto, str(old))
    frame, faces = _demo_frame_and_faces()
    windows = np.concatenate([faces[:, :2] - 40, faces[:, 2:] + 40], axis=1)
    unbatched = load_detector(old, threads=1)
    assert not unbatched.batches
    before = unbatched.detect_windows(frame, windows)  # one network call per window
    assert add_batch_axis(old) and not add_batch_axis(old)
    upgraded = load_detector(old, threads=1)
    assert upgraded.batches
    for a, b in zip(before, upgraded.detect_windows(frame, windows), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3)
