"""Who is who: grouping, the gallery, people.json, and the --identify/--known-faces command line.

Most tests use synthetic descriptors (no dlib, no SFace); the end-to-end ones need the ``identity`` extra
and the shipped detector and skip without them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from apps.descriptors import identity_problem
from apps.gallery import NAME_THRESHOLD, Gallery, GalleryError, load_gallery, main_face
from apps import grouping
from apps.grouping import NAMING_GROUP_DISTANCE, group, label_tracks, track_distances
from apps.people import write_people
from apps.reidentify import box_in_crop
from apps.video_job import VideoResult
from tests.cli_helpers import run_cli
from tracker.quality import extract_crop

ROOT = Path(__file__).resolve().parents[1]
needs_identity = pytest.mark.skipif(
    identity_problem() is not None or not (ROOT / "detectors" / "weights" / "faceboxes.onnx").is_file(),
    reason="needs the identity extra (pip install -e '.[identity]') and the shipped detector")


def unit(seed: int, spread: float = 0.0, base: int | None = None) -> np.ndarray:
    """A 128-D descriptor: person ``base`` (or ``seed``) plus ``spread`` of noise from ``seed``."""
    person = np.random.default_rng(1000 + (seed if base is None else base)).normal(size=128)
    noise = np.random.default_rng(seed).normal(size=128)
    return (person / np.linalg.norm(person) + spread * noise / np.linalg.norm(noise)).astype(np.float32)


# ------------------------------------------------------------------------------------ grouping


def test_grouping_finds_the_people_and_numbers_them_by_first_track() -> None:
    tracks = [unit(10 + i, 0.1, base=i % 3)[None] for i in range(9)]  # people 0, 1, 2, 0, 1, 2...
    assert group(tracks) == [0, 1, 2, 0, 1, 2, 0, 1, 2]


def test_grouping_never_joins_tracks_that_cannot_link() -> None:
    tracks = [unit(1, 0.05, base=0)[None], unit(2, 0.05, base=0)[None], unit(3, 0.05, base=0)[None]]
    apart = np.zeros((3, 3), bool)
    apart[0, 1] = apart[1, 0] = True
    labels = group(tracks, apart)
    assert labels[0] != labels[1] and len(set(labels)) == 2


def test_grouping_of_nothing_and_of_strangers() -> None:
    assert group([]) == []
    assert group([unit(1)[None]]) == [0]
    assert group([unit(i)[None] for i in range(4)]) == [0, 1, 2, 3]
    broken = np.full((1, 128), np.nan, np.float32)  # e.g. from a hand-edited identity.json
    assert group([unit(1, 0.05, base=0)[None], broken, unit(2, 0.05, base=0)[None]]) == [0, 1, 0]


def plain_average_linkage(between: np.ndarray, apart: np.ndarray, cut: float) -> list[int]:
    """The textbook greedy form of :func:`group` (merge the nearest allowed pair while nearer than ``cut``)."""
    groups = [[index] for index in range(len(between))]
    while True:
        best, pair = cut, None
        for first in range(len(groups)):
            for second in range(first + 1, len(groups)):
                if apart[np.ix_(groups[first], groups[second])].any():
                    continue
                mean = between[np.ix_(groups[first], groups[second])].mean()
                if mean < best:
                    best, pair = mean, (first, second)
        if pair is None:
            break
        groups[pair[0]] += groups.pop(pair[1])
    labels = [0] * len(between)
    for number, members in enumerate(sorted(groups, key=min)):
        for index in members:
            labels[index] = number
    return labels


def test_grouping_equals_plain_average_linkage_with_cannot_links() -> None:
    rng = np.random.default_rng(5)
    for _ in range(12):
        count = int(rng.integers(2, 40))
        people = rng.normal(size=(max(count // 4, 1), 128))
        people /= np.linalg.norm(people, axis=1, keepdims=True)
        tracks = [(people[rng.integers(len(people))] + rng.uniform(0.1, 0.6) * rng.normal(size=(int(rng.integers(1, 4)), 128))
                   / np.sqrt(128)).astype(np.float32) for _ in range(count)]
        apart = rng.random((count, count)) < 0.05
        apart = apart | apart.T
        np.fill_diagonal(apart, False)
        for cut in (0.3, 0.45, 0.55):
            assert group(tracks, apart, cut) == plain_average_linkage(track_distances(tracks), apart, cut)


def test_track_distances_average_every_descriptor_pair_block_by_block(monkeypatch: pytest.MonkeyPatch) -> None:
    tracks = [unit(seed)[None].repeat(1 + seed % 3, axis=0) + 0.01 * seed for seed in range(7)]
    expected = np.array([[np.mean([np.linalg.norm(a - b) for a in left for b in right]) for right in tracks] for left in tracks])
    assert np.allclose(track_distances(tracks), expected, atol=1e-5)
    monkeypatch.setattr(grouping, "_DISTANCE_BLOCK", 1)  # one track per block
    assert np.allclose(track_distances(tracks), expected, atol=1e-5)


# ------------------------------------------------------------------------------------ descriptors

ASTRONAUT_FACE = np.array([180.0, 66.0, 265.0, 172.0])
"""The shipped detector's box of the face in skimage's astronaut photo (512 px wide)."""


@needs_identity
def test_mirrored_descriptors_barely_change_when_the_face_is_flipped() -> None:
    from apps.descriptors import FaceDescriber, distances

    astronaut = pytest.importorskip("skimage.data").astronaut
    image = cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR)
    flipped = np.ascontiguousarray(image[:, ::-1])
    flipped_box = np.array([image.shape[1] - ASTRONAUT_FACE[2], ASTRONAUT_FACE[1],
                            image.shape[1] - ASTRONAUT_FACE[0], ASTRONAUT_FACE[3]])
    apart = {}
    for mirror in (False, True):
        describer = FaceDescriber(mirror)
        chip = describer.chip(image, ASTRONAUT_FACE)
        chip_apart = distances(describer.describe_chip(chip), describer.describe_chip(chip[:, ::-1].copy()))[0, 0]
        assert (chip_apart < 1e-6) == mirror  # measured: 0.0 mirrored, 0.22 not (SFace)
        apart[mirror] = distances(describer.describe(image, ASTRONAUT_FACE), describer.describe(flipped, flipped_box))[0, 0]
    # the landmarks of the flipped photo are not exactly the flipped landmarks: measured 0.11 and 0.23 (SFace)
    assert apart[True] < 0.15 and apart[True] < 0.7 * apart[False]


def test_the_similarity_transform_recovers_a_turn_scale_and_shift() -> None:
    from apps.descriptors import similarity_transform

    angle, scale, shift = 0.3, 1.7, np.array([12.0, -4.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    source = np.random.default_rng(0).uniform(0, 100, (5, 2))
    target = source @ (scale * rotation).T + shift
    matrix = similarity_transform(source, target)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_dlib_like_box_moves_and_resizes_the_box_by_the_mapping() -> None:
    from apps.descriptors import dlib_like_box

    box = np.array([100.0, 200.0, 200.0, 400.0, 0.9])  # centre (150, 300), 100 x 200
    # centre (150 + 0.1 * 100, 300 - 0.1 * 200) = (160, 280), size 120 x 160
    assert dlib_like_box(box, (0.1, -0.1, 1.2, 0.8)) == (100, 200, 220, 360)
    assert dlib_like_box(box, (0.0, 0.0, 1.0, 1.0)) == (100, 200, 200, 400)


@needs_identity
def test_landmarks_are_found_in_the_mapped_box_only_with_map_box() -> None:
    from apps.descriptors import FaceDescriber, dlib_like_box

    astronaut = pytest.importorskip("skimage.data").astronaut
    image = cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR)
    for map_box in (False, True):
        describer = FaceDescriber(map_box=map_box)
        seen, predict = [], describer._landmarks
        describer._landmarks = lambda rgb, rectangle: seen.append(rectangle) or predict(rgb, rectangle)
        describer.chip(image, ASTRONAUT_FACE)
        expected = dlib_like_box(ASTRONAUT_FACE) if map_box else (180, 66, 265, 172)
        assert [(r.left(), r.top(), r.right(), r.bottom()) for r in seen] == [expected]


# ------------------------------------------------------------------------------------ gallery


class FakeDescriber:
    """Describes a photo by its grey level: one person per level."""

    def describe(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        return unit(int(image.mean()))


def fake_finder(image: np.ndarray) -> np.ndarray:
    """Grey level 200: no face; 150: two faces of one size; else one face (and a tiny one behind)."""
    level = int(image.mean())
    if level == 200:
        return np.zeros((0, 5))
    if level == 150:
        return np.array([[0, 0, 20, 20, 0.9], [30, 30, 50, 50, 0.9]], float)
    return np.array([[2, 2, 4, 4, 0.9], [10, 10, 50, 50, 0.9]], float)


def write_photo(path: Path, level: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((60, 60, 3), level, np.uint8))


def test_gallery_skips_each_bad_photo_with_one_warning_naming_it(tmp_path: Path) -> None:
    write_photo(tmp_path / "ada" / "1.jpg", 10)
    write_photo(tmp_path / "ada" / "2.png", 12)
    (tmp_path / "ada" / "broken.jpg").write_bytes(b"not an image")
    write_photo(tmp_path / "bob.png", 40)
    write_photo(tmp_path / "nobody.jpg", 200)
    write_photo(tmp_path / "crowd" / "1.jpg", 150)
    (tmp_path / "notes.txt").write_text("ignored: not a photo")
    warnings: list[str] = []
    gallery = load_gallery(tmp_path, fake_finder, FakeDescriber(), warnings.append)
    assert gallery.names == ["ada", "ada", "bob"] and gallery.people == ["ada", "bob"]
    assert len(warnings) == 3
    for name, reason in [("broken.jpg", "cannot read"), ("nobody.jpg", "no face"), ("crowd/1.jpg", "2 faces")]:
        assert any(name in warning and reason in warning for warning in warnings), warnings


def test_gallery_without_a_usable_photo_is_an_error(tmp_path: Path) -> None:
    write_photo(tmp_path / "nobody.jpg", 200)
    with pytest.raises(GalleryError, match="no usable photo"):
        load_gallery(tmp_path, fake_finder, FakeDescriber(), print)
    with pytest.raises(GalleryError, match="not a folder"):
        load_gallery(tmp_path / "missing", fake_finder, FakeDescriber(), print)


def test_main_face_ignores_small_background_faces() -> None:
    face, _ = main_face(np.array([[0, 0, 10, 10, 0.9], [0, 0, 40, 40, 0.8]], float))
    assert face is not None and face[2] == 40


def test_naming_takes_the_nearest_person_under_the_threshold() -> None:
    gallery = Gallery(["ada", "ada", "bob"], np.stack([unit(1, 0.1, base=0), unit(2, 0.1, base=0), unit(3, base=1)]))
    assert gallery.name(unit(4, 0.1, base=0)[None]) == "ada"
    assert gallery.name(unit(5, 0.05, base=1)[None]) == "bob"
    assert gallery.name(unit(99)[None]) is None  # a stranger
    assert Gallery().name(unit(1)[None]) is None


def test_a_face_about_as_near_two_people_is_not_named() -> None:
    """The margin: named only when the second-nearest person is at least ``margin`` farther."""
    ann, bob = unit(0), unit(1)
    between = (ann + bob) / 2 + 0.001 * unit(7)  # as near one as the other
    gallery = Gallery(["ann", "bob"], np.stack([ann, bob]))
    near_ann, near_bob = (float(np.linalg.norm(between - person)) for person in (ann, bob))
    loose = max(near_ann, near_bob) + 0.01
    assert abs(near_ann - near_bob) < 0.01
    assert gallery.name(between[None], threshold=loose, margin=0.0) in {"ann", "bob"}
    assert gallery.name(between[None], threshold=loose, margin=0.04) is None
    closer = unit(8, 0.3, base=0)  # clearly ann's
    assert gallery.name(closer[None], threshold=loose + 1.0, margin=0.04) == "ann"
    assert Gallery(["ann"], ann[None]).name(closer[None], threshold=loose + 1.0, margin=0.04) == "ann"  # no second person


def axis(index: int, length: float) -> np.ndarray:
    """``length`` times the ``index``-th unit vector of the descriptor space."""
    vector = np.zeros(128, np.float32)
    vector[index] = length
    return vector


def test_a_known_persons_far_shot_is_named_with_the_rest_of_its_group() -> None:
    """Tracks are named in tight groups: a shot just past the threshold is named with its nearer twin."""
    gallery = Gallery(["ann", "bob"], np.stack([axis(0, 0.0), axis(5, 2.0)]))  # ann's photo at the origin
    near_length, far_length = 0.85 * NAME_THRESHOLD, 1.1 * NAME_THRESHOLD  # from ann
    apart = np.sqrt(far_length**2 - near_length**2)
    near, far = axis(1, near_length), axis(1, near_length) + axis(2, apart)
    assert apart < NAMING_GROUP_DISTANCE  # one tight group; its mean distance to ann is 0.975 NAME_THRESHOLD
    assert gallery.name(far[None]) is None  # alone, past NAME_THRESHOLD
    assert label_tracks([near[None], far[None]], gallery) == ["ann", "ann"]
    assert label_tracks([near[None], far[None]], gallery, naming_cut=0.0) == ["ann", "unknown-1"]  # each alone


def test_an_unknown_look_alike_is_named_only_if_its_group_is_as_near() -> None:
    gallery = Gallery(["ann", "bob"], np.stack([axis(0, 0.0), axis(5, 2.0)]))
    near_length, side = 0.94 * NAME_THRESHOLD, 0.65 * NAME_THRESHOLD  # 0.94, 1.15, 1.15 NAME_THRESHOLD from ann
    shots = [axis(1, near_length), axis(1, near_length) + axis(2, side), axis(1, near_length) + axis(3, side)]
    assert side * (1 + np.sqrt(2)) / 2 < NAMING_GROUP_DISTANCE  # the three make one tight group
    assert gallery.name(shots[0][None]) == "ann"  # one shot alone looks like ann
    assert label_tracks([shot[None] for shot in shots], gallery) == ["unknown-1"] * 3  # the group does not (mean 1.08)
    apart = np.array([[False, True, False], [True, False, False], [False, False, False]])  # 0 and 1 seen together
    labels = label_tracks([shot[None] for shot in shots], gallery, apart)
    assert labels[0] != labels[1] and not set(labels) & set(gallery.people)


def test_box_in_crop_points_at_the_face_of_a_crop_cut_at_the_frame_edge() -> None:
    frame = np.random.default_rng(0).integers(0, 255, (100, 120, 3), dtype=np.uint8)
    for box in (np.array([2.0, 3.0, 42.0, 53.0]), np.array([60.0, 40.0, 100.0, 90.0])):
        crop = extract_crop(frame, box, 0.2)
        x1, y1, x2, y2 = box_in_crop(box, 0.2).astype(int)
        assert np.array_equal(crop[y1:y2, x1:x2], frame[int(box[1]):int(box[3]), int(box[0]):int(box[2])])


# ------------------------------------------------------------------------------------ people.json


def make_video(root: Path, name: str, spans: dict[int, tuple[int, int]], descriptors: dict[int, np.ndarray]) -> VideoResult:
    """A finished video folder: tracks.jsonl with tracks over ``spans`` (frames, inclusive), its
    identity.json and summary.json."""
    folder = root / name
    folder.mkdir(parents=True)
    lines = []
    for frame in range(1, max(last for _, last in spans.values()) + 1):
        faces = [{"id": track, "box": [0, 0, 10, 10], "score": 0.9, "detected": True}
                 for track, (first, last) in spans.items() if first <= frame <= last]
        lines.append(json.dumps({"frame": frame, "time": frame / 25, "shot": 0, "faces": faces}))
    (folder / "tracks.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "identity.json").write_text(json.dumps({"tracks": [
        {"id": track, "best_crop": f"faces/{track}/best.jpg", "descriptors": [descriptor.tolist()]}
        for track, descriptor in descriptors.items()]}))
    (folder / "summary.json").write_text(json.dumps({"status": "complete", "tracks": len(spans)}))
    return VideoResult(input=f"{name}.mp4", output_dir=str(folder), status="complete")


def test_people_json_names_known_tracks_and_groups_the_others_across_videos(tmp_path: Path) -> None:
    ada, stranger, twin = unit(1, 0.05, base=0), unit(2, 0.05, base=5), unit(3, 0.05, base=5)
    results = [
        make_video(tmp_path, "one", {1: (1, 10), 2: (1, 10), 3: (5, 8)}, {1: ada, 2: stranger, 3: twin}),
        make_video(tmp_path, "two", {1: (1, 4), 2: (6, 9)}, {1: unit(4, 0.05, base=5), 2: unit(50)}),
        VideoResult(input="failed.mp4", output_dir=str(tmp_path / "failed"), status="failed"),
    ]
    gallery = Gallery(["ada"], unit(6, 0.05, base=0)[None])
    path = write_people(tmp_path, results, gallery)
    people = json.loads(path.read_text())
    assert path == tmp_path / "people.json"
    assert people == {"people": [
        {"person": "ada", "known": True,
         "tracks": [{"video": "one", "id": 1, "frames": 10, "best_crop": "one/faces/1/best.jpg"}]},
        # tracks 2 and 3 of "one" look alike but are on screen together: two people
        {"person": "unknown-1", "known": False,
         "tracks": [{"video": "one", "id": 2, "frames": 10, "best_crop": "one/faces/2/best.jpg"}]},
        {"person": "unknown-2", "known": False,
         "tracks": [{"video": "one", "id": 3, "frames": 4, "best_crop": "one/faces/3/best.jpg"},
                    {"video": "two", "id": 1, "frames": 4, "best_crop": "two/faces/1/best.jpg"}]},
        {"person": "unknown-3", "known": False,
         "tracks": [{"video": "two", "id": 2, "frames": 4, "best_crop": "two/faces/2/best.jpg"}]},
    ]}
    first_line = json.loads((tmp_path / "one" / "tracks.jsonl").read_text().splitlines()[0])
    assert [face["person"] for face in first_line["faces"]] == ["ada", "unknown-1"]  # track 3 starts on frame 5
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert summary["tracks"] == 2 and summary["track_people"] == [
        {"id": 1, "person": "unknown-2", "frames": 4, "best_crop": "faces/1/best.jpg"},
        {"id": 2, "person": "unknown-3", "frames": 4, "best_crop": "faces/2/best.jpg"}]


def test_people_json_without_a_gallery_has_only_unknowns(tmp_path: Path) -> None:
    results = [make_video(tmp_path, "v", {1: (1, 3)}, {1: unit(1)})]
    people = json.loads(write_people(tmp_path, results, None).read_text())["people"]
    assert [(person["person"], person["known"]) for person in people] == [("unknown-1", False)]


# ------------------------------------------------------------------------------------ command line


def test_identify_without_the_extra_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("apps.descriptors.identity_problem", lambda: "face identity needs dlib: pip install -e '.[identity]'")
    for flag in (["--identify"], ["--known-faces", tmp_path]):
        run = run_cli(ROOT / "media" / "demo.mp4", "-o", tmp_path / "out", *flag)
        assert run.code == 2 and "pip install -e '.[identity]'" in run.line("error:")
    assert not (tmp_path / "out").exists()


@needs_identity
def test_gallery_without_a_usable_photo_stops_before_any_video(tmp_path: Path) -> None:
    gallery = tmp_path / "known"
    gallery.mkdir()
    (gallery / "ada.jpg").write_bytes(b"not an image")
    run = run_cli(ROOT / "media" / "demo.mp4", "-o", tmp_path / "out", "--known-faces", gallery)
    assert run.code == 2
    assert "ada.jpg" in run.line("warning:") and "no usable photo" in run.line("error:")
    assert not (tmp_path / "out").exists()


@needs_identity
def test_known_faces_name_the_demo_people_in_every_video(tmp_path: Path) -> None:
    astronaut = pytest.importorskip("skimage.data").astronaut
    gallery = tmp_path / "known"
    gallery.mkdir()
    cv2.imwrite(str(gallery / "astronaut.png"), cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR))
    (gallery / "broken.jpg").write_bytes(b"")
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a", "b"):
        shutil.copy(ROOT / "media" / "demo.mp4", videos / f"{name}.mp4")
    run = run_cli(videos, "-o", tmp_path / "out", "--known-faces", gallery, "--no-video", "--threads", "2")
    assert run.code == 0 and "broken.jpg" in run.line("warning:")
    people = json.loads((tmp_path / "out" / "people.json").read_text())["people"]
    assert people[0]["person"] == "astronaut" and people[0]["known"]
    assert {track["video"] for track in people[0]["tracks"]} == {"a", "b"}
    for person in people:
        for track in person["tracks"]:
            assert (tmp_path / "out" / track["best_crop"]).is_file()
    named = [face["person"] for line in (tmp_path / "out" / "a" / "tracks.jsonl").read_text().splitlines()
             for face in json.loads(line)["faces"]]
    assert named and all(name is not None for name in named)
    assert 'id="people"' in (tmp_path / "out" / "index.html").read_text()


@needs_identity
def test_runs_without_identify_write_no_identity_fields(tmp_path: Path) -> None:
    run_cli(ROOT / "media" / "demo.mp4", "-o", tmp_path, "--no-video", "--threads", "2")
    assert not (tmp_path / "people.json").exists() and not (tmp_path / "demo" / "identity.json").exists()
    assert '"person"' not in (tmp_path / "demo" / "tracks.jsonl").read_text()
    assert '"identify"' not in (tmp_path / "demo" / "summary.json").read_text()


# ------------------------------------------------------------------------------------ benchmark


def test_identity_benchmark_scores_well_separated_people_perfectly() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from identity import Photos, trial

    names = [f"p{person}" for person in range(30) for _ in range(5)]
    descriptors = np.stack([unit(index, 0.1, base=int(name[1:])) for index, name in enumerate(names)])
    photos = Photos(names, names, descriptors, np.ones(len(names), bool), 1.0)
    scores = trial(photos, np.random.default_rng(0), known=20, unknown=10, gallery_photos=2, shots=60)
    assert scores.known_named_right == 1.0 and scores.unknown_named == 0.0 and scores.pairwise_f1 == 1.0


def test_identity_benchmark_carries_thresholds_over_by_shares_of_pairs() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from identity import Photos, matched_thresholds, pair_distances

    names = [f"p{person}" for person in range(30) for _ in range(5)]
    descriptors = np.stack([unit(index, 0.6, base=int(name[1:])) for index, name in enumerate(names)])
    reference = Photos(names, names, descriptors, np.ones(len(names), bool), 1.0)
    halved = Photos(names, names, descriptors / 2, np.ones(len(names), bool), 1.0)  # every distance halved
    same, different = pair_distances(reference)
    values = {"NAME_THRESHOLD": float(np.quantile(different, 0.01)), "VETO_DISTANCE": float(np.quantile(same, 0.9))}
    matched = matched_thresholds(reference, halved, values)
    assert matched["NAME_THRESHOLD"]["share"] == pytest.approx(0.01, abs=1e-3)
    assert matched["VETO_DISTANCE"]["share"] == pytest.approx(0.1, abs=1e-2)  # same-person pairs beyond it
    for name, value in values.items():
        assert matched[name]["matched"] == pytest.approx(value / 2, abs=2e-3)


def test_identity_benchmark_refuses_a_cache_of_the_other_descriptor_variant(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from identity import DLIB_NETWORK, cache_path, describe_photos

    assert len({cache_path(mirror, map_box) for mirror in (False, True) for map_box in (False, True)}) == 4
    cache = tmp_path / "descriptors.npz"
    np.savez(cache, names=["p0"], paths=["p0.jpg"], descriptors=unit(0)[None], gallery_ok=[True], ms_per_face=1.0,
             mirror=False)
    assert describe_photos(tmp_path, cache, mirror=False, map_box=False).names == ["p0"]
    with pytest.raises(SystemExit, match="another variant"):
        describe_photos(tmp_path, cache, mirror=True)
    with pytest.raises(SystemExit, match="another variant"):  # a cache without map_box has unmapped boxes
        describe_photos(tmp_path, cache, mirror=False, map_box=True)
    dlib_cache = tmp_path / "dlib.npz"
    np.savez(dlib_cache, names=["p0"], paths=["p0.jpg"], descriptors=unit(1)[None], gallery_ok=[True], ms_per_face=1.0,
             mirror=False, map_box=False, network=DLIB_NETWORK)
    assert describe_photos(tmp_path, dlib_cache, network=DLIB_NETWORK).names == ["p0"]
    with pytest.raises(SystemExit, match="dlib-resnet"):  # dlib's descriptors are not FaceTrack's
        describe_photos(tmp_path, dlib_cache)


def test_identity_benchmark_renames_saved_tracks_at_another_threshold(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from identity import SlideshowShot, names_at, naming_rates, shot_labels

    gallery = Gallery(["ann", "bob"], np.stack([unit(0), unit(1)]))
    video = tmp_path / "v00"
    video.mkdir()
    near, far = unit(0, 0.3), unit(2)  # a face somewhat like ann's, and a stranger
    distance = float(np.linalg.norm(near - unit(0)))
    (video / "identity.json").write_text(json.dumps({"tracks": [{"id": 1, "descriptors": [near.tolist()]},
                                                                {"id": 2, "descriptors": [far.tolist()]}]}))
    frames = [{"frame": 1, "faces": [{"id": 1, "person": None}]}, {"frame": 2, "faces": [{"id": 2, "person": None}]}]
    (video / "tracks.jsonl").write_text("".join(json.dumps(frame) + "\n" for frame in frames))
    shots = [SlideshowShot("ann", "a.jpg", "v00", 1), SlideshowShot("cid", "c.jpg", "v00", 2)]
    strict = names_at(tmp_path, gallery, distance - 1e-3)
    lenient = names_at(tmp_path, gallery, distance + 1e-3)
    assert strict == {("v00", 1): "unknown-1", ("v00", 2): "unknown-2"}  # labelled as the application labels them
    assert lenient == {("v00", 1): "ann", ("v00", 2): "unknown-1"}
    assert shot_labels(tmp_path, shots, 1) == [None, None]  # the saved names
    labels = shot_labels(tmp_path, shots, 1, lenient)
    assert labels == ["ann", "unknown-1"]
    rates = naming_rates(labels, ["ann", "cid"], ["ann", "bob"])
    assert rates == {"known_named_right": 1.0, "known_named_wrong": 0.0, "unknown_named": 0.0}


def test_grouping_speed_benchmark_prints_a_row_per_size(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from grouping_speed import main

    main(["--tracks", "8", "40", "--descriptors", "2"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split("|")[1].strip() for row in rows] == ["8", "40"]
    assert all(int(row.split("|")[4]) == int(row.split("|")[1]) // 4 for row in rows)  # four tracks per person merge


def test_only_tracks_of_one_video_on_screen_together_cannot_link() -> None:
    from apps.people import TrackRecord, cannot_link

    def record(video: str, frames: range) -> TrackRecord:
        return TrackRecord(video, Path(video), 1, len(frames), set(frames), None, None)

    tracks = [record("a", range(0, 10)), record("b", range(0, 10)), record("a", range(5, 15)), record("a", range(20, 30))]
    expected = np.zeros((4, 4), bool)
    expected[0, 2] = expected[2, 0] = True  # same video, frames 5-9 together; "b" shares frame numbers only
    assert (cannot_link(tracks) == expected).all()
