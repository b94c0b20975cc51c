"""The committed detector weights: loadable without torch, accurate on the demo clip and dev set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from detectors import BUILTIN_DETECTORS, WEIGHTS_DIR, load_detector
from detectors.boxes import pairwise_iou

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "faces" / "dev"

#: Regression guard: AP each shipped detector must keep on ../shared/data/faces/dev at default
#: settings, just under what the committed weights measure as tracking runs them (face verifier
#: rejecting only: FaceBoxes .910 / .752 / .505, AInnoFace .858 / .832 / .667). The product goals are
#: tracked in the model cards, not asserted here.
DEV_AP_FLOOR = {
    "faceboxes": {">=64": 0.89, "32-64": 0.74, "16-32": 0.49},
    "ainnoface": {">=64": 0.83, "32-64": 0.81, "16-32": 0.64},
}
#: The same as ``evaluate`` and ``detect`` run them, re-ranked by the verifier (FaceBoxes .923 / .767 /
#: .542, AInnoFace .863 / .833 / .683).
RERANKED_DEV_AP_FLOOR = {
    "faceboxes": {">=64": 0.91, "32-64": 0.755, "16-32": 0.53},
    "ainnoface": {">=64": 0.85, "32-64": 0.82, "16-32": 0.67},
}


@pytest.fixture(params=sorted(DEV_AP_FLOOR))
def shipped_detector(request: pytest.FixtureRequest) -> str:
    """Name of each detector whose weights are committed."""
    weights = BUILTIN_DETECTORS[request.param]
    if not (WEIGHTS_DIR / weights).exists():
        pytest.skip(f"detectors/weights/{weights} is not installed")
    return request.param


def test_runtime_loads_and_detects_without_torch(shipped_detector: str) -> None:
    script = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "from detectors import load_detector\n"
        f"detections = load_detector({shipped_detector!r}).detect(np.zeros((480, 640, 3), np.uint8))\n"
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


def test_shipped_detector_finds_the_demo_faces(shipped_detector: str) -> None:
    detector = load_detector(shipped_detector, threads=2)  # the model's recommended threshold
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
@pytest.mark.parametrize("rerank", [False, True], ids=["tracking", "reranked"])
def test_shipped_detector_dev_ap_does_not_regress(shipped_detector: str, rerank: bool) -> None:
    from detectors.datasets import read_voc_folder
    from detectors.evaluation.runner import evaluate_detector

    detector = load_detector(shipped_detector, score_threshold=0.05, threads=2, rerank=rerank)
    results, _ = evaluate_detector(detector.detect, read_voc_folder(DEV))
    floors = (RERANKED_DEV_AP_FLOOR if rerank else DEV_AP_FLOOR)[shipped_detector]
    for bucket, floor in floors.items():
        assert results[bucket]["ap"] >= floor, (bucket, results[bucket]["ap"])
