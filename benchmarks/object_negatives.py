"""Face-free images with objects in them: cut-out pictures pasted onto face-free backgrounds.

The face verifier learns what is not a face from the training images' face-free regions and from
generated featureless frames; neither holds many of the objects, animals and drawings a camera also
sees (a cat's face, a cup, a clock, a road sign). This tool writes such images for
``python start.py train-verifier --negative-images DIR``: each is a face-free background (a
face-free square of a labelled training image, or a generated featureless frame) with one to three
cut-out pictures pasted on it at random sizes (24 px to most of the frame), flipped and turned.

Cut-outs are RGBA PNGs from a folder of sticker-like pictures with transparent backgrounds; the ones
used in verifier trials 8 and 9 (``benchmarks/verifier_selection.md``) are Debian's
``tuxpaint-stamps-default`` (GPL-2; ``apt-get download tuxpaint-stamps-default && dpkg -x
tuxpaint-stamps-default_*.deb DIR``, then ``DIR/usr/share/tuxpaint/stamps``). Folders that show people or drawn faces are skipped
(:data:`SKIPPED_FOLDERS`: people, cartoons, smileys, coins with portraits). Animals, fruit, toys and
instruments stay even where a face detector fires on them (RetinaFace and CenterFace both fire at 0.5
on a gorilla, a lion, an apple and a violin of that set): those are the negatives wanted. Cut-outs are
split by name as the verifier splits images (:func:`detectors.verifier.samples.is_held_out`): the
held-out ones only go into ``OUT/held-out`` (for measuring, ``benchmarks/false_faces.py --face-free``),
the others only into ``OUT/train``; backgrounds come from the same pool for both. Nothing written
here may be committed (it derives from outside data). It lives beside the benchmarks because it
prepares data; the application never imports it.

Usage: ``python benchmarks/object_negatives.py STAMPS TRAIN_SET OUT [--images 2000] [--held-out-images 400]
[--seed 0]``
"""
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detectors.datasets import read_face_folder  # noqa: E402
from detectors.datasets.sample import FaceSample  # noqa: E402
from detectors.featureless import random_featureless_frame  # noqa: E402
from detectors.training.copy_paste import blend_into  # noqa: E402
from detectors.training.negatives import face_free_crop  # noqa: E402
from detectors.verifier.samples import is_held_out  # noqa: E402

#: Sub-folders of the cut-out folder never used: people, drawn characters, smileys, portrait coins.
SKIPPED_FOLDERS = ("people", "cartoon", "faces", "money")
#: Share of backgrounds that are generated featureless frames (the rest: training-image squares).
FEATURELESS_BACKGROUNDS = 0.25
#: Cut-outs per image, and the range of their longer side: 24 px to 0.9 x the frame's shorter side.
CUTOUTS_PER_IMAGE = (1, 3)
CUTOUT_SIDE = (24, 0.9)


