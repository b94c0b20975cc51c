"""benchmarks/pasted_faces.py: faces of the fitting split only, pasted whole and apart, labelled where they land."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import pasted_faces  # noqa: E402
from detectors.boxes import box_sides, pairwise_iou  # noqa: E402
from detectors.datasets import read_face_folder  # noqa: E402
from detectors.verifier.samples import is_held_out  # noqa: E402
from tests.label_layouts import FACES, write_voc  # noqa: E402

FACE_COLOUR = (160, 180, 210)  # the colour label_layouts paints its faces with


def test_sources_are_the_large_faces_of_the_images_the_verifier_fits_on(tmp_path: Path) -> None:
    samples = read_face_folder(write_voc(tmp_path / "voc"))
    sources = pasted_faces.face_sources(samples)
    expected = sum(1 for stem, faces in FACES.items() if not is_held_out(stem)
                   for x1, y1, x2, y2 in faces if np.sqrt((x2 - x1) * (y2 - y1)) >= pasted_faces.MIN_SOURCE_SIDE)
    assert len(sources) == expected > 0
    assert all(not is_held_out(path.stem) for path, _ in sources)
    assert all(box_sides(box[None])[0] >= pasted_faces.MIN_SOURCE_SIDE for _, box in sources)


def test_written_images_hold_labelled_faces_where_they_were_pasted(tmp_path: Path) -> None:
    samples = read_face_folder(write_voc(tmp_path / "voc"))
    sources = pasted_faces.face_sources(samples)
    out = tmp_path / "pasted"
    faces = pasted_faces.write_folder(out, 12, sources, samples, seed=0)
    written = read_face_folder(out)
    assert len(written) == 12 and sum(len(sample.boxes) for sample in written) == faces > 12
    for sample in written:
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        height, width = image.shape[:2]
        boxes = sample.boxes
        assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2] <= width) and np.all(boxes[:, 3] <= height)
        assert np.all(box_sides(boxes) >= pasted_faces.PASTED_SIDE[0] - 1)
        overlaps = pairwise_iou(boxes, boxes) - np.eye(len(boxes))
        assert np.all(overlaps <= 0)  # no face covers another
        for x1, y1, x2, y2 in boxes:  # the face's own pixels sit inside its label
            centre = image[int((y1 + y2) / 2), int((x1 + x2) / 2)].astype(int)
            assert np.abs(centre - FACE_COLOUR).max() <= 20, centre


def test_the_same_seed_writes_the_same_images(tmp_path: Path) -> None:
    samples = read_face_folder(write_voc(tmp_path / "voc"))
    sources = pasted_faces.face_sources(samples)
    for name in ("a", "b"):
        pasted_faces.write_folder(tmp_path / name, 3, sources, samples, seed=5)
    for path in sorted((tmp_path / "a" / "images").iterdir()):
        assert np.array_equal(cv2.imread(str(path)), cv2.imread(str(tmp_path / "b" / "images" / path.name)))
        stem = path.stem
        assert (tmp_path / "a" / "annotations" / f"{stem}.xml").read_text() == \
            (tmp_path / "b" / "annotations" / f"{stem}.xml").read_text()
