"""Tests of the synthetic clip generator and of the MOT evaluation helper."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.synthetic import (
    ClipSpec,
    FaceSprite,
    GroundTruthBox,
    render_clip,
    sprites_from_voc,
    synthetic_sprites,
    write_clip,
    write_mot_ground_truth,
)
from benchmarks.mot_eval import evaluate_tracking

FACE_COLOURS = [(0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255)]
BACKGROUND = (128, 128, 128)
SHARED_DEV = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "faces" / "dev"


Colour = tuple[int, int, int]


def solid_sprites(colours: list[Colour], margin_colour: Colour | None = None) -> list[FaceSprite]:
    """Sprites whose face box (central 60 %) is one solid colour; the margin too unless given."""
    sprites = []
    for colour in colours:
        image = np.full((100, 80, 3), margin_colour or colour, np.uint8)
        image[20:80, 16:64] = colour
        sprites.append(FaceSprite(image, (0.2, 0.2, 0.8, 0.8)))
    return sprites


def plain_spec(**overrides: object) -> ClipSpec:
    """A small clip on a plain background without noise."""
    values = dict(width=240, height=180, frames=40, faces=1, seed=3, min_size=30, max_size=50,
                  background="plain", background_color=BACKGROUND, noise_sigma=0.0, occluder=False)
    values.update(overrides)
    return ClipSpec(**values)


def test_render_is_deterministic_from_seed() -> None:
    spec = ClipSpec(width=160, height=120, frames=12, faces=3, seed=7, min_size=20, max_size=40)
    first = list(render_clip(spec, synthetic_sprites(3, 1)))
    second = list(render_clip(spec, synthetic_sprites(3, 1)))
    other = list(render_clip(ClipSpec(**{**spec.__dict__, "seed": 8}), synthetic_sprites(3, 1)))
    assert all(np.array_equal(a[0], b[0]) and a[1] == b[1] for a, b in zip(first, second))
    assert not np.array_equal(first[5][0], other[5][0])


def test_ground_truth_box_matches_pasted_face() -> None:
    spec = plain_spec(allow_exit=False)
    for frame, truth in render_clip(spec, solid_sprites([(0, 0, 255)], margin_colour=(255, 0, 0))):
        (gt,) = truth
        red = (frame[:, :, 2] > 200) & (frame[:, :, 0] < 60) & (frame[:, :, 1] < 60)
        ys, xs = np.nonzero(red)
        found = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        assert np.allclose(found, gt.box, atol=1.0), (gt.frame, found, gt.box)
        assert gt.visible_fraction == pytest.approx(1.0)
        assert not gt.ignored


def test_faces_stay_inside_without_exit_and_leave_with_exit() -> None:
    def frames_with_face(allow_exit: bool) -> int:
        spec = plain_spec(frames=150, allow_exit=allow_exit, speed_range=(150.0, 200.0))
        return sum(1 for _, truth in render_clip(spec, solid_sprites([(0, 0, 255)])) if truth)

    assert frames_with_face(False) == 150
    assert frames_with_face(True) < 150


OCCLUDER_SHADES = ((70, 70, 70), (95, 95, 95))


def visible_share(frame: np.ndarray, box: tuple[float, float, float, float], face_id: int) -> float:
    """Share of the box's pixels that are not occluder and whose nearest face colour is the face's own."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    pixels = frame[y1:y2, x1:x2].reshape(-1, 3)
    occluder = np.zeros(len(pixels), bool)
    for shade in OCCLUDER_SHADES:
        occluder |= np.all(pixels == shade, axis=1)
    palette = np.array(FACE_COLOURS, np.float32)
    nearest = np.argmin(((pixels[:, None, :].astype(np.float32) - palette[None]) ** 2).sum(-1), axis=1)
    return float(np.mean((nearest == face_id - 1) & ~occluder))


