"""Hard-cut detection: exactly one cut where two clips are joined, none on continuous camera or
subject motion, and any frame size or channel count handled."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import apps.shot_cuts
from apps.shot_cuts import ShotCutDetector, shot_starts

SHARED_MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
REAL_CLIPS = (
    "street-1080p.mp4",
    "carphone-qcif.mp4",
    *(f"talking-d{n}.mp4" for n in (3, 6, 10, 11, 14, 19, 20)),
    *(f"studio-{n}.mp4" for n in range(1, 6)),
    *(f"asl-{name}.mkv" for name in ("help", "school", "thanks")),
)


def read_clip(name: str, size: tuple[int, int] | None = None, limit: int | None = None) -> list[np.ndarray]:
    """Frames of ../shared/media/``name`` (resized to ``size`` if given); skips the test without it."""
    path = SHARED_MEDIA / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    capture = cv2.VideoCapture(str(path))
    frames = []
    while limit is None or len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame if size is None else cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    capture.release()
    assert frames, f"no frames decoded from {path}"
    return frames


def texture(seed: int, height: int = 960, width: int = 1280) -> np.ndarray:
    """A BGR image of random filled circles and rectangles."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), rng.integers(0, 256, 3), np.uint8)
    for _ in range(300):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y, a, b = (int(v) for v in (rng.integers(0, width), rng.integers(0, height), *rng.integers(5, 80, 2)))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), a, colour, -1)
        else:
            cv2.rectangle(image, (x, y), (x + a, y + b), colour, -1)
    return image


def pan_zoom(
    image: np.ndarray, frames: int, speed: float, zoom: float, size: tuple[int, int] = (640, 480)
) -> list[np.ndarray]:
    """``frames`` views of ``image`` moving ``speed`` px per frame (right and half as fast down) while
    zooming in by ``zoom`` per frame."""
    views = []
    for index in range(frames):
        scale = 1 + zoom * index
        matrix = np.array([[scale, 0, -speed * index], [0, scale, -speed * index / 2]], np.float32)
        views.append(cv2.warpAffine(image, matrix, size, borderMode=cv2.BORDER_REFLECT))
    return views


@pytest.mark.parametrize(
    "first, second",
    [
        ("talking-d3.mp4", "studio-1.mp4"),
        ("talking-d19.mp4", "talking-d6.mp4"),  # two people in front of a plain light wall
        ("asl-help.mkv", "asl-thanks.mkv"),  # two people in the same room and framing
    ],
)
def test_one_cut_where_two_real_clips_are_joined(first: str, second: str) -> None:
    before = read_clip(first, (640, 480))
    after = read_clip(second, (640, 480), limit=60)
    assert shot_starts(before + after) == [0, len(before)]


@pytest.mark.parametrize("name", REAL_CLIPS)
def test_no_cut_within_a_real_clip(name: str) -> None:
    assert shot_starts(read_clip(name)) == [0]


@pytest.mark.parametrize(
    "speed, zoom",
    [(3, 0.004), (20, 0.01), (40, 0.0), (80, 0.02), (10, 0.05)],  # up to 80 px per frame or 5 % zoom per frame
)
def test_no_cut_on_a_continuous_pan_and_zoom(speed: float, zoom: float) -> None:
    assert shot_starts(pan_zoom(texture(1), 100, speed, zoom)) == [0]


def test_no_cut_on_a_face_moving_fast() -> None:
    background = texture(3, 480, 640)
    frames = []
    for index in range(40):
        frame = background.copy()
        x = 100 + 11 * index
        cv2.ellipse(frame, (x, 240), (90, 120), 0, 0, 360, (120, 150, 210), -1)
        cv2.circle(frame, (x - 35, 200), 12, (30, 30, 30), -1)
        cv2.circle(frame, (x + 35, 200), 12, (30, 30, 30), -1)
        frames.append(frame)
    assert shot_starts(frames) == [0]


def test_cuts_on_joined_synthetic_shots() -> None:
    frames = pan_zoom(texture(1), 30, 3, 0.004) + pan_zoom(texture(2), 30, 5, 0.0) + pan_zoom(texture(1), 30, 0, 0.01)
    assert shot_starts(frames) == [0, 30, 60]


