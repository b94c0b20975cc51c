"""Annotation readers: Pascal VOC folders and WIDER FACE ground-truth files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detectors.datasets import FaceSample, read_voc_folder, read_wider_annotations


def _obj(name: str, box: tuple, difficult: int | None = 0) -> str:
    coords = "".join(f"<{key}>{value}</{key}>" for key, value in zip(("xmin", "ymin", "xmax", "ymax"), box))
    flag = "" if difficult is None else f"<difficult>{difficult}</difficult>"
    return f"<object><name>{name}</name>{flag}<bndbox>{coords}</bndbox></object>"


def _write_voc(folder: Path, stem: str, objects: list[str], image_suffix: str | None = ".jpg") -> None:
    (folder / "annotations").mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    xml = f"<annotation><filename>{stem}</filename>{''.join(objects)}</annotation>"
    (folder / "annotations" / f"{stem}.xml").write_text(xml)
    if image_suffix:
        (folder / "images" / f"{stem}{image_suffix}").write_bytes(b"not decoded by the reader")


@pytest.fixture()
def voc_folder(tmp_path: Path) -> Path:
    _write_voc(
        tmp_path,
        "b_faces",
        [
            _obj("face", (10, 20, 50, 70)),
            _obj("face", (100, 100, 120, 125), difficult=1),
            _obj("person", (0, 0, 200, 200)),
            _obj(" face ", (60, 60, 80, 90), difficult=None),  # whitespace around the name, no flag
            _obj("face", (30, 30, 20, 40)),  # xmax < xmin
            _obj("face", (30, 30, 30, 40)),  # zero width
            "<object><name>face</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>9</xmax></bndbox></object>",
            "<object><name>face</name></object>",  # no bndbox
        ],
    )
    _write_voc(tmp_path, "a_png", [_obj("face", (1.5, 2.5, 11.5, 12.5))], image_suffix=".png")
    _write_voc(tmp_path, "c_no_image", [_obj("face", (1, 2, 3, 4))], image_suffix=None)
    _write_voc(tmp_path, "d_empty", [])
    return tmp_path


def test_voc_reader_boxes_ignore_and_skips(voc_folder: Path) -> None:
    samples = read_voc_folder(voc_folder)
    assert [sample.stem for sample in samples] == ["a_png", "b_faces", "d_empty"]  # sorted, no-image skipped
    by_stem = {sample.stem: sample for sample in samples}
    faces = by_stem["b_faces"]
    assert isinstance(faces, FaceSample)
    assert faces.image_path == voc_folder / "images" / "b_faces.jpg"
    assert faces.boxes.dtype == np.float32 and faces.ignore.dtype == np.float32
    np.testing.assert_array_equal(faces.boxes, [[10, 20, 50, 70], [60, 60, 80, 90]])
    np.testing.assert_array_equal(faces.ignore, [[100, 100, 120, 125]])  # difficult -> ignore
    png = by_stem["a_png"]
    assert png.image_path.suffix == ".png"
    np.testing.assert_allclose(png.boxes, [[1.5, 2.5, 11.5, 12.5]])
    empty = by_stem["d_empty"]
    assert empty.boxes.shape == (0, 4) and empty.ignore.shape == (0, 4)


def test_voc_reader_stem_filter(voc_folder: Path) -> None:
    samples = read_voc_folder(voc_folder, stems=["d_empty", "c_no_image", "zzz"])
    assert [sample.stem for sample in samples] == ["d_empty"]


def test_voc_reader_missing_folder_is_empty(tmp_path: Path) -> None:
    assert read_voc_folder(tmp_path / "nothing") == []


WIDER_TXT = """\
0--Parade/img_a.jpg
2
10 20 30 40 0 0 0 0 0 0
5 5 8 9 2 0 0 1 0 0
1--Handshaking/img_empty.jpg
0
0 0 0 0 0 0 0 0 0 0

2--Demo/img_b.jpg
3
1 2 0 4 0 0 0 0 0 0
100 50 20 10 0 0 0 0 0 0
7 8 9 10
"""


def test_wider_reader(tmp_path: Path) -> None:
    annotation = tmp_path / "wider_face_train_bbx_gt.txt"
    annotation.write_text(WIDER_TXT)
    samples = read_wider_annotations(annotation, tmp_path / "images")
    assert [sample.image_path for sample in samples] == [
        tmp_path / "images" / "0--Parade/img_a.jpg",
        tmp_path / "images" / "1--Handshaking/img_empty.jpg",
        tmp_path / "images" / "2--Demo/img_b.jpg",
    ]
    first, empty, last = samples
    np.testing.assert_array_equal(first.boxes, [[10, 20, 40, 60]])  # x, y, w, h -> corners
    np.testing.assert_array_equal(first.ignore, [[5, 5, 13, 14]])  # invalid flag -> ignore
    assert empty.boxes.shape == (0, 4) and empty.ignore.shape == (0, 4)
    # zero-width face -> ignore (widened to 1 px); short row without flags is a normal face
    np.testing.assert_array_equal(last.boxes, [[100, 50, 120, 60], [7, 8, 16, 18]])
    np.testing.assert_array_equal(last.ignore, [[1, 2, 2, 6]])
    assert all(s.boxes.dtype == np.float32 and s.ignore.dtype == np.float32 for s in samples)


def test_wider_reader_rejects_a_missing_count(tmp_path: Path) -> None:
    annotation = tmp_path / "bad.txt"
    annotation.write_text("img.jpg\nnot-a-number\n")
    with pytest.raises(ValueError, match="face count"):
        read_wider_annotations(annotation, tmp_path)


def test_voc_reader_skips_non_numeric_coordinates(tmp_path: Path) -> None:
    _write_voc(
        tmp_path,
        "img",
        [
            "<object><name>face</name><bndbox><xmin></xmin><ymin>1</ymin><xmax>5</xmax><ymax>6</ymax></bndbox></object>",
            _obj("face", ("n/a", 1, 5, 6)),
            _obj("face", (10, 10, 30, 30)),
        ],
    )
    (sample,) = read_voc_folder(tmp_path)
    np.testing.assert_array_equal(sample.boxes, [[10, 10, 30, 30]])


def test_appended_face_objects_read_back_as_faces_and_ignore_regions(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from detectors.datasets.voc import append_face_objects, parse_voc_xml

    root = ET.Element("annotation")
    append_face_objects(root, np.array([[1.5, 2.5, 11.5, 12.5], [20, 20, 40, 44]]))
    append_face_objects(root, np.array([[50, 5, 60, 15]]), difficult=True, source="teacher")
    ET.ElementTree(root).write(tmp_path / "a.xml")
    sample = parse_voc_xml(tmp_path / "a.xml", tmp_path / "a.jpg")
    np.testing.assert_allclose(sample.boxes, [[1.5, 2.5, 11.5, 12.5], [20, 20, 40, 44]])
    np.testing.assert_allclose(sample.ignore, [[50, 5, 60, 15]])
    assert root.findall("object")[2].findtext("source") == "teacher"
