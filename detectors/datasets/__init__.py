"""Readers for face-detection annotations (Pascal VOC XML, YOLO txt and WIDER FACE txt)."""

from detectors.datasets.errors import LabelError, UnreadableFolder
from detectors.datasets.folders import LabelFormat, read_face_folder
from detectors.datasets.sample import FaceSample
from detectors.datasets.voc import read_voc_folder
from detectors.datasets.wider import read_wider_annotations, read_wider_folder
from detectors.datasets.yolo import read_yolo_folder

__all__ = [
    "FaceSample",
    "LabelError",
    "LabelFormat",
    "UnreadableFolder",
    "read_face_folder",
    "read_voc_folder",
    "read_wider_annotations",
    "read_wider_folder",
    "read_yolo_folder",
]
