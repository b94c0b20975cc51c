"""The ``detect`` command: faces in still images, written as WIDER FACE result files."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from apps.drawing import draw_faces
from apps.writers import OutputWriteError
from detectors.datasets.images import IMAGE_SUFFIXES
from tracker import TrackedFace

IMAGE_EXTENSIONS = frozenset(IMAGE_SUFFIXES) | {".webp", ".tif", ".tiff"}
#: Name ending of the annotated copies ``--draw`` writes (never taken as inputs).
DRAWN_SUFFIX = ".faces.jpg"


@dataclass
class ImageOutcome:
    """Result of one image: number of faces, or the reason it failed."""

    path: Path
    faces: int = 0
    error: str = ""


def input_problem(path: Path) -> str | None:
    """Why ``path`` cannot be the input of ``detect`` (None when it is a file or a folder)."""
    if not path.exists():
        return "no such file or folder"
    if not (path.is_file() or path.is_dir()):
        return "not a regular file or folder (a device or a pipe?)"
    return None


def create_output(output: Path) -> None:
    """Create the output folder (and its parents).

    Raises:
        OutputWriteError: If it cannot be created (a file of that name, a file on the way, no permission).
    """
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputWriteError(f"cannot create output folder {output}: {error.strerror}") from error


def list_images(path: Path) -> list[Path]:
    """The image itself, or every image directly inside a folder (sorted), without the annotated copies
    an earlier ``--draw`` wrote there."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                  and not p.name.lower().endswith(DRAWN_SUFFIX))


def wider_result_text(image_name: str, detections: np.ndarray) -> str:
    """A WIDER FACE result file: image name, face count, then ``x y w h score`` per face."""
    lines = [image_name, str(len(detections))]
    for x1, y1, x2, y2, score in detections:
        lines.append(f"{x1:.1f} {y1:.1f} {x2 - x1:.1f} {y2 - y1:.1f} {score:.4f}")
    return "\n".join(lines) + "\n"


def _read_image(path: Path) -> np.ndarray | None:
    # imdecode on the raw bytes handles unicode paths that cv2.imread cannot open on some systems.
    data = np.fromfile(str(path), dtype=np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


def _is_result_of(text_file: Path, image_name: str) -> bool:
    """True when ``text_file`` is a WIDER FACE result file FaceTrack wrote for ``image_name``."""
    try:
        lines = text_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    return len(lines) >= 2 and lines[0] == image_name and lines[1].isdigit()


def _foreign_output(output: Path, name: str, image_name: str, draw: bool) -> Path | None:
    """An existing file among the outputs of one image that FaceTrack did not write, or None.

    The result file tells: the drawn copy beside a result file of FaceTrack's was written with it.
    """
    targets = [output / f"{name}.txt"] + ([output / f"{name}{DRAWN_SUFFIX}"] if draw else [])
    existing = [target for target in targets if target.exists()]
    if existing and not _is_result_of(targets[0], image_name):
        return existing[0]
    return None


def _result_name(path: Path, used: set[str]) -> str:
    name = path.stem if path.stem not in used else f"{path.stem}_{path.suffix.lstrip('.').lower()}"
    used.add(name)
    return name


def detect_images(
    images: Iterable[Path], output: Path, detect: Callable[[np.ndarray], np.ndarray], draw: bool = False
) -> list[ImageOutcome]:
    """Detect faces in each image, writing ``output/<stem>.txt`` (and ``<stem>.faces.jpg`` with ``draw``).

    Two images with the same stem (``a.jpg``, ``a.png``) get ``a.txt`` and ``a_png.txt``; drawn
    copies never take an input's name, even when ``output`` is the image folder. An image whose
    output names are taken by files FaceTrack did not write (a ``holiday.txt`` of the user's) is
    skipped with that reason: only FaceTrack's own earlier results are overwritten.
    """
    create_output(output)
    outcomes = []
    used: set[str] = set()
    for path in images:
        try:
            image = _read_image(path)
        except OSError as error:
            outcomes.append(ImageOutcome(path, error=f"cannot read ({error.strerror or error})"))
            continue
        except cv2.error:
            outcomes.append(ImageOutcome(path, error="cannot decode (damaged, or more pixels than OpenCV accepts)"))
            continue
        if image is None:
            outcomes.append(ImageOutcome(path, error="not a readable image"))
            continue
        name = _result_name(path, used)
        foreign = _foreign_output(output, name, path.name, draw)
        if foreign is not None:
            outcomes.append(ImageOutcome(path, error=f"would overwrite {foreign}, which FaceTrack did not write "
                                                     "(choose another --output)"))
            continue
        detections = detect(image)
        (output / f"{name}.txt").write_text(wider_result_text(path.name, detections))
        if draw:
            faces = [TrackedFace(i + 1, det[:4], float(det[4]), True, 1, 1) for i, det in enumerate(detections)]
            ok, encoded = cv2.imencode(".jpg", draw_faces(image.copy(), faces))
            if ok:
                (output / f"{name}{DRAWN_SUFFIX}").write_bytes(encoded.tobytes())
        outcomes.append(ImageOutcome(path, faces=len(detections)))
    return outcomes
