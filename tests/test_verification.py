"""The face verifier: crops cut as trained, the shipped model's contract, what it keeps and drops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detectors import load_detector
from detectors.featureless import BENCHMARK_KINDS, BENCHMARK_SIZES, benchmark_frame
from detectors.verification import (
    MIN_CHECKED_SCORE,
    MIN_CHECKED_SIDE,
    RANK_EXPONENT,
    SHIPPED_REJECTER,
    SHIPPED_VERIFIER,
    FaceVerifier,
    VerifierLoadError,
    crop_square,
    shipped_verifier,
    touches_frame_edge,
)


def test_crop_square_cuts_the_widened_square_around_the_box() -> None:
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[80:120, 130:170] = 255  # a 40 px white square
    crop = crop_square(frame, np.array([130, 80, 170, 120]), size=56, context=1.4)
    assert crop.shape == (56, 56, 3)
    # the box fills the central 40/56 of the crop: white inside, black in an 8 px border
    assert crop[10:46, 10:46].min() == 255
    assert crop[:6].max() == 0 and crop[:, :6].max() == 0 and crop[50:].max() == 0


def test_crop_square_repeats_the_edge_outside_the_frame() -> None:
    frame = np.full((100, 100, 3), 7, np.uint8)
    frame[:, :10] = 200
    crop = crop_square(frame, np.array([-30, 20, 30, 80]), size=32)
    assert crop.shape == (32, 32, 3)
    assert crop[:, 0].min() == 200  # the left edge column, repeated
    empty = crop_square(frame, np.array([500, 500, 600, 600]), size=32)
    assert empty.shape == (32, 32, 3)


@pytest.fixture(scope="module")
def verifier() -> FaceVerifier:
    return FaceVerifier(SHIPPED_VERIFIER, threads=1)


def test_the_shipped_verifier_reads_its_threshold(verifier: FaceVerifier) -> None:
    assert 0.0 < verifier.threshold <= 0.5
    assert verifier.crop_size == 32


def test_unusable_verifier_files_raise_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VerifierLoadError, match="not found"):
        FaceVerifier(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(VerifierLoadError, match="not a valid ONNX model"):
        FaceVerifier(garbage)
    detector_model = Path(__file__).resolve().parents[1] / "detectors" / "weights" / "faceboxes.onnx"
    with pytest.raises(VerifierLoadError, match="not a FaceTrack face verifier"):
        FaceVerifier(detector_model)


def test_the_verifier_accepts_a_real_face(verifier: FaceVerifier) -> None:
    skimage_data = pytest.importorskip("skimage.data")
    photo = np.ascontiguousarray(skimage_data.astronaut()[:, :, ::-1])
    faces = load_detector("faceboxes", verify=False).detect(photo)
    assert len(faces) >= 1
    assert verifier.face_probabilities(photo, faces[:1])[0] >= verifier.threshold


@pytest.mark.parametrize("name", ["faceboxes", "ainnoface"])
def test_no_face_on_featureless_frames_as_the_app_runs_the_detectors(name: str) -> None:
    """Every benchmark kind (blurred noise, stripes and heavy JPEG included) at three sizes, seeds 0-2:
    nothing at 0.4 (under both track-start scores and the issue's 0.5) once the verifier looks, while
    the network alone fires on them."""
    app = load_detector(name, score_threshold=0.4, threads=2)
    network = load_detector(name, score_threshold=0.4, threads=2, flat_box_guard=False, verify=False)
    fired = 0
    for seed in range(3):
        for kind in BENCHMARK_KINDS:
            for width, height in BENCHMARK_SIZES:
                frame = benchmark_frame(kind, width, height, seed)
                assert len(app.detect(frame)) == 0, (kind, width, seed)
                fired += len(network.detect(frame))
    assert fired > 0


def test_small_and_weak_boxes_are_kept_unchecked() -> None:
    rejecting = FaceVerifier(SHIPPED_VERIFIER, threshold=1.01, rank_exponent=0.0)  # rejects every box it judges
    frame = np.zeros((100, 100, 3), np.uint8)
    side = MIN_CHECKED_SIDE - 1
    faces = np.array([[10, 10, 10 + side, 10 + side, 0.9],  # too small to judge
                      [20, 20, 80, 80, 0.39],  # too weak to start a track
                      [20, 20, 80, 80, 0.9]], np.float32)
    kept = rejecting.keep(frame, faces)
    np.testing.assert_array_equal(kept, faces[:2])
    broken = np.array([[np.nan, 10, 50, 50, 0.9], [10, 10, np.inf, 50, 0.9]], np.float32)
    assert len(rejecting.keep(frame, broken)) == 2  # not judged: the tracker drops non-finite boxes
    assert rejecting.keep(frame, faces[:0]).shape == (0, 5)


def test_load_detector_attaches_the_verifier_unless_told_not_to() -> None:
    assert load_detector("faceboxes").verifier.rank_exponent == RANK_EXPONENT  # re-ranks unless told not to
    assert load_detector("faceboxes", rerank=False).verifier.rank_exponent == 0.0
    assert load_detector("faceboxes", verify=False).verifier is None


def test_full_scans_are_judged_and_follow_windows_are_not() -> None:
    """A window's faces only extend the track it follows, so the verifier does not judge them."""
    skimage_data = pytest.importorskip("skimage.data")
    photo = np.ascontiguousarray(skimage_data.astronaut()[:, :, ::-1])
    detector = load_detector("faceboxes")
    detector.verifier = FaceVerifier(SHIPPED_VERIFIER, threshold=1.01, rank_exponent=0.0)  # rejects every box it judges
    assert (detector.detect(photo)[:, 4] >= 0.4).sum() == 0
    face = load_detector("faceboxes", verify=False).detect(photo)[0]
    centre, side = (face[:2] + face[2:4]) / 2, 2.5 * max(face[2] - face[0], face[3] - face[1])
    window = np.array([[*(centre - side / 2), *(centre + side / 2)]], np.float32)
    assert len(detector.detect_windows(photo, window)[0]) >= 1


def test_a_missing_verifier_is_one_error_line_naming_the_way_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import detectors
    from tests.cli_helpers import run_cli
    from tests.test_reliability_faults import make_clip

    monkeypatch.setattr(detectors, "SHIPPED_VERIFIER", tmp_path / "gone.onnx")
    clip = make_clip(tmp_path / "clip.mp4", frames=3)
    result = run_cli(clip, "-o", tmp_path / "out")
    assert result.code == 2 and "--no-verify" in result.line("error:")
    assert run_cli(clip, "-o", tmp_path / "out2", "--no-verify").code == 0


def test_judged_scores_are_multiplied_by_the_face_probability_and_resorted() -> None:
    verifier = FaceVerifier(SHIPPED_VERIFIER, threads=1, rank_exponent=RANK_EXPONENT)
    skimage_data = pytest.importorskip("skimage.data")
    photo = np.ascontiguousarray(skimage_data.astronaut()[:, :, ::-1])
    face = load_detector("faceboxes", verify=False).detect(photo)[0]
    nothing = np.array([0, 0, 40, 40, 0.95], np.float32)  # the photo's dark corner, scored above the face
    tiny = np.array([300, 300, 310, 310, 0.99], np.float32)  # under 16 px: not judged
    faces = np.stack([tiny, nothing, face])
    probabilities = verifier.face_probabilities(photo, faces[1:])
    kept = verifier.keep(photo, faces)
    expected = faces[1:, 4] * probabilities ** verifier.rank_exponent
    assert verifier.rank_exponent == pytest.approx(0.5)
    assert list(kept[:, 4]) == sorted(kept[:, 4], reverse=True)
    np.testing.assert_array_equal(kept[0], tiny)
    face_row = kept[np.all(kept[:, :4] == face[:4], axis=1)]
    np.testing.assert_allclose(face_row[0, 4], expected[1], rtol=1e-6)
    if probabilities[0] >= verifier.threshold:  # kept, and ranked by its new score
        np.testing.assert_allclose(kept[np.all(kept[:, :4] == nothing[:4], axis=1)][0, 4], expected[0], rtol=1e-6)


@pytest.mark.parametrize(("command", "flags", "verify"), [
    ("detect", [], True),
    ("detect", ["--no-verify"], False),
    ("evaluate", [], True),
    ("evaluate", ["--no-verify"], False),
])
def test_still_image_commands_verify_and_rerank_unless_told_not_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   command: str, flags: list[str], verify: bool) -> None:
    import detectors
    from tests.cli_helpers import FixedBox, run_cli
    from tests.label_layouts import write_voc

    asked: list[tuple[bool, bool]] = []
    monkeypatch.setattr(detectors, "load_detector",
                        lambda *args, **kwargs: asked.append((kwargs["verify"], kwargs["rerank"])) or FixedBox())
    folder = write_voc(tmp_path / "voc")
    target = [folder / "images", "-o", tmp_path / "out"] if command == "detect" else [folder]
    assert run_cli(command, *target, *flags).code == 0
    assert asked == [(verify, True)]


