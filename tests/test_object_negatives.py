"""benchmarks/object_negatives.py: cut-outs are blended by their alpha, people and drawn faces are skipped,
and the composed face-free images are reproducible."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import object_negatives  # noqa: E402
from tests.label_layouts import write_voc  # noqa: E402


def _cutout(value: int, side: int = 20) -> np.ndarray:
    """A BGRA square of ``value``: opaque left half, transparent right half."""
    cutout = np.full((side, side, 4), value, np.uint8)
    cutout[:, :, 3] = 255
    cutout[:, side // 2 :, 3] = 0
    return cutout


def test_paste_blends_by_alpha_and_clips_at_the_edges() -> None:
    background = np.zeros((30, 30, 3), np.uint8)
    pasted = object_negatives.paste(background.copy(), _cutout(200), 20, -5)
    assert np.all(pasted[0:15, 20:30][:, :10] == 200)  # opaque half, cut at the top edge
    assert np.all(pasted[15:, :] == 0) and np.all(pasted[:, :20] == 0)
    assert np.all(object_negatives.paste(background.copy(), _cutout(200), 40, 40) == 0)  # wholly outside


def test_cutouts_from_people_cartoons_smileys_and_coins_are_skipped(tmp_path: Path) -> None:
    for relative in ("animals/cat.png", "people/child.png", "animals/birds/cartoon/owl.png",
                     "symbols/faces/smile.png", "symbols/money/coin.png", "food/apple.png", "food/notes.txt"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), _cutout(120)) if path.suffix == ".png" else path.write_text("x")
    found = [path.relative_to(tmp_path).as_posix() for path in object_negatives.cutout_paths(tmp_path)]
    assert found == ["animals/cat.png", "food/apple.png"]


def test_read_cutout_gives_bgra_for_grey_colour_and_alpha_pictures(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((20, 20), 50, np.uint8))
    cv2.imwrite(str(tmp_path / "colour.jpg"), np.full((20, 20, 3), 50, np.uint8))
    cv2.imwrite(str(tmp_path / "alpha.png"), _cutout(50))
    for name in ("grey.png", "colour.jpg", "alpha.png"):
        image = object_negatives.read_cutout(tmp_path / name)
        assert image is not None and image.shape == (20, 20, 4), name
    assert object_negatives.read_cutout(tmp_path / "grey.png")[0, 0, 3] == 255
    (tmp_path / "broken.png").write_bytes(b"no")
    assert object_negatives.read_cutout(tmp_path / "broken.png") is None


def test_composed_images_are_reproducible_and_carry_the_cutouts(tmp_path: Path) -> None:
    samples = object_negatives.read_face_folder(write_voc(tmp_path / "voc"))
    cutouts = [np.dstack([np.full((60, 60, 3), 255, np.uint8), np.full((60, 60), 255, np.uint8)])]
    first = object_negatives.compose(cutouts, samples, np.random.default_rng(3))
    again = object_negatives.compose(cutouts, samples, np.random.default_rng(3))
    np.testing.assert_array_equal(first, again)
    assert first.ndim == 3 and 480 <= first.shape[1] <= 1280
    assert (first == 255).all(axis=2).sum() >= 24 * 24 * 0.5  # at least one white cut-out of 24 px or more


def test_the_command_writes_training_and_held_out_images(tmp_path: Path) -> None:
    stamps = tmp_path / "stamps"
    stamps.mkdir()
    for index in range(30):
        cv2.imwrite(str(stamps / f"thing_{index}.png"), _cutout(40 + index))
    out = tmp_path / "out"
    assert object_negatives.main([str(stamps), str(write_voc(tmp_path / "voc")), str(out),
                                  "--images", "3", "--held-out-images", "2"]) == 0
    assert len(list((out / "train").glob("*.jpg"))) == 3 and len(list((out / "held-out").glob("*.jpg"))) == 2
