"""Slideshow clips: one photo per shot, scaled onto a plain background, hard cuts between shots.

Used by ``benchmarks/identity.py --slideshow`` and the re-identification tests. A shot without a
photo shows the background alone (a face that is away).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

FRAME_SIZE = (480, 360)
"""Width and height of the clips."""
BACKGROUND = (96, 96, 96)
"""BGR colour of the plain background by default (a cut is easier to see when the next shot's differs)."""


@dataclass(frozen=True)
class Shot:
    """``frames`` frames of ``photo`` (None: the background alone), ``height`` px tall, centred at
    ``centre`` (x, y, in pixels) on a plain ``background`` (BGR); the photo moves by ``drift`` px per
    frame to the right."""

    photo: Path | None
    frames: int
    height: int = 260
    centre: tuple[int, int] = (240, 180)
    drift: float = 0.0
    background: tuple[int, int, int] = BACKGROUND


def shot_frames(shot: Shot) -> list[np.ndarray]:
    """The BGR frames of one shot."""
    width, height = FRAME_SIZE
    blank = np.empty((height, width, 3), np.uint8)
    blank[:] = shot.background
    if shot.photo is None:
        return [blank.copy() for _ in range(shot.frames)]
    photo = cv2.imread(str(shot.photo), cv2.IMREAD_COLOR)
    if photo is None:
        raise ValueError(f"cannot read {shot.photo}")
    side = shot.height
    photo = cv2.resize(photo, (round(photo.shape[1] * side / photo.shape[0]), side), interpolation=cv2.INTER_AREA)
    frames = []
    for index in range(shot.frames):
        frame = blank.copy()
        left = round(shot.centre[0] + index * shot.drift - photo.shape[1] / 2)
        top = round(shot.centre[1] - photo.shape[0] / 2)
        x1, y1 = max(left, 0), max(top, 0)
        x2, y2 = min(left + photo.shape[1], width), min(top + photo.shape[0], height)
        if x2 > x1 and y2 > y1:
            frame[y1:y2, x1:x2] = photo[y1 - top:y2 - top, x1 - left:x2 - left]
        frames.append(frame)
    return frames


def write_slideshow(path: Path, shots: Sequence[Shot], fps: float = 25.0) -> None:
    """Write the shots one after another into ``path`` (MPEG-4 part 2)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, FRAME_SIZE)
    try:
        for shot in shots:
            for frame in shot_frames(shot):
                writer.write(frame)
    finally:
        writer.release()
