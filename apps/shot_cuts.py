"""Streaming hard-cut (shot boundary) detection: one call per frame, the cut reported on the first
frame of the new shot.

Each frame is shrunk so its long side is ``size`` pixels and converted to HSV. Its score is the mean
absolute difference of H (circular), S and V from the previous small frame, on the 0-255 scale (the
score of PySceneDetect's ``ContentDetector``; pixels nearly black in both frames by V alone), taken after undoing the global translation between the
two frames found by phase correlation (the smaller of the aligned and unaligned differences), so
pans and fast camera motion score like a still camera. A frame is a cut when its score is at least
``min_score`` and either reaches ``threshold`` or is ``ratio`` times the mean score of the last
``window`` frames (cuts between similar shots, such as two people filmed in the same room), and the
current shot has at least ``min_shot_len`` frames. A still shot is also cut where its brightness (V)
alone changes by at least ``still_min`` on average and ``still_ratio`` times its recent mean (at least
0.3), with at least 2 % of the small pixels changing by more than 24 levels (a fade changes every pixel
a little, a cut some of them a lot): a change confined to part of a still frame, such as one grey photo replacing another on the same
background, which the three-channel score dilutes (one grey LFW photo 120 px tall replacing another on a
480x360 card scores 1.9, its brightness alone 5.8, 11 or more times the still frames before it; the
shared clips' highest such ratio within a shot is 6.9). The first frame, and a frame whose size or
channel count differs from the previous one, always start a new shot.

Why not PySceneDetect (``scenedetect`` 0.7.2, measured on 128 px frames): its detectors cost about
0.07 ms per frame, but

- ``ContentDetector`` (threshold 27, no motion compensation) misses cuts between different people in
  the same setting (joined asl-help/asl-thanks and talking-d19/talking-d6 score 19-24) and fires on a
  fast pan (40 px per 640 px frame: 5 false cuts in 100 frames with ``SUPPRESS``, 2 with ``MERGE``,
  which can report a cut up to ``min_scene_len`` frames late); a lower threshold fires on slower pans;
- ``AdaptiveDetector`` finds those cuts and ignores the pan, but compares each frame with frames on
  both sides, so it reports a cut ``window_width`` frames late (2 by default, 1 at least), after the
  tracker has carried identities across it;
- both need a 3-channel frame of constant size (a size change is an assertion error), a
  ``FrameTimecode`` per frame, and the package pulls in click, platformdirs, tqdm and opencv-python
  (not the headless build). This module depends on OpenCV and NumPy only.

Measured on street-1080p (2 shared cores): ``update`` costs about 0.45 ms per 1080p frame, of which the
resize (nearest to 3x the small size, then area averaging) is 0.2-0.3 ms and the rest about 0.2 ms; a
plain area resize of the full frame alone costs 1.4-1.6 ms. On the shared clips no clip has a false
cut (highest in-clip score 13.0, talking-d14) and every join of two of them at 640x480 (272 ordered
pairs) gives exactly one cut, on the first frame of the second clip.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import cv2
import numpy as np

#: Hue is an angle: OpenCV stores 0-179 for 0-358 degrees.
_HUE_TURN = 180
#: Each small pixel averages a _PRESAMPLE x _PRESAMPLE grid of the frame's pixels.
_PRESAMPLE = 3
#: Pixels darker than this (V, 0-255) in both frames compare by V alone: the hue and saturation of a
#: nearly black pixel are rounding noise (a black frame, dark sensor noise and the last frames of a
#: fade to black gave a false cut every few frames without this).
_DARK = 32
#: A still shot's cut changes at least _STILL_CHANGED of the small pixels by more than _STRONG_CHANGE levels of V.
_STRONG_CHANGE, _STILL_CHANGED = 24, 0.02


class ShotCutDetector:
    """Per-frame hard-cut detector; see the module docstring for the rule and its parameters."""

    def __init__(
        self,
        threshold: float = 27.0,
        min_score: float = 15.0,
        ratio: float = 5.0,
        window: int = 8,
        min_shot_len: int = 4,
        size: int = 128,
        still_min: float = 3.0,
        still_ratio: float = 10.0,
    ) -> None:
        if size < 8 or window < 1 or min_shot_len < 1:
            raise ValueError("size must be >= 8, window and min_shot_len >= 1")
        self.threshold = threshold
        self.min_score = min_score
        self.ratio = ratio
        self.min_shot_len = min_shot_len
        self.size = size
        self.still_min = still_min
        self.still_ratio = still_ratio
        self._scores: deque[float] = deque(maxlen=window)
        self._brightness_changes: deque[float] = deque(maxlen=window)
        self.reset()

    def reset(self) -> None:
        """Forget the previous frames: the next frame starts a new shot."""
        # the frame's shape, its small HSV copy and that copy's V as float32
        self._previous: tuple[tuple[int, ...], np.ndarray, np.ndarray] | None = None
        self._shot_len = 0
        self._scores.clear()
        self._brightness_changes.clear()
        #: Score of the last frame passed to :meth:`update` (0.0 when it had nothing to compare with).
        self.score = 0.0

    def update(self, frame: np.ndarray) -> bool:
        """Take the next frame (BGR, BGRA or grayscale, uint8); True if it starts a new shot."""
        small = self._shrink(frame)
        value = small[..., -1].astype(np.float32)  # V, or the gray level
        previous = self._previous
        self._previous = frame.shape, small, value
        if previous is None or previous[0] != frame.shape:
            self._shot_len, self.score = 1, 0.0
            return True
        _, previous_small, previous_value = previous
        shift = _shift(previous_value, value)
        # the comparison (unaligned or aligned) with the smaller three-channel score, all three of its measures
        self.score, brightness, strongly_changed = min(
            _difference(previous_small, small, (0, 0)), _difference(previous_small, small, shift))
        recent = max(float(np.mean(self._scores)), 1.0) if self._scores else float("inf")
        recent_brightness = max(float(np.mean(self._brightness_changes)), 0.3) if self._scores else float("inf")
        is_cut = self._shot_len >= self.min_shot_len and (
            (self.score >= self.min_score and (self.score >= self.threshold or self.score >= self.ratio * recent))
            or (brightness >= self.still_min and brightness >= self.still_ratio * recent_brightness
                and strongly_changed >= _STILL_CHANGED)
        )
        if is_cut:
            self._shot_len = 1
        else:
            self._shot_len += 1
            self._scores.append(self.score)
            self._brightness_changes.append(brightness)
        return is_cut

    def _shrink(self, frame: np.ndarray) -> np.ndarray:
        """HSV copy with the long side at most ``size`` (H, W, 3), or V only (H, W, 1) for grayscale."""
        if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or frame.size == 0:
            raise ValueError(f"expected a non-empty uint8 image, got {frame.dtype} {frame.shape}")
        channels = 1 if frame.ndim == 2 else frame.shape[2]
        if channels not in (1, 3, 4):
            raise ValueError(f"expected 1, 3 or 4 channels, got {channels}")
        height, width = frame.shape[:2]
        scale = min(self.size / max(height, width), 1.0)
        target = (max(round(width * scale), 1), max(round(height * scale), 1))
        if scale < 1 / _PRESAMPLE:  # averaging every pixel of a 1080p frame costs 5x more
            frame = cv2.resize(frame, (target[0] * _PRESAMPLE, target[1] * _PRESAMPLE), interpolation=cv2.INTER_NEAREST)
        small = cv2.resize(frame, target, interpolation=cv2.INTER_AREA)
        if channels == 1:
            return small.reshape(small.shape[0], small.shape[1], 1)
        if channels == 4:
            small = cv2.cvtColor(small, cv2.COLOR_BGRA2BGR)
        return cv2.cvtColor(small, cv2.COLOR_BGR2HSV)


def _shift(previous: np.ndarray, current: np.ndarray) -> tuple[int, int]:
    """Whole-pixel translation of ``current`` relative to ``previous``; (0, 0) past a quarter of the frame."""
    height, width = current.shape
    if height < 8 or width < 8:
        return 0, 0
    (dx, dy), _ = cv2.phaseCorrelate(previous, current)
    dx, dy = round(dx), round(dy)
    if abs(dx) > width // 4 or abs(dy) > height // 4:
        return 0, 0
    return dx, dy


def _difference(previous: np.ndarray, current: np.ndarray, shift: tuple[int, int]) -> tuple[float, float, float]:
    """Mean absolute channel difference of the overlap of ``current`` and ``previous`` moved by ``shift``
    (the first of 3 channels is hue, compared on the circle), that of the last channel (V) alone, and
    the share of pixels whose V changed by more than :data:`_STRONG_CHANGE`."""
    dx, dy = shift
    height, width = current.shape[:2]
    before = previous[max(-dy, 0) : height - max(dy, 0), max(-dx, 0) : width - max(dx, 0)]
    after = current[max(dy, 0) : height - max(-dy, 0), max(dx, 0) : width - max(-dx, 0)]
    delta = cv2.absdiff(before, after)
    if delta.ndim == 3:  # HSV, not a gray level
        hue = delta[..., 0]
        np.minimum(hue, _HUE_TURN - hue, out=hue)
        dark = (before[..., 2] < _DARK) & (after[..., 2] < _DARK)
        delta[dark, :2] = 0
    brightness = delta[..., -1] if delta.ndim == 3 else delta
    return float(delta.mean()), float(brightness.mean()), float((brightness > _STRONG_CHANGE).mean())


def shot_starts(frames: Iterable[np.ndarray], detector: ShotCutDetector | None = None) -> list[int]:
    """Index of the first frame of every shot in ``frames`` (0 first, if there are any frames)."""
    detector = detector or ShotCutDetector()
    return [index for index, frame in enumerate(frames) if detector.update(frame)]
