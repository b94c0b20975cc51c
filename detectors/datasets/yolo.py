"""YOLO reader: ``images/<name>.jpg`` + ``labels/<name>.txt`` with one ``class cx cy w h`` line per box.

Coordinates are normalised to the image (0..1), as Roboflow, CVAT, Label Studio and most
labelling tools export them; sub-folders (``images/train`` + ``labels/train``) are mirrored.
Every labelled box is a face (the class column is not read): export only the face class. An
empty label file is an image without faces; an image without a label file is not read.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from detectors.datasets.errors import LabelError
from detectors.datasets.images import find_image
from detectors.datasets.sample import FaceSample

#: Label files that list class names rather than boxes.
NOT_LABELS = frozenset({"classes.txt"})


def parse_yolo_labels(label_path: Path, width: int, height: int) -> np.ndarray:
    """(N, 4) float32 corner boxes in pixels from one label file of an image ``width`` x ``height``.

    Raises:
        LabelError: On a line that is not ``class cx cy w h`` (e.g. a segmentation polygon).
    """
    boxes = []
    for number, line in enumerate(label_path.read_text().splitlines(), start=1):
        values = line.split()
        if not values:
            continue
        try:  # a wrong number of values fails the unpacking
            cx, cy, w, h = (float(value) for value in values[1:])
        except ValueError:
            raise LabelError(f"{label_path}:{number}: expected 'class cx cy w h', got {line.strip()!r}") from None
        boxes.append([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height])
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4)


def read_yolo_folder(folder: str | Path) -> list[FaceSample]:
    """All labelled images of a YOLO folder, sorted by label path; labels without an image are skipped.

    Raises:
        LabelError: On a malformed label line or an image that cannot be decoded.
    """
    folder = Path(folder)
    labels_dir, images_dir = folder / "labels", folder / "images"
    samples = []
    for label_path in sorted(labels_dir.rglob("*.txt")):
        if label_path.name in NOT_LABELS:
            continue
        relative = label_path.relative_to(labels_dir)
        image_path = find_image(images_dir / relative.parent, label_path.stem)
        if image_path is None:
            continue
        image = cv2.imread(str(image_path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise LabelError(f"cannot read image {image_path}")
        height, width = image.shape[:2]
        samples.append(FaceSample(image_path=image_path, boxes=parse_yolo_labels(label_path, width, height)))
    return samples
