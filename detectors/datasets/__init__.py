"""Readers for face-detection annotations (Pascal VOC XML and WIDER FACE txt)."""

from detectors.datasets.sample import FaceSample
from detectors.datasets.voc import read_voc_folder
from detectors.datasets.wider import read_wider_annotations

__all__ = ["FaceSample", "read_voc_folder", "read_wider_annotations"]
