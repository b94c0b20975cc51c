"""Make media/demo.mp4 (+ media/demo_gt.txt): 8 s, 640x480, 25 fps, four moving faces.

The faces are tinted copies of the face in scikit-image's ``astronaut`` picture
(NASA portrait of Eileen Collins, public domain), rendered by
``benchmarks.synthetic`` at 50-110 px with hair and shoulders (context a face detector
relies on); they cross,
occlude each other, pass behind a moving bar and leave and re-enter the frame.
The ground truth is written in MOTChallenge format.

Needs scikit-image (``pip install scikit-image``), for the picture only.
Usage: ``python media/make_demo_clip.py [--seed N] [--out-dir DIR]``
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import ClipSpec, FaceSprite, crop_face_sprite, write_clip, write_mot_ground_truth  # noqa: E402

ASTRONAUT_FACE = (177.0, 68.0, 275.0, 176.0)  # x1, y1, x2, y2 of the face in the 512x512 picture
TINTS = [(1.0, 1.0, 1.0), (0.9, 0.97, 1.1), (1.1, 1.0, 0.9), (0.95, 1.05, 0.95)]  # BGR gains
DEMO_SPEC = ClipSpec(width=640, height=480, fps=25.0, frames=200, faces=4, min_size=50, max_size=110,
                     scale_variation=0.15, speed_range=(50.0, 110.0), noise_sigma=0.0)


def astronaut_sprites() -> list[FaceSprite]:
    """The astronaut's face with margin, in one colour tint per demo face (every other one mirrored)."""
    from skimage import data

    picture = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    base = crop_face_sprite(picture, ASTRONAUT_FACE, margin=0.8)
    sprites = []
    for index, gains in enumerate(TINTS):
        image = np.clip(base.image.astype(np.float32) * np.array(gains, np.float32), 0, 255).astype(np.uint8)
        face_box = base.face_box
        if index % 2:
            image = image[:, ::-1].copy()
            face_box = (1 - face_box[2], face_box[1], 1 - face_box[0], face_box[3])
        sprites.append(FaceSprite(image, face_box))
    return sprites


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "media")
    args = parser.parse_args()
    spec = ClipSpec(**{**DEMO_SPEC.__dict__, "seed": args.seed})
    video, truth_path = args.out_dir / "demo.mp4", args.out_dir / "demo_gt.txt"
    truth = write_clip(video, spec, astronaut_sprites())
    write_mot_ground_truth(truth_path, truth)
    sizes = [np.sqrt((g.box[2] - g.box[0]) * (g.box[3] - g.box[1])) for g in truth if g.visible_fraction > 0.99]
    print(f"wrote {video} ({video.stat().st_size / 1e6:.2f} MB, {spec.frames} frames) and {truth_path} "
          f"({len(truth)} boxes, unoccluded face sizes {min(sizes):.0f}-{max(sizes):.0f} px)")


if __name__ == "__main__":
    main()
