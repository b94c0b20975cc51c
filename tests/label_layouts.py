"""Tiny synthetic face folders: the same faces written as Pascal VOC, YOLO and WIDER FACE labels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

#: Image size (width, height) and per image the ``x1, y1, x2, y2`` faces (sizes over the AP buckets).
SIZE = (192, 160)
FACES: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    "cam1_0001": ((10, 10, 90, 90), (100, 20, 140, 60), (120, 100, 144, 124)),
    "cam1_0002": ((30, 40, 94, 104), (150, 12, 180, 42)),
    "cam2_0001": ((60, 50, 100, 90),),
    "cam2_0002": (),
}


def _write_images(folder: Path) -> None:
    (folder / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for stem, faces in FACES.items():
        image = rng.integers(0, 60, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
        for x1, y1, x2, y2 in faces:
            cv2.rectangle(image, (x1, y1), (x2 - 1, y2 - 1), (160, 180, 210), -1)
        cv2.imwrite(str(folder / "images" / f"{stem}.jpg"), image)


def write_voc(folder: Path) -> Path:
    """``folder/images/*.jpg`` + ``folder/annotations/*.xml``."""
    _write_images(folder)
    (folder / "annotations").mkdir()
    for stem, faces in FACES.items():
        objects = "".join(
            f"<object><name>face</name><difficult>0</difficult><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
            f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
            for x1, y1, x2, y2 in faces
        )
        (folder / "annotations" / f"{stem}.xml").write_text(f"<annotation>{objects}</annotation>")
    return folder


def write_yolo(folder: Path) -> Path:
    """``folder/images/*.jpg`` + ``folder/labels/*.txt`` (normalised ``class cx cy w h``) + classes.txt."""
    _write_images(folder)
    (folder / "labels").mkdir()
    width, height = SIZE
    (folder / "labels" / "classes.txt").write_text("face\n")
    for stem, faces in FACES.items():
        lines = [f"0 {(x1 + x2) / 2 / width} {(y1 + y2) / 2 / height} {(x2 - x1) / width} {(y2 - y1) / height}"
                 for x1, y1, x2, y2 in faces]
        (folder / "labels" / f"{stem}.txt").write_text("".join(f"{line}\n" for line in lines))
    return folder


def write_wider(folder: Path) -> Path:
    """``folder/images/*.jpg`` + ``folder/wider_face_train_bbx_gt.txt``."""
    _write_images(folder)
    lines = []
    for stem, faces in FACES.items():
        lines += [f"{stem}.jpg", str(len(faces))]
        lines += [f"{x1} {y1} {x2 - x1} {y2 - y1} 0 0 0 0 0 0" for x1, y1, x2, y2 in faces] or ["0 0 0 0 0 0 0 0 0 0"]
    (folder / "wider_face_train_bbx_gt.txt").write_text("\n".join(lines) + "\n")
    return folder
