"""Pascal VOC reader (and face-object writer): ``images/<stem>.jpg`` + ``annotations/<stem>.xml`` with class ``face``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from detectors.datasets.errors import LabelError
from detectors.datasets.images import find_image
from detectors.datasets.sample import FaceSample


def parse_voc_xml(xml_path: Path, image_path: Path, class_name: str = "face") -> FaceSample:
    """Parse one VOC annotation file; ``difficult`` objects become ignore regions.

    Raises:
        LabelError: If the file is not well-formed XML.
    """
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as error:
        raise LabelError(f"{xml_path}: not a VOC annotation ({error})") from None
    boxes, ignore = [], []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        if name != class_name:
            continue
        bndbox = obj.find("bndbox")
        if bndbox is None:
            continue
        try:
            box = [float(bndbox.findtext(key, "nan")) for key in ("xmin", "ymin", "xmax", "ymax")]
        except ValueError:  # empty or non-numeric coordinate: skip this box, keep the file
            continue
        if not np.all(np.isfinite(box)) or box[2] <= box[0] or box[3] <= box[1]:
            continue
        difficult = (obj.findtext("difficult") or "0").strip() == "1"
        (ignore if difficult else boxes).append(box)
    return FaceSample(
        image_path=image_path,
        boxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
        ignore=np.asarray(ignore, dtype=np.float32).reshape(-1, 4),
    )


def read_voc_folder(folder: str | Path, stems: list[str] | None = None) -> list[FaceSample]:
    """All annotated images of a VOC folder, sorted by stem (or only ``stems`` if given).

    Annotations without a matching image are skipped.
    """
    folder = Path(folder)
    xml_files = sorted((folder / "annotations").glob("*.xml"))
    wanted = set(stems) if stems is not None else None
    samples = []
    for xml_path in xml_files:
        if wanted is not None and xml_path.stem not in wanted:
            continue
        image_path = find_image(folder / "images", xml_path.stem)
        if image_path is not None:
            samples.append(parse_voc_xml(xml_path, image_path))
    return samples


def append_face_objects(root: ET.Element, boxes: np.ndarray, difficult: bool = False, source: str | None = None) -> None:
    """Append one ``face`` object per (N, 4) box (x1, y1, x2, y2) to the VOC annotation ``root``;
    ``difficult`` ones are ignore regions to :func:`parse_voc_xml`, ``source`` (if given) says who found them."""
    for x1, y1, x2, y2 in np.asarray(boxes, np.float64).reshape(-1, 4):
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = "face"
        ET.SubElement(obj, "difficult").text = "1" if difficult else "0"
        if source is not None:
            ET.SubElement(obj, "source").text = source
        box = ET.SubElement(obj, "bndbox")
        for key, value in zip(("xmin", "ymin", "xmax", "ymax"), (x1, y1, x2, y2)):
            ET.SubElement(box, key).text = f"{value:.1f}"
