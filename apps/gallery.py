"""The gallery of known people (``--known-faces DIR``) and naming a face track against it.

DIR holds ``<name>/*.jpg|png`` (several photos of one person) and/or ``<name>.jpg|png`` (one photo).
Each photo must show its person's face: a photo that cannot be read, shows no face, or shows
several faces of similar size (which one is the person?) is skipped with one warning naming the
file; faces much smaller than the largest (people in the background) are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from apps.descriptors import DESCRIPTOR_SIZE, FaceDescriber, distances

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}
NAME_THRESHOLD = 1.126
"""A track is named after the nearest gallery person only when its distance to that person's nearest
photo is below this and :data:`NAME_MARGIN` holds. On lfw-dev 0.16 % of the pairs of photos of two
different people are nearer than this and 94.6 % of the pairs of one person's photos
(``benchmarks/identity.py``)."""
NAME_MARGIN = 0.085
"""The second-nearest gallery person must be at least this much farther than the nearest (a face that
looks a little like several gallery people is not named).

Both were chosen with dlib's descriptor (0.53 and 0.04, on slideshows of the application's own output;
``benchmarks/identity_selection.md``) and carried over to SFace's by a rule fixed before any slideshow
was run: the threshold at which the same share of lfw-dev different-person pairs is accepted, the margin
scaled by the ratio of the two thresholds (``benchmarks/identity.py --match-thresholds``)."""
BACKGROUND_AREA_RATIO = 0.25
"""A second face smaller than this share of the largest face's area is in the background."""

FaceFinder = Callable[[np.ndarray], np.ndarray]
"""A detector: BGR image -> (N, 5) ``[x1, y1, x2, y2, score]`` faces at its own threshold."""


def confident_faces(detect: FaceFinder, high: float) -> FaceFinder:
    """``detect`` keeping only faces scoring ``high`` or more: gallery photos are described from faces
    that could start a track."""
    def find_faces(image: np.ndarray) -> np.ndarray:
        faces = detect(image)
        return faces[faces[:, 4] >= high]

    return find_faces


class GalleryError(ValueError):
    """The gallery folder cannot be used at all (missing, or no usable photo)."""


@dataclass
class Gallery:
    """Descriptors of known people: row ``i`` of ``descriptors`` is a photo of ``names[i]``."""

    names: list[str] = field(default_factory=list)
    descriptors: np.ndarray = field(default_factory=lambda: np.zeros((0, DESCRIPTOR_SIZE), np.float32))

    @property
    def people(self) -> list[str]:
        """The distinct names, sorted."""
        return sorted(set(self.names))

    def person_distances(self, track_descriptors: np.ndarray) -> np.ndarray:
        """The distance from a track to each of :attr:`people` (in their order): that of the closest pair
        of one of the person's photos and one of the track's descriptors."""
        nearest = distances(track_descriptors, self.descriptors).min(axis=0)
        names = np.array(self.names)
        return np.array([nearest[names == person].min() for person in self.people])

    def nearest_person(self, person_distances: np.ndarray, threshold: float = NAME_THRESHOLD,
                       margin: float = NAME_MARGIN) -> str | None:
        """The person of the smallest of ``person_distances`` (one per person of :attr:`people`) when it is
        under ``threshold`` and the second-smallest is at least ``margin`` larger, else None."""
        order = np.argsort(person_distances, kind="stable")
        best = person_distances[order[0]]
        runner_up = person_distances[order[1]] if len(order) > 1 else np.inf
        return self.people[order[0]] if best < threshold and runner_up - best >= margin else None

    def name(self, track_descriptors: np.ndarray, threshold: float = NAME_THRESHOLD,
             margin: float = NAME_MARGIN) -> str | None:
        """The person nearest to one track (see :meth:`person_distances`, :meth:`nearest_person`), or None."""
        if not self.names or len(track_descriptors) == 0:
            return None
        return self.nearest_person(self.person_distances(track_descriptors), threshold, margin)

    def name_group(self, tracks: list[np.ndarray], threshold: float = NAME_THRESHOLD,
                   margin: float = NAME_MARGIN) -> str | None:
        """The person nearest to a group of tracks of one person, or None: a person's distance to the group
        is the mean of its distances to the group's tracks (:meth:`person_distances`)."""
        tracks = [track for track in tracks if len(track)]
        if not self.names or not tracks:
            return None
        return self.nearest_person(np.mean([self.person_distances(track) for track in tracks], axis=0), threshold, margin)


def gallery_photos(folder: Path) -> list[tuple[str, Path]]:
    """``(name, photo)`` for every photo of ``folder`` (see the module docstring), sorted."""
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            found.extend((entry.name, photo) for photo in sorted(entry.iterdir()) if _is_photo(photo))
        elif _is_photo(entry):
            found.append((entry.stem, entry))
    return found


def _is_photo(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES


def main_face(faces: np.ndarray) -> tuple[np.ndarray | None, str]:
    """The one face of a photo's detections, or None and why not (``no face``, ``several faces``)."""
    if len(faces) == 0:
        return None, "no face found"
    areas = (faces[:, 2] - faces[:, 0]) * (faces[:, 3] - faces[:, 1])
    order = np.argsort(-areas)
    if len(faces) > 1 and areas[order[1]] >= BACKGROUND_AREA_RATIO * areas[order[0]]:
        return None, f"{len(faces)} faces of similar size (which one is the person?)"
    return faces[order[0]], ""


def load_gallery(folder: Path, find_faces: FaceFinder, describer: FaceDescriber,
                 warn: Callable[[str], None]) -> Gallery:
    """Describe every usable photo of ``folder``; ``warn`` gets one line per skipped photo, naming it.

    Raises:
        GalleryError: ``folder`` is not a folder, or none of its photos is usable.
    """
    if not folder.is_dir():
        raise GalleryError(f"--known-faces {folder}: not a folder")
    gallery = Gallery()
    rows = []
    for name, photo in gallery_photos(folder):
        image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
        face, problem = (None, "cannot read it as an image") if image is None else main_face(find_faces(image))
        if face is None:
            warn(f"--known-faces: {photo}: {problem}; photo skipped")
            continue
        gallery.names.append(name)
        rows.append(describer.describe(image, face))
    if not rows:
        raise GalleryError(f"--known-faces {folder}: no usable photo (expected <name>/*.jpg|png or <name>.jpg|png, "
                           "each showing one face)")
    gallery.descriptors = np.stack(rows)
    return gallery
