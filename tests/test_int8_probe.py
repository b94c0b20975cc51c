"""benchmarks/int8_probe.py: calibration inputs as the detector makes them, and a quantized copy that
still loads as a FaceTrack detector (metadata kept) and finds the demo clip's faces."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("onnx")

from benchmarks.int8_probe import CALIBRATION_SIDE, calibration_inputs, head_convolutions, quantize  # noqa: E402
from detectors import load_detector, resolve_model_path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def demo_frames(tmp_path: Path, count: int) -> list[Path]:
    """The first ``count`` frames of the project's demo clip, enlarged to 960 x 720 (calibration inputs are
    512 px crops), as image files."""
    capture = cv2.VideoCapture(str(ROOT / "media" / "demo.mp4"))
    paths = []
    for index in range(count):
        ok, frame = capture.read()
        assert ok
        paths.append(tmp_path / f"frame{index}.png")
        cv2.imwrite(str(paths[-1]), cv2.resize(frame, (960, 720)))
    capture.release()
    return paths


def test_a_quantized_copy_loads_and_finds_the_demo_faces(tmp_path: Path) -> None:
    import onnx

    detector = load_detector("faceboxes", threads=1, verify=False)
    frames = demo_frames(tmp_path, 3)
    inputs = calibration_inputs(detector, frames)
    assert len(inputs) == 3 and all(batch.shape == (1, 3, CALIBRATION_SIDE, CALIBRATION_SIDE) for batch in inputs)
    assert "run_network" not in vars(detector)  # the recording hook is gone again
    source = resolve_model_path("faceboxes")
    heads = head_convolutions(onnx.load(str(source)))
    assert len(heads) == 8  # a classifier and a regressor per anchor level
    output = quantize(source, tmp_path / "int8.onnx", inputs, "minmax", "qoperator")
    quantized = load_detector(str(output), threads=1, verify=False)
    frame = cv2.imread(str(frames[0]))
    expected, found = detector.detect(frame), quantized.detect(frame)
    assert len(expected) and len(found)
    ious = [max(_iou(box, other) for other in found[:, :4]) for box in expected[expected[:, 4] >= 0.5, :4]]
    assert min(ious) >= 0.5  # every confident float32 face is found again


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