def test_visible_fraction_accounts_for_faces_in_front_and_occluder() -> None:
    spec = plain_spec(width=200, height=160, frames=120, faces=4, seed=11, min_size=40, max_size=60,
                      allow_exit=False, occluder=True)
    occluded = by_occluder = 0
    for frame, truth in render_clip(spec, solid_sprites(FACE_COLOURS)):
        for gt in truth:
            assert gt.visible_fraction == pytest.approx(visible_share(frame, gt.box, gt.face_id), abs=0.02), gt
            assert gt.ignored == (gt.visible_fraction < spec.min_visible)
            occluded += gt.visible_fraction < 0.9
            by_occluder += gt.face_id == 4 and gt.visible_fraction < 0.9  # only the bar hides the front face
    assert occluded >= 20
    assert by_occluder >= 3


def test_visible_fraction_counts_frame_clipping() -> None:
    # A 40 px size with this 48x60 face region renders as a 36x45 face box in 60x75 sprites.
    spec = plain_spec(frames=150, min_size=40, max_size=40, scale_variation=0.0, speed_range=(150.0, 200.0))
    truth = [gt for _, frame_truth in render_clip(spec, solid_sprites([(0, 0, 255)])) for gt in frame_truth]
    for gt in truth:
        x1, y1, x2, y2 = gt.box
        assert gt.visible_fraction == pytest.approx((x2 - x1) * (y2 - y1) / (36 * 45))
    assert min(gt.visible_fraction for gt in truth) < 0.3
    assert any(gt.ignored for gt in truth)
    assert len(truth) < 150


def test_write_clip_reads_back(tmp_path: Path) -> None:
    spec = ClipSpec(width=320, height=240, fps=20.0, frames=30, faces=2, seed=2, min_size=30, max_size=60)
    path = tmp_path / "clip.mp4"
    truth = write_clip(path, spec, synthetic_sprites(2, 0))
    capture = cv2.VideoCapture(str(path))
    try:
        assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(20.0)
        frames = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        capture.release()
    assert len(frames) == 30
    assert frames[0].shape == (240, 320, 3)
    assert {gt.frame for gt in truth} <= set(range(30))
    assert len({gt.frame for gt in truth}) > 20


def test_mot_ground_truth_format(tmp_path: Path) -> None:
    boxes = [
        GroundTruthBox(1, 2, (10.0, 20.0, 50.0, 80.0), 1.0),
        GroundTruthBox(0, 1, (0.0, 5.5, 30.25, 45.5), 0.2, ignored=True),
    ]
    path = tmp_path / "gt.txt"
    write_mot_ground_truth(path, boxes)
    rows = [line.split(",") for line in path.read_text().splitlines()]
    assert [len(r) for r in rows] == [10, 10]
    assert [float(v) for v in rows[0]] == [1, 1, 0, 5.5, 30.25, 40, 0, -1, -1, -1]
    assert [float(v) for v in rows[1]] == [2, 2, 10, 20, 40, 60, 1, -1, -1, -1]


def tracks_from_truth(truth: list[list[GroundTruthBox]], swap_from: int | None = None) -> list[list[tuple[int, tuple]]]:
    """Perfect hypotheses (ids offset by 100); ids of faces 1 and 2 swap from frame ``swap_from``."""
    swap = {1: 2, 2: 1}
    return [
        [(100 + (swap.get(g.face_id, g.face_id) if swap_from is not None and f >= swap_from else g.face_id), g.box)
         for g in frame_truth if not g.ignored]
        for f, frame_truth in enumerate(truth)
    ]


def two_face_truth(frames: int = 20) -> list[list[GroundTruthBox]]:
    return [[GroundTruthBox(f, 1, (10.0 + f, 10.0, 50.0 + f, 60.0), 1.0),
             GroundTruthBox(f, 2, (100.0, 10.0 + f, 140.0, 60.0 + f), 1.0)] for f in range(frames)]


def test_evaluate_perfect_tracking() -> None:
    truth = two_face_truth()
    metrics = evaluate_tracking([g for frame in truth for g in frame], tracks_from_truth(truth))
    assert metrics["idf1"] == pytest.approx(1.0)
    assert metrics["mota"] == pytest.approx(1.0)
    assert metrics["num_switches"] == 0
    assert metrics["num_objects"] == 40
    assert metrics["mostly_tracked"] == 2


