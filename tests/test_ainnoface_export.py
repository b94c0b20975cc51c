"""AInnoFace ONNX export: metadata, parity with PyTorch, and the unchanged FaceTrack runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from detectors import load_detector
from detectors.ainnoface import AInnoFaceInferenceWrapper, build_ainnoface
from detectors.ainnoface.export import export_ainnoface_onnx
from detectors.anchors import generate_anchors
from detectors.runtime import _parse_levels


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """A seeded small AInnoFace whose first step rejects P3 and keeps P4, scores ~0.73, exported."""
    torch.set_num_threads(1)
    torch.manual_seed(1234)
    model = build_ainnoface("small").eval()
    with torch.no_grad():
        model.first_step.cls_pred_maxout.bias.view(2, -1)[:, 0] = -10.0  # P3: p1 ~ 0 -> rejected
        model.first_step.cls_pred.bias.fill_(3.0)  # P4: p1 ~ 0.95 -> kept
        model.second_step.cls_pred_maxout.bias.view(2, -1)[:, 0] = 1.0
        model.second_step.cls_pred.bias.fill_(1.0)
    path = tmp_path_factory.mktemp("onnx-ainnoface") / "ainnoface-small.onnx"
    export_ainnoface_onnx(model, path, {"note": "test"})
    return model, path


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def test_metadata_and_size(exported) -> None:
    model, path = exported
    metadata = {entry.key: entry.value for entry in onnx.load(str(path)).metadata_props}
    assert metadata["facetrack_model"] == "ainnoface-small"
    assert _parse_levels(metadata["anchor_levels"]) == model.config.levels
    assert metadata["pad_multiple"] == "32"
    assert metadata["note"] == "test"
    assert path.stat().st_size < 20e6


@pytest.mark.parametrize(("height", "width"), [(160, 224), (96, 352)])
def test_onnx_matches_pytorch(exported, height: int, width: int) -> None:
    model, path = exported
    images = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(height + width)) * 255
    with torch.no_grad():
        expected_deltas, expected_scores = AInnoFaceInferenceWrapper(model)(images)
    deltas, scores = _session(path).run(None, {"images": images.numpy()})
    count = len(generate_anchors(model.config.levels, height, width))
    assert deltas.shape == (1, count, 4) and scores.shape == (1, count)
    assert np.max(np.abs(deltas - expected_deltas.numpy())) < 1e-3
    assert np.max(np.abs(scores - expected_scores.numpy())) < 1e-4
    p3 = (height // 8) * (width // 8) * 2
    assert np.all(scores[0, :p3] == 0) and np.all(scores[0, p3:] > 0.3)  # in-graph first-step filter


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((1, 1), np.uint8),
        np.full((120, 90), 128, np.uint8),
        np.random.default_rng(0).integers(0, 255, (70, 100, 4), dtype=np.uint8),
        np.random.default_rng(1).integers(0, 255, (333, 517, 3), dtype=np.uint8),
    ],
    ids=["1x1", "gray", "bgra", "333x517"],
)
def test_runtime_detects_with_the_exported_model(exported, frame: np.ndarray) -> None:
    _, path = exported
    # the network's own boxes: the flat-box guard would judge a 1x1 frame flat (and the verifier a crop of it)
    detector = load_detector(path, score_threshold=0.3, threads=1, flat_box_guard=False, verify=False)
    assert detector.name == "ainnoface-small" and detector.pad_multiple == 32
    detections = detector.detect(frame)
    assert detections.dtype == np.float32 and detections.ndim == 2 and detections.shape[1] == 5
    assert len(detections) > 0  # second-step scores ~0.73 on the unfiltered levels
    assert np.all(detections[:, 4] >= 0.3)
    assert np.all(detections[:, [0, 2]] <= frame.shape[1]) and np.all(detections[:, [1, 3]] <= frame.shape[0])


def test_checkpoint_export_round_trip(tmp_path: Path) -> None:
    from detectors.ainnoface.export import export_ainnoface_checkpoint
    from detectors.ainnoface.training import model_config_dict

    torch.manual_seed(5)
    model = build_ainnoface("small", fpn_channels=32).eval()
    checkpoint = tmp_path / "best.pt"
    torch.save({"model": model.state_dict(), "model_config": model_config_dict(model), "epoch": 3}, checkpoint)
    path = export_ainnoface_checkpoint(checkpoint, tmp_path / "out.onnx", {"trained_on": "toy"})
    images = torch.rand(1, 3, 64, 96) * 255
    with torch.no_grad():
        expected_deltas, expected_scores = AInnoFaceInferenceWrapper(model)(images)
    deltas, scores = _session(path).run(None, {"images": images.numpy()})
    assert np.max(np.abs(deltas - expected_deltas.numpy())) < 1e-3
    assert np.max(np.abs(scores - expected_scores.numpy())) < 1e-4
    metadata = {entry.key: entry.value for entry in onnx.load(str(path)).metadata_props}
    assert metadata["epoch"] == "3" and metadata["trained_on"] == "toy"
