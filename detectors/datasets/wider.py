"""WIDER FACE annotation reader (``wider_face_train_bbx_gt.txt`` style).

Format, per image: a line with the relative image path, a line with the face count ``n``, then
``max(n, 1)`` lines ``x y w h blur expression illumination invalid occlusion pose`` (an image
with no faces has a single all-zero line). Faces flagged ``invalid`` become ignore regions, as
do boxes with zero width or height.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detectors.datasets.errors import LabelError
from detectors.datasets.sample import FaceSample

_INVALID_COLUMN = 7


def read_wider_annotations(annotation_file: str | Path, images_dir: str | Path) -> list[FaceSample]:
    """Read a WIDER FACE ground-truth file; image paths are resolved under ``images_dir``."""
    lines = [line.strip() for line in Path(annotation_file).read_text().splitlines()]
    lines = [line for line in lines if line]
    images_dir = Path(images_dir)
    samples = []
    index = 0
    while index < len(lines):
        image_name = lines[index]
        try:
            count = int(lines[index + 1])
        except (IndexError, ValueError) as error:
            raise LabelError(f"{annotation_file}: expected a face count after {image_name!r}") from error
        rows = lines[index + 2 : index + 2 + max(count, 1)]
        index += 2 + max(count, 1)
        boxes, ignore = [], []
        for row in rows[:count]:
            values = [float(v) for v in row.split()]
            x, y, w, h = values[:4]
            invalid = len(values) > _INVALID_COLUMN and values[_INVALID_COLUMN] == 1
            target = ignore if invalid or w <= 0 or h <= 0 else boxes
            target.append([x, y, x + max(w, 1.0), y + max(h, 1.0)])
        samples.append(
            FaceSample(
                image_path=images_dir / image_name,
                boxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
                ignore=np.asarray(ignore, dtype=np.float32).reshape(-1, 4),
            )
        )
    return samples


#: Ground-truth files of a WIDER FACE folder (``wider_face_train_bbx_gt.txt``, ``..._val_...``).
WIDER_PATTERN = "wider_face_*_bbx_gt.txt"


def read_wider_folder(folder: str | Path) -> list[FaceSample]:
    """Every image of the ``wider_face_*_bbx_gt.txt`` files in ``folder`` that exists under
    ``folder/images``, in file order."""
    folder = Path(folder)
    samples = [
        sample
        for annotation_file in sorted(folder.glob(WIDER_PATTERN))
        for sample in read_wider_annotations(annotation_file, folder / "images")
    ]
    return [sample for sample in samples if sample.image_path.is_file()]
