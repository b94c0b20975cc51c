"""Running a detector over an annotated folder: detections, timing and AP per size bucket."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from detectors.datasets.errors import LabelError
from detectors.datasets.sample import FaceSample
from detectors.evaluation.ap import SIZE_BUCKETS, evaluate_detections


def run_on_samples(
    detect: Callable[[np.ndarray], np.ndarray], samples: Sequence[FaceSample]
) -> tuple[list[np.ndarray], float]:
    """Detections per sample and the mean milliseconds per ``detect`` call (image loading excluded).

    Raises:
        LabelError: An image cannot be decoded (the message names it).
    """
    detections, seconds = [], 0.0
    for sample in samples:
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise LabelError(f"{sample.image_path}: cannot decode this image (damaged, or not an image)")
        started = time.perf_counter()
        detections.append(detect(image))
        seconds += time.perf_counter() - started
    return detections, 1000.0 * seconds / max(len(samples), 1)


def evaluate_detector(
    detect: Callable[[np.ndarray], np.ndarray], samples: Sequence[FaceSample]
) -> tuple[dict[str, dict[str, float]], float]:
    """AP per bucket (see :func:`evaluate_detections`) and mean ms per image."""
    detections, ms_per_image = run_on_samples(detect, samples)
    return evaluate_detections(samples, detections), ms_per_image


def format_ap_row(results: dict[str, dict[str, float]]) -> list[str]:
    """AP values in :data:`SIZE_BUCKETS` order, formatted ``.xxx`` (``-`` without faces)."""
    return ["-" if np.isnan(results[name]["ap"]) else f"{results[name]['ap']:.3f}" for name in SIZE_BUCKETS]