def test_evaluate_counts_id_swap() -> None:
    truth = two_face_truth()
    metrics = evaluate_tracking([g for frame in truth for g in frame], tracks_from_truth(truth, swap_from=10))
    assert metrics["num_switches"] == 2
    assert metrics["switches_in_view"] == 2
    assert metrics["switches_per_1000"] == pytest.approx(50.0)
    assert metrics["idf1"] == pytest.approx(0.5)


def test_switch_after_leaving_the_frame_is_attributed_to_the_exit() -> None:
    truth = [frame_truth if not 5 <= f < 10 else frame_truth[1:] for f, frame_truth in enumerate(two_face_truth())]
    tracked = [[(100 + g.face_id + (10 if f >= 10 and g.face_id == 1 else 0), g.box) for g in frame_truth]
               for f, frame_truth in enumerate(truth)]
    metrics = evaluate_tracking([g for frame in truth for g in frame], tracked)
    assert metrics["num_switches"] == 1
    assert metrics["switches_after_exit"] == 1
    assert metrics["switches_in_view"] == 0


def test_evaluate_ignores_hidden_faces_both_ways() -> None:
    truth = two_face_truth()
    for frame_truth in truth[5:10]:
        frame_truth[0].ignored = True
    flat = [g for frame in truth for g in frame]
    tracked_hidden = [[(100 + g.face_id, g.box) for g in frame_truth] for frame_truth in truth]
    for tracked in (tracks_from_truth(truth), tracked_hidden):
        metrics = evaluate_tracking(flat, tracked)
        assert metrics["num_objects"] == 35
        assert metrics["num_false_positives"] == 0
        assert metrics["num_misses"] == 0


def test_evaluate_misses_and_false_positives() -> None:
    truth = two_face_truth(10)
    tracked = [[(101, frame_truth[0].box), (103, (300.0, 300.0, 340.0, 340.0))] for frame_truth in truth]
    metrics = evaluate_tracking([g for frame in truth for g in frame], tracked)
    assert metrics["num_misses"] == 10
    assert metrics["num_false_positives"] == 10
    assert metrics["mostly_lost"] == 1


def test_synthetic_sprites_are_distinct() -> None:
    sprites = synthetic_sprites(6, 0)
    assert len(sprites) == 6
    for sprite in sprites:
        assert sprite.image.dtype == np.uint8 and sprite.image.ndim == 3
        x1, y1, x2, y2 = sprite.face_box
        assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1
    means = np.array([s.image.reshape(-1, 3).mean(0) for s in sprites])
    assert min(np.linalg.norm(means[i] - means[j]) for i in range(6) for j in range(i)) > 3


def test_sprites_from_voc_on_a_tiny_folder(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "annotations").mkdir()
    image = np.zeros((120, 160, 3), np.uint8)
    image[10:70, 5:55] = (0, 0, 255)
    cv2.imwrite(str(tmp_path / "images" / "a.jpg"), image)
    objects = [("5", "10", "55", "70", "0"), ("100", "20", "150", "80", "1"), ("60", "60", "70", "70", "0")]
    xml = "".join(
        f"<object><name>face</name><difficult>{d}</difficult><bndbox><xmin>{a}</xmin><ymin>{b}</ymin>"
        f"<xmax>{c}</xmax><ymax>{e}</ymax></bndbox></object>" for a, b, c, e, d in objects
    )
    (tmp_path / "annotations" / "a.xml").write_text(f"<annotation>{xml}</annotation>")
    (sprite,) = sprites_from_voc(tmp_path, 1, seed=0, min_size=48)
    h, w = sprite.image.shape[:2]
    x1, y1, x2, y2 = sprite.face_box
    face = sprite.image[int(y1 * h) + 2:int(y2 * h) - 2, int(x1 * w) + 2:int(x2 * w) - 2]
    assert face[:, :, 2].mean() > 200 and face[:, :, 0].mean() < 40
    with pytest.raises(ValueError):
        sprites_from_voc(tmp_path, 2, seed=0, min_size=48)


@pytest.mark.skipif(not SHARED_DEV.is_dir(), reason="../shared/data is not available")
def test_sprites_from_shared_dev_set() -> None:
    sprites = sprites_from_voc(SHARED_DEV, 3, seed=0)
    assert len(sprites) == 3
    assert all(min(s.image.shape[:2]) >= 48 for s in sprites)