def read_cutout(path: Path) -> np.ndarray | None:
    """The picture at ``path`` as HxWx4 uint8 BGRA (opaque when it has no alpha), or None if unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim not in (2, 3) or min(image.shape[:2]) < 8:
        return None
    if image.dtype != np.uint8:
        image = (image / 257).astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
    elif image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    return image


def paste(background: np.ndarray, cutout: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """``background`` with the BGRA ``cutout`` alpha-blended at (x0, y0) (clipped at the edges)."""
    height, width = background.shape[:2]
    x1, y1 = min(x0 + cutout.shape[1], width), min(y0 + cutout.shape[0], height)
    cx0, cy0 = max(0, -x0), max(0, -y0)
    x0, y0 = max(x0, 0), max(y0, 0)
    if x1 <= x0 or y1 <= y0:
        return background
    part = cutout[cy0 : cy0 + y1 - y0, cx0 : cx0 + x1 - x0].astype(np.float32)
    blend_into(background, part[..., :3], part[..., 3:] / 255.0, x0, y0)
    return background


def cutout_paths(folder: Path) -> list[Path]:
    """Every PNG under ``folder`` outside :data:`SKIPPED_FOLDERS`, sorted."""
    return sorted(path for path in folder.rglob("*.png")
                  if not any(part in SKIPPED_FOLDERS for part in path.relative_to(folder).parts))


def transformed(cutout: np.ndarray, side: float, rng: np.random.Generator) -> np.ndarray:
    """The cut-out scaled to a longer side of ``side`` px, mirrored half the time, turned by up to 20 degrees."""
    scale = side / max(cutout.shape[:2])
    image = cv2.resize(cutout, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        image = np.ascontiguousarray(image[:, ::-1])
    angle = rng.uniform(-20, 20)
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_width, new_height = int(height * sin + width * cos) + 1, int(height * cos + width * sin) + 1
    matrix[0, 2] += new_width / 2 - width / 2
    matrix[1, 2] += new_height / 2 - height / 2
    return cv2.warpAffine(image, matrix, (new_width, new_height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))


def background(samples: Sequence[FaceSample], rng: np.random.Generator) -> np.ndarray:
    """A face-free frame 480-1280 px wide: a generated featureless frame or a face-free square of a training image."""
    width = int(rng.integers(480, 1281))
    height = int(width * rng.uniform(0.56, 1.0))
    if not samples or rng.random() < FEATURELESS_BACKGROUNDS:
        return random_featureless_frame(rng, height, width)
    for _ in range(20):
        sample = samples[int(rng.integers(len(samples)))]
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        crop = face_free_crop(image, np.concatenate([sample.boxes.reshape(-1, 4), sample.ignore.reshape(-1, 4)]), rng,
                              min_side=96)
        if crop is not None:
            return cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)
    return random_featureless_frame(rng, height, width)


def compose(cutouts: Sequence[np.ndarray], samples: Sequence[FaceSample], rng: np.random.Generator) -> np.ndarray:
    """One face-free image: a :func:`background` with 1-3 random cut-outs pasted at random places and sizes."""
    frame = background(samples, rng)
    height, width = frame.shape[:2]
    low, high = math.log(CUTOUT_SIDE[0]), math.log(CUTOUT_SIDE[1] * min(height, width))
    for _ in range(int(rng.integers(CUTOUTS_PER_IMAGE[0], CUTOUTS_PER_IMAGE[1] + 1))):
        image = transformed(cutouts[int(rng.integers(len(cutouts)))], math.exp(rng.uniform(low, high)), rng)
        x0 = int(rng.integers(-image.shape[1] // 4, width - 3 * image.shape[1] // 4 + 1))
        y0 = int(rng.integers(-image.shape[0] // 4, height - 3 * image.shape[0] // 4 + 1))
        frame = paste(frame, image, x0, y0)
    return frame


def write_images(folder: Path, count: int, cutouts: Sequence[np.ndarray], samples: Sequence[FaceSample], seed: int) -> None:
    """Write ``count`` composed images as ``folder/objects_NNNNN.jpg`` (JPEG quality 90)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        rng = np.random.default_rng((seed, index))
        cv2.imwrite(str(folder / f"objects_{index:05d}.jpg"), compose(cutouts, samples, rng), [cv2.IMWRITE_JPEG_QUALITY, 90])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stamps", type=Path, help="folder of RGBA PNG cut-outs (searched recursively)")
    parser.add_argument("train_set", type=Path, help="labelled training folder: its face-free squares are backgrounds")
    parser.add_argument("out", type=Path, help="writes OUT/train and OUT/held-out (outside the project's tracked files)")
    parser.add_argument("--images", type=int, default=2000, help="images written to OUT/train")
    parser.add_argument("--held-out-images", type=int, default=400, help="images written to OUT/held-out")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    args = parse_args(argv)
    split: dict[bool, list[np.ndarray]] = {True: [], False: []}
    for path in cutout_paths(args.stamps):
        cutout = read_cutout(path)
        if cutout is not None:
            split[is_held_out(path.stem)].append(cutout)
    print(f"cut-outs: {len(split[False])} for training, {len(split[True])} held out")
    samples = read_face_folder(args.train_set)
    write_images(args.out / "train", args.images, split[False], samples, args.seed)
    write_images(args.out / "held-out", args.held_out_images, split[True], samples, args.seed + 1)
    print(f"wrote {args.images} images to {args.out / 'train'} and {args.held_out_images} to {args.out / 'held-out'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
