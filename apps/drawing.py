"""Annotation of frames: face boxes with track ids, and an optional FPS overlay."""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from tracker import TrackedFace


def track_colour(track_id: int) -> tuple[int, int, int]:
    """A stable, well-separated BGR colour per track id (golden-ratio hue steps)."""
    hue = (track_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def box_thickness(long_side: int, detected: bool) -> int:
    """Line width of a face box on a frame whose long side is ``long_side`` px: a predicted box is a
    1 px hairline at every size, a detected one 2 px per 1000 px (at least 2, which OpenCV draws
    3 px wide), so the two stay apart at every frame size."""
    return max(2, round(2 * long_side / 1000.0)) if detected else 1


def draw_faces(frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
    """Draw every face box with its id in place; predicted (not detected) boxes are hairlines."""
    long_side = max(frame.shape[0], frame.shape[1])
    scale = long_side / 1000.0
    for face in faces:
        x1, y1, x2, y2 = (int(round(v)) for v in face.box)
        colour = track_colour(face.track_id)
        cv2.rectangle(frame, (x1, y1), (x2, y2), colour, box_thickness(long_side, face.detected), cv2.LINE_AA)
        label = f"{face.track_id}"
        font_scale = max(0.4, 0.6 * scale)
        (text_w, text_h), baseline = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        top = max(y1 - text_h - baseline - 2, 0)
        cv2.rectangle(frame, (x1, top), (x1 + text_w + 4, top + text_h + baseline + 2), colour, -1)
        cv2.putText(frame, label, (x1 + 2, top + text_h + 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return frame


def draw_fps(frame: np.ndarray, fps: float, faces: int) -> np.ndarray:
    """Write the processing rate and face count in the top-left corner (live display)."""
    text = f"{fps:5.1f} fps  {faces} faces"
    cv2.putText(frame, text, (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(frame, text, (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 1, cv2.LINE_AA)
    return frame