def test_a_rejecter_decides_what_is_dropped_and_the_verifier_only_re_ranks() -> None:
    skimage_data = pytest.importorskip("skimage.data")
    photo = np.ascontiguousarray(skimage_data.astronaut()[:, :, ::-1])
    faces = load_detector("faceboxes", verify=False).detect(photo)[:1]
    assert len(faces) == 1 and faces[0, 4] >= MIN_CHECKED_SCORE
    accepting = FaceVerifier(SHIPPED_VERIFIER, threshold=0.0)
    rejecting = FaceVerifier(SHIPPED_VERIFIER, threshold=1.01)
    # the ranking verifier would reject the face; the rejecter accepts it, so it stays, re-ranked by the first
    ranked = FaceVerifier(SHIPPED_VERIFIER, threshold=1.01, rank_exponent=RANK_EXPONENT, rejecter=accepting)
    kept = ranked.keep(photo, faces)
    probability = ranked.face_probabilities(photo, faces)[0]
    assert len(kept) == 1 and kept[0, 4] == pytest.approx(faces[0, 4] * probability ** RANK_EXPONENT)
    # the ranking verifier accepts it; the rejecter drops it, with or without re-ranking
    for exponent in (0.0, RANK_EXPONENT):
        assert len(FaceVerifier(SHIPPED_VERIFIER, threshold=0.0, rank_exponent=exponent, rejecter=rejecting).keep(photo, faces)) == 0


