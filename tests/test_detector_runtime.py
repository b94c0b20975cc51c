"""ONNX export parity and the runtime API (``load_detector`` / ``OnnxFaceDetector``).

The seeded random test models fire on noise, which is what these tests need to see boxes: they run
without the face verifier, which rightly rejects those boxes (``tests/test_verification.py``)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import detectors
from detectors import BUILTIN_DETECTORS, DetectorLoadError, load_detector, resolve_model_path
from detectors.faceboxes.config import PAPER_LEVELS, SMALL_FACE_LEVELS
from detectors.preprocess import resize_for_detection
from detectors.runtime import OnnxFaceDetector, _parse_levels, format_levels

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


# ------------------------------------------------------------------------------------------ metadata


def test_format_levels_round_trip() -> None:
    assert format_levels(PAPER_LEVELS) == "32:32/4,64/2,128/1;64:256/1;128:512/1"
    assert format_levels(SMALL_FACE_LEVELS) == "16:16/2;32:32/4,64/2,128/1;64:256/1;128:512/1"
    assert _parse_levels(format_levels(SMALL_FACE_LEVELS)) == SMALL_FACE_LEVELS


@pytest.mark.parametrize("variant", ["small", "paper"])
def test_exported_metadata(exported_faceboxes, variant: str) -> None:
    exported = exported_faceboxes(variant)
    proto = onnx.load(str(exported.path))
    metadata = {entry.key: entry.value for entry in proto.metadata_props}
    assert metadata["facetrack_model"] == f"faceboxes-{variant}"
    assert _parse_levels(metadata["anchor_levels"]) == exported.model.config.levels
    assert metadata["pad_multiple"] == "32"
    detector = load_detector(exported.path, score_threshold=0.5, threads=1, verify=False)
    assert detector.name == f"faceboxes-{variant}"
    assert detector.levels == exported.model.config.levels
    assert detector.pad_multiple == 32
    assert detector.providers[-1] == "CPUExecutionProvider"


# -------------------------------------------------------------------------------------------- parity


@pytest.mark.parametrize("variant", ["small", "paper"])
@pytest.mark.parametrize(("height", "width"), [(160, 224), (96, 352)])
def test_onnx_matches_pytorch(exported_faceboxes, variant: str, height: int, width: int) -> None:
    from detectors.anchors import generate_anchors
    from detectors.training.export import InferenceWrapper

    exported = exported_faceboxes(variant)
    generator = torch.Generator().manual_seed(height * width)
    images = torch.rand(1, 3, height, width, generator=generator) * 255
    with torch.no_grad():
        expected_deltas, expected_scores = InferenceWrapper(exported.model).eval()(images)
    deltas, scores = _session(exported.path).run(None, {"images": images.numpy()})
    count = len(generate_anchors(exported.model.config.levels, height, width))
    assert deltas.shape == (1, count, 4) and scores.shape == (1, count)
    assert np.max(np.abs(deltas - expected_deltas.numpy())) < 1e-3
    assert np.max(np.abs(scores - expected_scores.numpy())) < 1e-4
    assert np.all((scores >= 0) & (scores <= 1))


def test_inference_wrapper_scores_are_face_softmax() -> None:
    from detectors.training.export import InferenceWrapper

    class Fixed(torch.nn.Module):
        def forward(self, images):
            logits = torch.tensor([[[0.0, 0.0], [0.0, np.log(3.0)], [5.0, -5.0]]])
            return torch.zeros(1, 3, 4), logits

    _, scores = InferenceWrapper(Fixed())(torch.zeros(1, 3, 32, 32))
    np.testing.assert_allclose(scores.numpy(), [[0.5, 0.75, 1 / (1 + np.exp(10))]], rtol=1e-5)


# -------------------------------------------------------------------------------------- runtime API


@pytest.fixture(scope="module")
def detector(exported_faceboxes) -> OnnxFaceDetector:
    return load_detector(exported_faceboxes("small").path, score_threshold=0.5, threads=1, verify=False)


def _check_detections(detections: np.ndarray, height: int, width: int, threshold: float = 0.5) -> None:
    assert detections.dtype == np.float32
    assert detections.ndim == 2 and detections.shape[1] == 5
    boxes, scores = detections[:, :4], detections[:, 4]
    assert np.all(np.isfinite(detections))
    assert np.all(boxes[:, [0, 2]] >= 0) and np.all(boxes[:, [0, 2]] <= width)
    assert np.all(boxes[:, [1, 3]] >= 0) and np.all(boxes[:, [1, 3]] <= height)
    assert np.all(boxes[:, 2] >= boxes[:, 0]) and np.all(boxes[:, 3] >= boxes[:, 1])
    assert np.all(scores >= threshold) and np.all(scores <= 1)
    assert np.all(np.diff(scores) <= 0), "detections must be sorted by descending score"


def _noise(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize(
    "shape",
    [(1, 1, 3), (1, 1), (333, 517, 3), (517, 333, 3), (4000, 3000, 3), (240, 320), (120, 160, 1), (181, 243, 4)],
)
def test_detect_on_odd_inputs(detector: OnnxFaceDetector, shape: tuple[int, ...]) -> None:
    detections = detector.detect(_noise(shape))
    _check_detections(detections, shape[0], shape[1])


def test_detect_finds_candidates_on_noise(detector: OnnxFaceDetector) -> None:
    # the seeded random model scores some anchors above 0.5 on noise, so the checks above see boxes
    detections = detector.detect(_noise((333, 517, 3)))
    assert len(detections) > 0
    _check_detections(detections, 333, 517)


def test_detect_large_frame_is_downscaled_and_rescaled(exported_faceboxes) -> None:
    detector = load_detector(exported_faceboxes("small").path, score_threshold=0.3, threads=1, verify=False)
    blocks = _noise((512, 384, 3), seed=3)
    big = cv2.resize(blocks, (3000, 4000), interpolation=cv2.INTER_NEAREST)  # 4000 x 3000 uint8
    detections = detector.detect(big)
    _check_detections(detections, 4000, 3000, 0.3)
    # the network sees exactly the detector's resize to 768 x 1024, so detections scale by 1 / 0.256
    small = resize_for_detection(big, (768, 1024))
    reference = detector.detect(small)
    assert len(reference) > 0 and len(detections) == len(reference)
    np.testing.assert_allclose(detections[:, :4], reference[:, :4] / 0.256, rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(detections[:, 4], reference[:, 4], rtol=1e-6)


@pytest.fixture(scope="module")
def model_recommending_min_side(exported_faceboxes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded test model with ``min_input_side`` = 640 in its metadata."""
    proto = onnx.load(str(exported_faceboxes("small").path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "min_input_side", "640"
    path = tmp_path_factory.mktemp("onnx-min-side") / "faceboxes-min-side.onnx"
    onnx.save(proto, str(path))
    return path


def test_small_frames_are_enlarged_to_the_recommended_side(exported_faceboxes, model_recommending_min_side: Path) -> None:
    detector = load_detector(model_recommending_min_side, score_threshold=0.1, threads=1, verify=False)
    assert detector.recommended_min_side == 640
    frame = _noise((240, 320, 3), seed=4)
    detections = detector.detect(frame)
    _check_detections(detections, 240, 320, 0.1)
    # the network sees the frame enlarged to 640 x 480, so detections scale by 1 / 2
    reference = detector.detect(resize_for_detection(frame, (640, 480)))
    assert len(reference) > 0 and len(detections) == len(reference)
    np.testing.assert_allclose(detections[:, :4], reference[:, :4] / 2, rtol=1e-4, atol=1e-2)
    # min_side=0 turns the enlargement off: the frame goes in at its own size
    unenlarged = load_detector(model_recommending_min_side, score_threshold=0.3, threads=1, verify=False, min_side=0)
    plain = load_detector(exported_faceboxes("small").path, score_threshold=0.3, threads=1, verify=False)
    assert plain.recommended_min_side == 0  # no metadata: never enlarged
    np.testing.assert_array_equal(unenlarged.detect(frame), plain.detect(frame))


def test_models_asking_for_box_voting_get_it(exported_faceboxes, tmp_path: Path) -> None:
    proto = onnx.load(str(exported_faceboxes("small").path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "vote_max_size", "1000"
    path = tmp_path / "faceboxes-voting.onnx"
    onnx.save(proto, str(path))
    voting = load_detector(path, score_threshold=0.1, threads=1, verify=False)
    plain = load_detector(exported_faceboxes("small").path, score_threshold=0.1, threads=1, verify=False)
    assert voting.post.vote_max_size == 1000.0 and plain.post.vote_max_size is None
    frame = _noise((200, 280, 3), seed=11)
    voted, kept = voting.detect(frame), plain.detect(frame)
    # voting keeps NMS's faces and scores and only moves boxes
    np.testing.assert_array_equal(voted[:, 4], kept[:, 4])
    assert not np.allclose(voted[:, :4], kept[:, :4])


def test_grayscale_and_bgra_equal_their_bgr_conversion(detector: OnnxFaceDetector) -> None:
    gray = _noise((150, 210), seed=5)
    bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    expected = detector.detect(bgr)
    assert len(expected) > 0
    np.testing.assert_array_equal(detector.detect(gray), expected)
    np.testing.assert_array_equal(detector.detect(gray[..., None]), expected)
    colour = _noise((150, 210, 3), seed=6)
    bgra = np.concatenate([colour, np.full((150, 210, 1), 17, np.uint8)], axis=2)
    np.testing.assert_array_equal(detector.detect(bgra), detector.detect(colour))


def test_score_threshold_is_applied(exported_faceboxes) -> None:
    path = exported_faceboxes("small").path
    frame = _noise((200, 280, 3), seed=9)
    low = load_detector(path, score_threshold=0.3, threads=1, verify=False).detect(frame)
    high = load_detector(path, score_threshold=0.7, threads=1, verify=False).detect(frame)
    _check_detections(low, 200, 280, 0.3)
    _check_detections(high, 200, 280, 0.7)
    assert len(high) < len(low)


def test_empty_frame_raises(detector: OnnxFaceDetector) -> None:
    with pytest.raises(ValueError):
        detector.detect(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(ValueError):
        detector.detect(np.zeros((0, 10), np.uint8))


# ------------------------------------------------------------------------------------- load errors


def test_missing_file_raises_load_error(tmp_path: Path) -> None:
    with pytest.raises(DetectorLoadError, match="not found"):
        load_detector(tmp_path / "missing.onnx")


def test_text_file_named_onnx_raises_load_error(tmp_path: Path) -> None:
    fake = tmp_path / "fake.onnx"
    fake.write_text("this is not a model\n")
    with pytest.raises(DetectorLoadError, match="not a valid ONNX model"):
        load_detector(fake)


def test_onnx_without_facetrack_metadata_raises_load_error(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    node = helper.make_node("Identity", ["images"], ["out"])
    graph = helper.make_graph(
        [node],
        "plain",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, None, None])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, None, None])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "plain.onnx"
    onnx.save(model, str(path))
    assert _session(path) is not None  # a valid ONNX model ...
    with pytest.raises(DetectorLoadError, match="metadata missing"):
        load_detector(path)  # ... but not a FaceTrack detector


def test_unknown_builtin_name_raises_load_error() -> None:
    with pytest.raises(DetectorLoadError, match="unknown detector 'retinaface'"):
        load_detector("retinaface")
    with pytest.raises(DetectorLoadError):
        resolve_model_path("no_such_detector")


@pytest.mark.parametrize(("name", "filename"), BUILTIN_DETECTORS.items())
def test_builtin_names_resolve_to_the_committed_weights(name: str, filename: str) -> None:
    """A checkout has the weights (detectors/weights/*.onnx are committed): every name resolves."""
    path = resolve_model_path(name)
    assert path == detectors.WEIGHTS_DIR / filename and path.is_file()


@pytest.mark.parametrize("name", BUILTIN_DETECTORS)
def test_builtin_name_without_its_weights_file_says_not_installed(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(detectors, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(DetectorLoadError, match=f"the '{name}' detector weights are not installed"):
        resolve_model_path(name)
    with pytest.raises(DetectorLoadError, match="not installed"):
        load_detector(name)
