"""One set of faces as Pascal VOC, YOLO and WIDER FACE folders: recognised, read alike, errors in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from label_layouts import FACES, write_voc, write_wider, write_yolo

from detectors.datasets import LabelError, LabelFormat, UnreadableFolder, read_face_folder
from detectors.datasets.folders import detect_format

WRITERS = {LabelFormat.voc: write_voc, LabelFormat.yolo: write_yolo, LabelFormat.wider: write_wider}


@pytest.mark.parametrize("label_format", list(LabelFormat))
def test_each_layout_is_recognised_and_gives_the_written_faces(tmp_path: Path, label_format: LabelFormat) -> None:
    folder = WRITERS[label_format](tmp_path / "faces")
    assert detect_format(folder) is label_format
    samples = read_face_folder(folder)
    assert [sample.stem for sample in samples] == list(FACES)
    for sample in samples:
        assert sample.image_path.is_file()
        np.testing.assert_allclose(sample.boxes, np.reshape(FACES[sample.stem], (-1, 4)), atol=1e-4)
        assert sample.boxes.dtype == np.float32 and sample.ignore.shape == (0, 4)


def test_the_three_layouts_of_the_same_faces_give_identical_samples(tmp_path: Path) -> None:
    read = {name: read_face_folder(writer(tmp_path / name.value)) for name, writer in WRITERS.items()}
    voc = read[LabelFormat.voc]
    for other in (read[LabelFormat.yolo], read[LabelFormat.wider]):
        assert [sample.stem for sample in other] == [sample.stem for sample in voc]
        for mine, theirs in zip(voc, other):
            np.testing.assert_array_equal(mine.boxes, theirs.boxes)
            np.testing.assert_array_equal(mine.ignore, theirs.ignore)


def test_an_explicit_format_chooses_among_several_layouts(tmp_path: Path) -> None:
    folder = write_voc(tmp_path / "faces")
    write_wider(tmp_path / "wider")
    (tmp_path / "wider" / "wider_face_train_bbx_gt.txt").rename(folder / "wider_face_train_bbx_gt.txt")
    with pytest.raises(UnreadableFolder, match=r"several layouts \(voc, wider\); choose one with --format"):
        read_face_folder(folder)
    assert [sample.stem for sample in read_face_folder(folder, LabelFormat.wider)] == list(FACES)


def test_subset_keeps_the_named_images(tmp_path: Path) -> None:
    samples = read_face_folder(write_yolo(tmp_path / "faces"), stems=["cam2_0001", "cam1_0002"])
    assert [sample.stem for sample in samples] == ["cam1_0002", "cam2_0001"]


def test_a_folder_without_labels_says_what_it_looked_for(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"")
    with pytest.raises(UnreadableFolder) as raised:
        read_face_folder(tmp_path / "photos")
    message = str(raised.value)
    assert "\n" not in message
    for looked_for in ("annotations/*.xml", "labels/*.txt", "wider_face_*_bbx_gt.txt", "images/"):
        assert looked_for in message


def test_labels_without_images_are_an_unreadable_folder(tmp_path: Path) -> None:
    folder = write_yolo(tmp_path / "faces")
    for image in (folder / "images").iterdir():
        image.unlink()
    with pytest.raises(UnreadableFolder, match="no labelled image found; looked for YOLO"):
        read_face_folder(folder)


def test_a_yolo_polygon_line_is_reported_with_its_place(tmp_path: Path) -> None:
    folder = write_yolo(tmp_path / "faces")
    (folder / "labels" / "cam2_0002.txt").write_text("0 0.1 0.1 0.2 0.1 0.2 0.2\n")
    with pytest.raises(ValueError, match=r"cam2_0002.txt:1: expected 'class cx cy w h'"):
        read_face_folder(folder)


def test_a_broken_voc_file_is_a_label_error(tmp_path: Path) -> None:
    folder = write_voc(tmp_path / "faces")
    (folder / "annotations" / "cam1_0001.xml").write_text("<annotation><object>")
    with pytest.raises(LabelError, match=r"cam1_0001.xml: not a VOC annotation"):
        read_face_folder(folder)
