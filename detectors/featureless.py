"""Featureless frames: images with no face and almost no structure, as every real video has them.

Black frames at the start and end, fades, dark scenes, flat title-card backgrounds, sensor noise
and heavily compressed frames. A face detector must find nothing on them; they serve as a
false-positive benchmark and test (:data:`BENCHMARK_KINDS`) and as generated hard negatives in
training (:func:`random_featureless_frame`). numpy + OpenCV only.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

#: (rng, height, width) -> HxWx3 uint8 BGR frame.
FrameMaker = Callable[[np.random.Generator, int, int], np.ndarray]


def flat(value: float | tuple[float, float, float]) -> FrameMaker:
    """A frame of one grey level (or BGR colour)."""
    return lambda rng, height, width: np.full((height, width, 3), value, dtype=np.uint8)


def dark_noise(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A dark scene's sensor noise: level 5-25, Gaussian noise of std 2-8, partly per channel."""
    level, std = rng.uniform(5, 25), rng.uniform(2, 8)
    luma = rng.normal(level, std, (height, width, 1))
    chroma = rng.normal(0, std / 3, (height, width, 3))
    return np.clip(luma + chroma, 0, 255).astype(np.uint8)


def blurred_noise(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Smooth blotches: noise on a coarse grid enlarged with bicubic interpolation."""
    cell = int(rng.integers(16, 96))
    coarse = rng.uniform(0, 255, (max(height // cell, 2), max(width // cell, 2), 3)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def gradient(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A linear blend between two random colours in a random direction."""
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    position = xs * np.cos(angle) + ys * np.sin(angle)
    position = (position - position.min()) / max(float(np.ptp(position)), 1.0)
    start, end = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    return (start + position[..., None] * (end - start)).astype(np.uint8)


def stripes(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A regular texture: a sinusoidal grating of random period, angle and contrast."""
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, 120)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    wave = np.sin(2 * np.pi * (xs * np.cos(angle) + ys * np.sin(angle)) / period)
    mean, amplitude = rng.uniform(40, 215), rng.uniform(10, 40)
    return np.clip(mean + amplitude * wave, 0, 255).astype(np.uint8)[..., None].repeat(3, axis=2)


def heavy_jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` after a JPEG round trip at ``quality`` (blocking and ringing artefacts)."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)


def jpeg_of(maker: FrameMaker, quality: int = 5) -> FrameMaker:
    """``maker``'s frame compressed to JPEG ``quality``."""
    return lambda rng, height, width: heavy_jpeg(maker(rng, height, width), quality)


#: The benchmark and test set: each kind is made at every size of :data:`BENCHMARK_SIZES`.
BENCHMARK_KINDS: dict[str, FrameMaker] = {
    "black": flat(0),
    "near-black": flat(12),
    "grey": flat(128),
    "white": flat(255),
    "gradient": gradient,
    "dark-noise": dark_noise,
    "blurred-noise": blurred_noise,
    "stripes": stripes,
    "jpeg-q5": jpeg_of(blurred_noise),
}

#: (width, height) of the benchmark frames.
BENCHMARK_SIZES: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (1920, 1080))


def benchmark_frame(kind: str, width: int, height: int, seed: int = 0) -> np.ndarray:
    """The benchmark frame of ``kind`` at ``width`` x ``height`` (deterministic for a seed)."""
    return BENCHMARK_KINDS[kind](np.random.default_rng((seed, width, height)), height, width)


def benchmark_frames(seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """``(name, frame)`` for every kind at every size, e.g. ``("black 640x480", frame)``."""
    return [(f"{kind} {width}x{height}", benchmark_frame(kind, width, height, seed))
            for kind in BENCHMARK_KINDS for width, height in BENCHMARK_SIZES]


def random_featureless_frame(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random featureless frame for training: a flat frame of a random level or colour, a
    gradient, dark noise, blurred noise or stripes (equally likely), then a heavy JPEG round
    trip (quality 3-20) with probability 0.3."""
    kind = int(rng.integers(5))
    if kind == 0:
        level = rng.uniform(0, 255)
        frame = flat(tuple(np.clip(level + rng.normal(0, 20, 3), 0, 255)))(rng, height, width)
    else:
        frame = (gradient, dark_noise, blurred_noise, stripes)[kind - 1](rng, height, width)
    if rng.random() < 0.3:
        frame = heavy_jpeg(frame, int(rng.integers(3, 21)))
    return frame
