"""The face follower at run time: window geometry, the shipped model on real faces, batching, load errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from detectors.boxes import pairwise_iou
from detectors.following import SHIPPED_FOLLOWER, FaceFollower, FollowerLoadError, boxes_in_frame, window_crops
from detectors.preprocess import BGR_MEAN

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "faces" / "dev"


@pytest.fixture(scope="module")
def follower() -> FaceFollower:
    return FaceFollower(SHIPPED_FOLLOWER, threads=1)


def test_window_side_boxes_map_back_to_frame_pixels_exactly() -> None:
    windows = np.array([[100, 50, 228, 178], [-20, -10, 44, 54]])
    relative = np.array([[0.25, 0.25, 0.75, 0.75], [0.0, 0.5, 1.0, 1.0]])
    expected = np.array([[132, 82, 196, 146], [-20, 22, 44, 54]])
    np.testing.assert_array_equal(boxes_in_frame(relative, windows), expected)


def test_window_crops_resize_the_window_and_fill_outside_the_frame_with_the_mean() -> None:
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[40:80, 60:100] = (0, 0, 255)  # a red square at a known place
    inside, across = window_crops(frame, np.array([[40, 20, 120, 100], [-40, -40, 40, 40]]), 64)
    np.testing.assert_array_equal(inside[16:48, 16:48], np.full((32, 32, 3), (0, 0, 255), np.uint8))
    assert (inside[:14] == 0).all()
    np.testing.assert_array_equal(across[:30, :30], np.full((30, 30, 3), np.round(BGR_MEAN), np.uint8))


def test_the_shipped_follower_reads_its_input_size(follower: FaceFollower) -> None:
    assert follower.input_size == 64


def big_dev_faces(count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(image, face box) of the first ``count`` dev images with a face of 60 px or more."""
    from detectors.datasets import read_face_folder

    found = []
    for sample in read_face_folder(DEV):
        sides = np.maximum(sample.boxes[:, 2] - sample.boxes[:, 0], sample.boxes[:, 3] - sample.boxes[:, 1])
        if len(sample.boxes) == 1 and sides[0] >= 60:
            found.append((cv2.imread(str(sample.image_path)), sample.boxes[0]))
        if len(found) == count:
            break
    return found


@pytest.mark.skipif(not DEV.is_dir(), reason="needs ../shared/data/faces/dev")
def test_the_follower_re_finds_a_face_from_a_window_around_a_wrong_prediction(follower: FaceFollower) -> None:
    """Faces of held-out images (never trained on), windows 2.5 times the face, centred a quarter of the
    face away from it: the face is found and its box placed at IoU >= 0.5 in most of them."""
    hits = total = 0
    for image, face in big_dev_faces(20):
        side = max(face[2] - face[0], face[3] - face[1]) * 2.5
        centre = (face[:2] + face[2:]) / 2
        for dx, dy in ((0.1, 0.0), (-0.1, 0.1), (0.0, -0.1)):
            middle = centre + np.array([dx, dy]) * side
            window = np.concatenate([middle - side / 2, middle + side / 2])[None]
            (found,) = follower(image, window)
            total += 1
            hits += len(found) == 1 and found[0, 4] >= 0.5 and pairwise_iou(found[:, :4], face[None])[0, 0] >= 0.5
    assert total >= 30 and hits >= 0.9 * total, f"{hits} / {total}"


def test_no_face_is_followed_on_flat_and_black_frames(follower: FaceFollower) -> None:
    windows = np.array([[100, 100, 300, 300], [0, 0, 64, 64], [500, 200, 620, 320]])
    for frame in (np.zeros((480, 640, 3), np.uint8), np.full((480, 640, 3), 128, np.uint8)):
        assert all(len(found) == 0 or found[0, 4] < 0.5 for found in follower(frame, windows))


def test_one_batched_call_equals_one_call_per_window(follower: FaceFollower) -> None:
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (360, 480, 3), dtype=np.uint8), (0, 0), 3)
    windows = np.array([[10, 20, 138, 148], [200.4, 100.6, 300.2, 200.9], [-30, 300, 90, 420], [400, -50, 520, 70]])
    batched = follower.locate(frame, np.round(windows).astype(np.int64))
    alone = [follower.locate(frame, np.round(window[None]).astype(np.int64)) for window in windows]
    np.testing.assert_allclose(batched[0], np.concatenate([a[0] for a in alone]), atol=1e-5)
    np.testing.assert_allclose(batched[1], np.concatenate([a[1] for a in alone]), atol=1e-3)
    results = follower(frame, windows)
    assert len(results) == len(windows) and all(r.shape[1] == 5 and len(r) <= 1 for r in results)
    for found in results:
        assert (found[:, [0, 2]] >= 0).all() and (found[:, [0, 2]] <= 480).all()
        assert (found[:, [1, 3]] >= 0).all() and (found[:, [1, 3]] <= 360).all()


def test_windows_entirely_outside_the_frame_or_empty_lists_are_handled(follower: FaceFollower) -> None:
    frame = np.zeros((100, 100, 3), np.uint8)
    assert follower(frame, np.zeros((0, 4))) == []
    (found,) = follower(frame, np.array([[500.0, 500.0, 600.0, 600.0]]))
    assert found.shape == (0, 5)  # nothing inside the frame to report


def test_unusable_follower_files_raise_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FollowerLoadError, match="not found.*--follow-with detector"):
        FaceFollower(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(FollowerLoadError, match="not a valid ONNX model"):
        FaceFollower(garbage)
    with pytest.raises(FollowerLoadError, match="not a FaceTrack face follower"):
        FaceFollower(ROOT / "detectors" / "weights" / "verifier.onnx")


def test_a_missing_follower_is_one_error_line_naming_the_way_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import detectors.following
    from apps.video_job import shared_follower
    from tests.cli_helpers import run_cli
    from tests.test_reliability_faults import make_clip

    monkeypatch.setattr(detectors.following, "SHIPPED_FOLLOWER", tmp_path / "gone.onnx")
    shared_follower.cache_clear()
    try:
        clip = make_clip(tmp_path / "clip.mp4", frames=3)
        result = run_cli(clip, "-o", tmp_path / "out", "--follow-with", "follower")
        assert result.code == 2 and "--follow-with detector" in result.line("error:")
        assert not (tmp_path / "out").exists()
        assert run_cli(clip, "-o", tmp_path / "out2", "--follow-with", "detector").code == 0
        assert run_cli(clip, "-o", tmp_path / "out3", "--follow-with", "follower", "--no-follow").code == 0
    finally:
        shared_follower.cache_clear()
