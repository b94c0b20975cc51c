"""Where the image of an annotation file is: the suffixes the readers look for."""

from __future__ import annotations

from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def find_image(images_dir: Path, stem: str) -> Path | None:
    """``images_dir/<stem><suffix>`` for the first of :data:`IMAGE_SUFFIXES` that exists, else None."""
    for suffix in IMAGE_SUFFIXES:
        candidate = images_dir / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    return None
