"""Re-ranked scores on the raw scale: the recall-matched thresholds, their storage in the model, and
tracking re-ranking its scans only for a model that stores them (verifier trial 7)."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from apps.detector_spec import prepare_for_tracking
from detectors import DetectorLoadError, load_detector
from detectors.runtime import OnnxFaceDetector
from detectors.verification import RANK_EXPONENT, to_raw_scale, to_rescored_scale
from detectors.verifier.thresholds import recall_matched_threshold, true_scores

WEIGHTS = Path(__file__).resolve().parents[1] / "detectors" / "weights"


def test_the_matched_threshold_keeps_as_many_true_detections() -> None:
    raw = np.array([0.9, 0.8, 0.6, 0.5, 0.3])
    rescored = np.array([0.85, 0.7, 0.5, 0.45, 0.2])
    assert recall_matched_threshold(raw, rescored, 0.55) == pytest.approx(0.5)  # 3 kept either way
    assert recall_matched_threshold(raw, rescored, 0.3) == pytest.approx(0.2)
    assert recall_matched_threshold(raw, rescored[::-1], 0.55) == pytest.approx(0.5)  # order does not matter
    assert recall_matched_threshold(raw, rescored, 0.95) == pytest.approx(0.95)  # keeps none: unchanged


def test_true_detections_are_those_matching_a_label() -> None:
    faces = np.array([[0, 0, 10, 10, 0.9], [50, 50, 60, 60, 0.8], [1, 1, 11, 11, 0.4]], np.float32)
    labels = np.array([[0, 0, 10, 10]], np.float32)
    np.testing.assert_allclose(true_scores(faces, labels), [0.9, 0.4])
    assert len(true_scores(faces, np.zeros((0, 4), np.float32))) == 0


def test_the_map_puts_the_matched_thresholds_on_the_models_and_keeps_the_order() -> None:
    rescored, raw = (0.25, 0.5), (0.28, 0.55)
    scores = np.array([0.0, 0.1, 0.25, 0.4, 0.5, 0.8, 1.0], np.float32)
    mapped = to_raw_scale(scores, rescored, raw)
    np.testing.assert_allclose(mapped[[0, 2, 4, 6]], [0.0, 0.28, 0.55, 1.0], atol=1e-6)
    assert np.all(np.diff(mapped) > 0)
    for score in (0.1, 0.28, 0.4, 0.55, 0.9):
        assert to_raw_scale(np.array([to_rescored_scale(score, rescored, raw)]), rescored, raw)[0] == pytest.approx(score)


@pytest.mark.parametrize("name", ["faceboxes", "ainnoface"])
def test_the_shipped_models_store_thresholds_under_their_own(name: str) -> None:
    detector = load_detector(name, verify=False)
    low, start = detector.rescored_thresholds
    assert 0 < low < detector.recommended_low_threshold and low < start < detector.recommended_threshold


def _model_with(tmp_path: Path, metadata: dict[str, str]) -> Path:
    pytest.importorskip("onnx")
    from detectors.training.export import add_metadata

    path = tmp_path / "model.onnx"
    shutil.copy(WEIGHTS / "faceboxes.onnx", path)
    return add_metadata(path, metadata)


def test_storing_thresholds_again_replaces_them_and_bad_ones_are_refused(tmp_path: Path) -> None:
    path = _model_with(tmp_path, {"rerank_score_threshold": "0.4", "rerank_low_score_threshold": "0.2"})
    path = _model_with(tmp_path, {"rerank_score_threshold": "0.45", "rerank_low_score_threshold": "0.21"})
    assert OnnxFaceDetector(path).rescored_thresholds == (0.21, 0.45)
    _model_with(tmp_path, {"rerank_score_threshold": "0.2", "rerank_low_score_threshold": "0.3"})
    with pytest.raises(DetectorLoadError, match="re-ranked thresholds"):
        OnnxFaceDetector(tmp_path / "model.onnx")


def test_tracking_reranks_scans_only_for_a_model_with_thresholds() -> None:
    with_thresholds = load_detector("faceboxes", rerank=False)
    prepare_for_tracking(with_thresholds)
    assert with_thresholds.verifier.rank_exponent == RANK_EXPONENT
    without = load_detector("faceboxes")  # re-ranking, as load_detector does by default
    without.rescored_thresholds = None  # as a model exported without them
    prepare_for_tracking(without)
    assert without.verifier.rank_exponent == 0.0
    prepare_for_tracking(SimpleNamespace(score_threshold=0.5, recommended_low_threshold=0.2))  # any detector-like object


def test_reranked_scan_scores_come_back_on_the_raw_scale() -> None:
    """A scan re-ranked in tracking reports each face at its mapped re-ranked score, and keeps the
    faces whose re-ranked score reaches the matched low threshold (under the raw one)."""
    skimage_data = pytest.importorskip("skimage.data")
    photo = np.ascontiguousarray(skimage_data.astronaut()[:, :, ::-1])
    tracking = load_detector("faceboxes", threads=1)
    prepare_for_tracking(tracking)
    raw = (tracking.recommended_low_threshold, tracking.recommended_threshold)
    reranked = load_detector("faceboxes", threads=1, rerank=True)
    reranked.rescored_thresholds = None  # plain re-ranked scores, nothing mapped
    reranked.score_threshold = tracking.rescored_thresholds[0]
    expected = reranked.detect(photo)
    expected[:, 4] = to_raw_scale(expected[:, 4], tracking.rescored_thresholds, raw)
    found = tracking.detect(photo)
    assert len(found) >= 1
    np.testing.assert_allclose(found, expected, rtol=1e-6)
    assert found[:, 4].min() >= raw[0] - 1e-6


def test_the_tool_measures_on_held_out_images_and_stores_the_pair(tmp_path: Path) -> None:
    """``python -m detectors.verifier.thresholds MODEL --train-set DIR --write`` on one held-out image
    (``astronaut2``; ``astronaut1`` is in the training split and must not count)."""
    import cv2

    from detectors.verifier.samples import is_held_out
    from detectors.verifier.thresholds import main

    skimage_data = pytest.importorskip("skimage.data")
    photo = np.ascontiguousarray(skimage_data.astronaut()[:, :, ::-1])
    face = load_detector("faceboxes", verify=False).detect(photo)[0]
    assert is_held_out("astronaut2") and not is_held_out("astronaut1")
    (tmp_path / "set" / "images").mkdir(parents=True)
    (tmp_path / "set" / "annotations").mkdir()
    box = "".join(f"<{key}>{value:.0f}</{key}>" for key, value in zip(("xmin", "ymin", "xmax", "ymax"), face[:4]))
    for stem in ("astronaut1", "astronaut2"):
        cv2.imwrite(str(tmp_path / "set" / "images" / f"{stem}.jpg"), photo)
        (tmp_path / "set" / "annotations" / f"{stem}.xml").write_text(
            f"<annotation><object><name>face</name><bndbox>{box}</bndbox></object></annotation>")
    model = _model_with(tmp_path, {})
    assert main([str(model), "--train-set", str(tmp_path / "set"), "--threads", "1", "--write"]) == 0
    low, start = OnnxFaceDetector(model).rescored_thresholds
    assert low == start  # one true detection: both thresholds keep it, at its re-ranked score
    assert low < face[4]