def test_the_shipped_rejecter_is_used_only_when_installed(tmp_path: Path) -> None:
    assert shipped_verifier(rejecter_path=tmp_path / "absent.onnx").rejecter is None
    installed = shipped_verifier(rejecter_path=SHIPPED_VERIFIER, rank_exponent=RANK_EXPONENT)
    assert installed.rejecter is not None and installed.rejecter.rank_exponent == 0.0
    assert installed.rank_exponent == RANK_EXPONENT


def test_the_shipped_detectors_load_with_the_shipped_rejecter() -> None:
    assert SHIPPED_REJECTER.is_file()
    for name in ("faceboxes", "ainnoface"):
        verifier = load_detector(name, threads=1).verifier
        assert verifier.rejecter is not None and verifier.rejecter.threshold == pytest.approx(0.1528, abs=1e-4)
        assert verifier.rejecter.edge_threshold == pytest.approx(0.0018, abs=1e-4)  # verifier trial 21


def test_boxes_at_the_frame_edge_are_judged_by_the_verifier_not_the_rejecter() -> None:
    frame = np.zeros((100, 100, 3), np.uint8)
    faces = np.array([[0, 20, 60, 80, 0.9],  # touches the left edge
                      [20, 20, 80, 80, 0.8]], np.float32)  # inside the frame
    np.testing.assert_array_equal(touches_frame_edge(faces, 100, 100), [True, False])
    rejecting = FaceVerifier(SHIPPED_VERIFIER, threshold=1.01)
    verifier = FaceVerifier(SHIPPED_VERIFIER, threshold=0.0, rejecter=rejecting)
    np.testing.assert_array_equal(verifier.keep(frame, faces), faces[:1])
    assert len(FaceVerifier(SHIPPED_VERIFIER, threshold=1.01, rejecter=rejecting).keep(frame, faces)) == 0
    rejecting.judges_frame_edge = True  # a rejecter trained on faces cut by the edge judges them too
    assert len(verifier.keep(frame, faces)) == 0


def test_a_rejecters_edge_threshold_only_ever_drops_more_edge_boxes() -> None:
    frame = np.zeros((100, 100, 3), np.uint8)
    faces = np.array([[0, 20, 60, 80, 0.9],  # touches the left edge
                      [20, 20, 80, 80, 0.8]], np.float32)  # inside the frame
    rejecter = FaceVerifier(SHIPPED_VERIFIER, threshold=0.0)
    probability = rejecter.face_probabilities(frame, faces[:1])[0]
    accepting, refusing = (FaceVerifier(SHIPPED_VERIFIER, threshold=threshold, rejecter=rejecter) for threshold in (0.0, 1.01))
    rejecter.edge_threshold = float(probability) + 1e-3  # the edge box is under it: dropped, whatever the first verifier says
    np.testing.assert_array_equal(accepting.keep(frame, faces), faces[1:])
    rejecter.edge_threshold = float(probability) - 1e-3  # over it: the first verifier's verdict stands
    np.testing.assert_array_equal(accepting.keep(frame, faces), faces)
    np.testing.assert_array_equal(refusing.keep(frame, faces), faces[1:])
    rejecter.threshold = 1.01  # the boxes inside the frame are the rejecter's own threshold's alone
    np.testing.assert_array_equal(accepting.keep(frame, faces), faces[:1])


def test_rejecting_only_the_first_network_looks_at_the_boxes_the_rejecter_leaves_to_it() -> None:
    frame = np.zeros((100, 100, 3), np.uint8)
    faces = np.array([[0, 20, 60, 80, 0.9],  # touches the left edge
                      [20, 20, 80, 80, 0.8]], np.float32)  # inside the frame
    verifier = FaceVerifier(SHIPPED_VERIFIER, threshold=0.0, rejecter=FaceVerifier(SHIPPED_VERIFIER, threshold=0.0))
    looked_at: list[np.ndarray] = []
    network = verifier.face_probabilities
    verifier.face_probabilities = lambda image, boxes: looked_at.append(boxes.copy()) or network(image, boxes)
    np.testing.assert_array_equal(verifier.keep(frame, faces), faces)
    assert len(looked_at) == 1
    np.testing.assert_array_equal(looked_at[0], faces[:1])
    verifier.rejecter.judges_frame_edge = True  # then nothing is left to the first network
    assert len(verifier.keep(frame, faces)) == 2 and len(looked_at) == 2 and len(looked_at[1]) == 0
    verifier.rank_exponent = RANK_EXPONENT  # re-ranking: it looks at every box
    assert len(verifier.keep(frame, faces)) == 2 and len(looked_at[2]) == 2
