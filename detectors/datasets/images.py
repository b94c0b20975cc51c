"""Where images are: the suffixes the readers look for, the image of an annotation file, the images of a folder."""

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


def image_files(folder: Path) -> list[Path]:
    """Every file with one of :data:`IMAGE_SUFFIXES` (any case) under ``folder``, sub-folders included, sorted."""
    return sorted(path for path in Path(folder).rglob("*") if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES)
