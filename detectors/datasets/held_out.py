"""The held-out split of a labelled folder used by the small companion networks' training, and the
walk over its images.

Images are split by name: those whose CRC32 is 0 modulo :data:`HOLDOUT_MODULUS` are held out, so the
split does not depend on the folder's order or size.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from detectors.datasets.sample import FaceSample

#: One image in ten is held out.
HOLDOUT_MODULUS = 10


def is_held_out(stem: str) -> bool:
    """Whether the image named ``stem`` is in the held-out split."""
    return zlib.crc32(stem.encode("utf-8")) % HOLDOUT_MODULUS == 0


def labelled_images(samples: Sequence[FaceSample], seed: int) -> Iterator[tuple[FaceSample, np.ndarray, np.random.Generator, bool]]:
    """Each readable sample with its BGR image, a random generator of its own (``(seed, index)``) and
    whether it is held out; unreadable images are skipped."""
    for index, sample in enumerate(samples):
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        if image is not None:
            yield sample, image, np.random.default_rng((seed, index)), is_held_out(sample.stem)