@pytest.mark.parametrize("convert", [cv2.COLOR_BGR2GRAY, cv2.COLOR_BGR2BGRA])
def test_grayscale_and_bgra_frames(convert: int) -> None:
    shots = pan_zoom(texture(1), 20, 10, 0.01) + pan_zoom(texture(2), 20, 10, 0.01)
    frames = [cv2.cvtColor(frame, convert) for frame in shots]
    assert shot_starts(frames) == [0, 20]


def test_a_frame_of_another_size_or_channel_count_starts_a_shot() -> None:
    frame = texture(1, 480, 640)
    detector = ShotCutDetector()
    half = cv2.resize(frame, (320, 240))
    stream = [frame, frame, half, half, frame[:, :, 0], frame[:, :, 0]]
    assert [detector.update(image) for image in stream] == [True, False, True, False, True, False]


def test_cut_distance_and_reset() -> None:
    a, b = texture(1, 240, 320), texture(2, 240, 320)
    detector = ShotCutDetector(min_shot_len=4)
    # a one-frame flash of other content is one cut, not two
    cuts = [detector.update(image) for image in (a, a, a, a, a, b, a, a, a, a, b)]
    assert cuts == [True, False, False, False, False, True, False, False, False, False, True]
    detector.reset()
    assert detector.update(b) and detector.score == 0.0


def test_bad_frames_raise_value_error() -> None:
    detector = ShotCutDetector()
    for frame in (np.zeros((0, 10, 3), np.uint8), np.zeros((10, 10, 3), np.float32), np.zeros((10, 10, 2), np.uint8)):
        with pytest.raises(ValueError):
            detector.update(frame)


def test_work_per_frame_is_bounded_by_the_small_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[int, ...]] = []
    difference = apps.shot_cuts._difference

    def spy(previous: np.ndarray, current: np.ndarray, shift: tuple[int, int]) -> float:
        compared.append(current.shape)
        return difference(previous, current, shift)

    monkeypatch.setattr(apps.shot_cuts, "_difference", spy)
    frames = [cv2.resize(frame, (3840, 2160)) for frame in pan_zoom(texture(1), 3, 10, 0.0)]
    assert shot_starts(frames) == [0]
    assert compared and all(shape == (72, 128, 3) for shape in compared)


def _grey_photo(seed: int, side: int) -> np.ndarray:
    """A grey, blurred random picture ``side`` px square: a stand-in for a greyscale portrait."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(40, 220, (8, 8), dtype=np.uint8)
    return cv2.cvtColor(cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR)


@pytest.mark.parametrize("side", [120, 200])
def test_one_grey_photo_replacing_another_on_the_same_card_is_a_cut(side: int) -> None:
    """A slideshow: the change is confined to the photo and has no colour, so the three-channel score
    stays far under its minimum; the still shot's brightness change finds every cut."""
    card = np.full((360, 480, 3), 96, np.uint8)
    frames = []
    for shot in range(6):
        frame = card.copy()
        frame[120 - side // 2 : 120 - side // 2 + side, 240 - side // 2 : 240 - side // 2 + side] = _grey_photo(shot, side)
        frames += [frame] * 15
    detector = ShotCutDetector()
    assert shot_starts(frames, detector) == [0, 15, 30, 45, 60, 75]
    assert detector.score < detector.min_score  # the last cut's three-channel score alone would not do


def test_a_fade_to_black_of_a_still_shot_and_dark_noise_are_no_cut() -> None:
    """A fade changes every pixel a little (no still-shot cut); black and dark noise have no hue or
    saturation to compare (nearly black pixels compare by brightness only)."""
    from detectors.featureless import dark_noise

    card = np.full((360, 480, 3), 96, np.uint8)
    card[60:180, 180:300] = _grey_photo(0, 120)
    cv2.circle(card, (240, 280), 40, (40, 90, 200), -1)
    rng = np.random.default_rng(0)
    frames = [card] * 20 + [np.round(card * (1 - (index + 1) / 40)).astype(np.uint8) for index in range(40)]
    frames += [np.zeros_like(card)] * 10 + [dark_noise(rng, 360, 480) for _ in range(20)]
    assert shot_starts(frames) == [0]
