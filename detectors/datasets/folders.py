"""A folder of labelled faces in any layout FaceTrack reads, recognised from its files.

Layouts (:class:`LabelFormat`): Pascal VOC (``annotations/*.xml``), YOLO (``labels/*.txt``) and
WIDER FACE (``wider_face_*_bbx_gt.txt``), each with the pictures under ``images/``. The same
faces in any of them give the same :class:`FaceSample` boxes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from detectors.datasets.errors import UnreadableFolder
from detectors.datasets.sample import FaceSample
from detectors.datasets.voc import read_voc_folder
from detectors.datasets.wider import WIDER_PATTERN, read_wider_folder
from detectors.datasets.yolo import NOT_LABELS, read_yolo_folder


class LabelFormat(str, Enum):
    """How the faces of a folder are labelled."""

    voc = "voc"
    yolo = "yolo"
    wider = "wider"


@dataclass(frozen=True)
class Layout:
    """How to recognise and read one :class:`LabelFormat`."""

    description: str
    present: Callable[[Path], bool]
    read: Callable[[Path], list[FaceSample]]


LAYOUTS: dict[LabelFormat, Layout] = {
    LabelFormat.voc: Layout(
        "Pascal VOC (annotations/*.xml + images/)",
        lambda folder: any((folder / "annotations").glob("*.xml")),
        read_voc_folder,
    ),
    LabelFormat.yolo: Layout(
        "YOLO (labels/*.txt + images/)",
        lambda folder: any(path.name not in NOT_LABELS for path in (folder / "labels").rglob("*.txt")),
        read_yolo_folder,
    ),
    LabelFormat.wider: Layout(
        "WIDER FACE (wider_face_*_bbx_gt.txt + images/)",
        lambda folder: any(folder.glob(WIDER_PATTERN)),
        read_wider_folder,
    ),
}


def detect_format(folder: Path) -> LabelFormat:
    """The one layout present in ``folder``.

    Raises:
        UnreadableFolder: If the folder is missing, holds no known layout, or several.
    """
    if not folder.is_dir():
        raise UnreadableFolder(f"{folder}: no such folder")
    found = [label_format for label_format, layout in LAYOUTS.items() if layout.present(folder)]
    if not found:
        looked_for = "; ".join(layout.description for layout in LAYOUTS.values())
        raise UnreadableFolder(f"{folder}: no face labels FaceTrack can read; looked for {looked_for}")
    if len(found) > 1:
        names = ", ".join(label_format.value for label_format in found)
        raise UnreadableFolder(f"{folder}: labels in several layouts ({names}); choose one with --format")
    return found[0]


def read_face_folder(
    folder: str | Path, label_format: LabelFormat | None = None, stems: Collection[str] | None = None
) -> list[FaceSample]:
    """The labelled images of ``folder`` (only those named in ``stems`` if given).

    Args:
        folder: A VOC, YOLO or WIDER FACE folder.
        label_format: Its layout; None recognises it (:func:`detect_format`).
        stems: Image names without extension to keep.

    Raises:
        UnreadableFolder: If the layout is not recognised or no labelled image is found.
        LabelError: On a malformed label file.
    """
    folder = Path(folder)
    label_format = label_format or detect_format(folder)
    layout = LAYOUTS[label_format]
    samples = layout.read(folder)
    if stems is not None:
        wanted = set(stems)
        samples = [sample for sample in samples if sample.stem in wanted]
    if not samples:
        raise UnreadableFolder(f"{folder}: no labelled image found; looked for {layout.description} "
                               "with each label next to an image of the same name")
    return samples
