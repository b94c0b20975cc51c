"""The committed detector weights: loadable without torch, accurate on the demo clip and dev set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from detectors import WEIGHTS_DIR, load_detector
from detectors.boxes import pairwise_iou

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "faces" / "dev"
FACEBOXES = WEIGHTS_DIR / "faceboxes.onnx"

pytestmark = pytest.mark.skipif(not FACEBOXES.exists(), reason="detectors/weights/faceboxes.onnx is not installed")

#: Regression guard: AP the shipped FaceBoxes must keep on ../shared/data/faces/dev at default
#: settings, just under what the committed weights measure (.851 / .693 / .391). The product goal
#: (.90 / .75 / .50) is tracked in the model card, not asserted here.
DEV_AP_FLOOR = {">=64": 0.83, "32-64": 0.67, "16-32": 0.37}


def test_runtime_loads_and_detects_without_torch() -> None:
    script = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "from detectors import load_detector\n"
        "detections = load_detector('faceboxes').detect(np.zeros((480, 640, 3), np.uint8))\n"
        "assert 'torch' not in sys.modules or sys.modules['torch'] is None\n"
        "print(detections.shape, detections.dtype)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "float32"


def _demo_ground_truth() -> dict[int, np.ndarray]:
    """Visible ground-truth faces per frame (1-based) of media/demo.mp4."""
    boxes: dict[int, list[list[float]]] = {}
    for line in (ROOT / "media" / "demo_gt.txt").read_text().splitlines():
        frame, _, x, y, w, h, visible = (float(v) for v in line.split(",")[:7])
        if visible:
            boxes.setdefault(int(frame), []).append([x, y, x + w, y + h])
    return {frame: np.asarray(rows, np.float32) for frame, rows in boxes.items()}


def test_faceboxes_finds_the_demo_faces() -> None:
    detector = load_detector("faceboxes", threads=2)  # the model's recommended threshold
    truth = _demo_ground_truth()
    capture = cv2.VideoCapture(str(ROOT / "media" / "demo.mp4"))
    found = total = false_positives = 0
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        index += 1
        if index % 10 or index not in truth:
            continue
        detections = detector.detect(frame)
        gt = truth[index]
        iou = pairwise_iou(gt, detections[:, :4]) if len(detections) else np.zeros((len(gt), 0))
        found += int((iou.max(axis=1, initial=0) >= 0.5).sum())
        total += len(gt)
        false_positives += int((iou.max(axis=0, initial=0) < 0.3).sum()) if len(detections) else 0
    capture.release()
    assert total > 30
    assert found / total >= 0.8
    assert false_positives <= 0.1 * total


@pytest.mark.skipif(not DEV.exists(), reason="../shared/data/faces/dev is not available")
def test_faceboxes_dev_ap_does_not_regress() -> None:
    from detectors.datasets import read_voc_folder
    from detectors.evaluation.runner import evaluate_detector

    detector = load_detector("faceboxes", score_threshold=0.05, threads=2)
    results, _ = evaluate_detector(detector.detect, read_voc_folder(DEV))
    for bucket, floor in DEV_AP_FLOOR.items():
        assert results[bucket]["ap"] >= floor, (bucket, results[bucket]["ap"])
