"""Labelled images of faces pasted onto face-free backgrounds: positives that make pasting no cue.

The face verifier learns objects as non-faces from cut-outs pasted onto face-free backgrounds
(``benchmarks/object_negatives.py``); if faces never reach it pasted, "a cut-out on an unrelated
background" becomes a sign of a non-face, and faces that are pasted (the end-to-end tracking
clips paste real face crops through an elliptical mask) or that stand out from their background
are rejected. This tool writes a Pascal VOC folder for ``python start.py train-verifier
--extra-positives DIR``: each image is a face-free background (as the object images have) with one
to three labelled training faces cut out through a feathered ellipse around the face plus a random
margin, scaled to a face side of 24 px up to half the frame's shorter side (enlarged at most 1.5x),
mirrored half the time, none covering another.
Faces come only from the training images the verifier fits on (:func:`detectors.verifier.samples.is_held_out`
false), so its held-out split stays unseen. Nothing written here may be committed (it derives from
outside data). It lives beside the benchmarks because it prepares data; the application never imports it.

Usage: ``python benchmarks/pasted_faces.py TRAIN_SET OUT [--images 1000] [--seed 0]``
"""
from __future__ import annotations

import argparse
import math
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.object_negatives import background, paste  # noqa: E402
from benchmarks.synthetic import crop_face_sprite, elliptical_alpha  # noqa: E402
from detectors.boxes import box_sides, mirror_boxes  # noqa: E402
from detectors.datasets import read_face_folder  # noqa: E402
from detectors.datasets.sample import FaceSample  # noqa: E402
from detectors.datasets.voc import append_face_objects  # noqa: E402
from detectors.training.negatives import overlaps_any  # noqa: E402
from detectors.verifier.samples import is_held_out  # noqa: E402

#: Faces at least this large (px, square root of the box area) are cut out.
MIN_SOURCE_SIDE = 32.0
#: Faces per image, the range of their pasted side (24 px to this share of the frame's shorter side)
#: and of the margin cut out around them (share of the face side, on every edge).
FACES_PER_IMAGE = (1, 3)
PASTED_SIDE = (24, 0.5)
MARGIN = (0.2, 0.6)
#: A face is enlarged at most this much (a small face blown up is a blur, not a face).
MAX_ENLARGEMENT = 1.5

#: A face to cut out: (image path, face box).
Source = tuple[Path, np.ndarray]


def face_sources(samples: Sequence[FaceSample]) -> list[Source]:
    """The labelled faces of :data:`MIN_SOURCE_SIDE` px and up of the images the verifier fits on."""
    return [(sample.image_path, box) for sample in samples if not is_held_out(sample.stem)
            for box in sample.boxes if box_sides(box[None])[0] >= MIN_SOURCE_SIDE]


def face_cutout(image: np.ndarray, box: np.ndarray, side: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The face ``box`` of ``image`` with a random margin, through a feathered ellipse, as BGRA scaled so the
    face measures ``side`` px, mirrored half the time; and the face box within the cut-out."""
    sprite = crop_face_sprite(image, tuple(float(value) for value in box[:4]), margin=float(rng.uniform(*MARGIN)))
    height, width = sprite.image.shape[:2]
    alpha = np.round(elliptical_alpha(height, width) * 255).astype(np.uint8)
    cutout = np.dstack([sprite.image, alpha])
    face = np.array(sprite.face_box, np.float64) * [width, height, width, height]
    scale = side / box_sides(face[None])[0]
    cutout = cv2.resize(cutout, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    face = face * ([cutout.shape[1] / width, cutout.shape[0] / height] * 2)
    if rng.random() < 0.5:
        cutout = np.ascontiguousarray(cutout[:, ::-1])
        face = mirror_boxes(face[None], cutout.shape[1])[0]
    return cutout, face


def compose(sources: Sequence[Source], samples: Sequence[FaceSample], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One image: a face-free background with 1-3 pasted faces (wholly inside it, none covering another),
    and their (N, 4) boxes."""
    frame = background(samples, rng)
    height, width = frame.shape[:2]
    boxes, covered = [], []
    for _ in range(int(rng.integers(FACES_PER_IMAGE[0], FACES_PER_IMAGE[1] + 1))):
        path, box = sources[int(rng.integers(len(sources)))]
        largest = min(PASTED_SIDE[1] * min(height, width), MAX_ENLARGEMENT * box_sides(box[None])[0])
        if largest <= PASTED_SIDE[0]:
            continue
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        side = math.exp(rng.uniform(math.log(PASTED_SIDE[0]), math.log(largest)))
        cutout, face = face_cutout(image, box, side, rng)
        place = free_place(cutout.shape[:2], (height, width), covered, rng)
        if place is None:
            continue
        x0, y0 = place
        frame = paste(frame, cutout, x0, y0)
        boxes.append(face + [x0, y0, x0, y0])
        covered.append(np.array([x0, y0, x0 + cutout.shape[1], y0 + cutout.shape[0]], np.float32))
    return frame, np.array(boxes, np.float64).reshape(-1, 4)


def free_place(size: tuple[int, int], frame: tuple[int, int], covered: Sequence[np.ndarray],
               rng: np.random.Generator, tries: int = 20) -> tuple[int, int] | None:
    """A random top-left corner at which a cut-out of ``size`` (h, w) lies wholly inside ``frame`` (h, w)
    and overlaps none of the ``covered`` (4,) rectangles; None if ``tries`` draws find none."""
    (cut_height, cut_width), (height, width) = size, frame
    if cut_height >= height or cut_width >= width:
        return None
    for _ in range(tries):
        x0, y0 = int(rng.integers(0, width - cut_width + 1)), int(rng.integers(0, height - cut_height + 1))
        box = np.array([x0, y0, x0 + cut_width, y0 + cut_height], np.float32)
        if not overlaps_any(box, np.array(covered, np.float32).reshape(-1, 4)):
            return x0, y0
    return None


def write_folder(out: Path, count: int, sources: Sequence[Source], samples: Sequence[FaceSample], seed: int) -> int:
    """Write ``count`` images as ``out/images/pasted_NNNNN.jpg`` + ``out/annotations/pasted_NNNNN.xml``;
    returns how many faces they hold."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    faces = 0
    for index in range(count):
        frame, boxes = compose(sources, samples, np.random.default_rng((seed, index)))
        stem = f"pasted_{index:05d}"
        cv2.imwrite(str(out / "images" / f"{stem}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
        annotation = ET.Element("annotation")
        append_face_objects(annotation, boxes)
        ET.ElementTree(annotation).write(out / "annotations" / f"{stem}.xml")
        faces += len(boxes)
    return faces


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train_set", type=Path, help="labelled training folder: its faces are pasted, its face-free squares are backgrounds")
    parser.add_argument("out", type=Path, help="VOC folder to write (outside the project's tracked files)")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    samples = read_face_folder(args.train_set)
    sources = face_sources(samples)
    faces = write_folder(args.out, args.images, sources, samples, args.seed)
    print(f"wrote {args.images} images with {faces} faces (cut from {len(sources)}) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
