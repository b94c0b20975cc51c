"""Who is who on LFW photos: descriptor accuracy, naming against a gallery, grouping one-shot tracks.

Every photo of ``../shared/data/identity/lfw-dev`` (``<Name>/<Name>_NNNN.jpg``) goes through the
path a track's best crop takes: the shipped detector finds the faces at its track-start score, the
face nearest the photo's centre is the person's, and :class:`apps.descriptors.FaceDescriber`
describes it, with test-time mirroring or not (``--mirror`` / ``--no-mirror``, default
:data:`apps.descriptors.MIRROR`) and with the landmarks found in our box or in the dlib-like box it
maps to (``--map-box`` / ``--no-map-box``, default :data:`apps.descriptors.MAP_BOX`); descriptors are
cached per variant in ``--cache``, by default ``/tmp/facetrack-lfw-dev-descriptors-<variant>.npz``,
and a cache of another variant is refused; describing all 1,889 photos takes minutes. Then:

* **pairs**: the shares of same- and different-person pairs of photos nearer than each of the
  application's distance thresholds;
* **naming**: the gallery is ``--gallery-photos`` photos of each known person (only photos
  ``--known-faces`` would accept: one main face); every other photo is a shot (a one-shot track),
  labelled as the application labels a batch (:func:`apps.grouping.label_tracks`: tight groups,
  cut at ``--naming-group-distance``, named together): the share of known shots named right (and
  wrong), and of unknown shots given a gallery name;
* **grouping**: the shots left unnamed are grouped at ``--group-distance`` (one shot at a time,
  so no cannot-link constraint applies) and the pairwise precision, recall and F1 of "same
  label" (a gallery name or a group) against "same person" are reported over all shots.

Each trial draws its people at random, as the issue's held-out check is built (40 known people with
2 gallery photos, 20 unknown, 240 shots); the mean and the worst of ``--trials`` trials are reported.

``--fit-box-mapping`` instead fits :data:`apps.descriptors.BOX_MAPPING` (see
:func:`fit_box_mapping`) and prints the fit.

``--slideshow OUT`` instead runs the whole application (``start.py``) on slideshow clips built as
the issue's held-out check is (:mod:`slideshow`: one photo per shot scaled onto a plain background
of a random colour, hard cuts; 40 known people with 2 gallery photos each, 20 unknown; 240 shots of
15 frames in 20 videos, every person in at least two videos; the photos of the shots are not in the
gallery), once with ``--known-faces`` and once without ``--identify`` (``--no-video``, the same
videos, one after the other), and scores each shot by the person most of its faces were given in
``tracks.jsonl``: known shots named right, unknown shots given a gallery name, pairwise F1 of the
shots' labels against the truth (``people.json``'s grouping), the descriptor's ms per face (this
process, on the shots' photos) and the cost per frame that ``--known-faces`` adds (the videos'
``wall_seconds``). The application describes faces with its default (:data:`apps.descriptors.MIRROR`),
so ``--slideshow`` takes no other ``--mirror`` or ``--map-box`` setting.

Usage: ``python benchmarks/identity.py [--data DIR] [--mirror|--no-mirror] [--map-box|--no-map-box] [--cache PATH]
[--known 40] [--unknown 20] [--gallery-photos 2] [--shots 240] [--trials 10] [--seed 0] [--name-threshold T]
[--group-distance D] [--naming-group-distance D] [--json PATH] [--slideshow OUT [--videos 20] [--shot-frames 15]]
[--fit-box-mapping] [--match-thresholds REFERENCE_CACHE]`` (thresholds default to the application's).

``--match-thresholds REFERENCE_CACHE`` prints the application's thresholds carried over from the
descriptors of ``REFERENCE_CACHE`` (dlib's, with which they were chosen) to this network's, by shares of
lfw-dev pairs (:func:`matched_thresholds`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.descriptors import DESCRIPTOR_NETWORK, MAP_BOX, MIRROR, FaceDescriber, distances  # noqa: E402
from apps.gallery import NAME_MARGIN, NAME_THRESHOLD, Gallery, main_face  # noqa: E402
from apps.grouping import GROUP_DISTANCE, NAMING_GROUP_DISTANCE, label_tracks  # noqa: E402
from apps.reidentify import REID_DISTANCE, VETO_DISTANCE  # noqa: E402
from detectors.boxes import pairwise_iou  # noqa: E402
from slideshow import BACKGROUND, FRAME_SIZE, Shot, write_slideshow  # noqa: E402

#: The name of dlib's ResNet descriptor in descriptor caches (FaceTrack's descriptor is
#: :data:`apps.descriptors.DESCRIPTOR_NETWORK`).
DLIB_NETWORK = "dlib-resnet"

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "identity" / "lfw-dev"


@dataclass
class Photos:
    """Described photos: ``names[i]``, ``paths[i]``, ``descriptors[i]`` (NaN when no face was found);
    ``gallery_ok[i]``: the photo would be accepted into a gallery (exactly one main face)."""

    names: list[str]
    paths: list[str]
    descriptors: np.ndarray
    gallery_ok: np.ndarray
    ms_per_face: float


def cache_path(mirror: bool, map_box: bool = MAP_BOX) -> Path:
    """The default descriptor cache of one variant (one file per descriptor network and variant, so they never mix)."""
    variant = ("mirrored" if mirror else "one-chip") + ("-mapped-box" if map_box else "")
    return Path(f"/tmp/facetrack-lfw-dev-descriptors-{DESCRIPTOR_NETWORK}-{variant}.npz")


def central_face(faces: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The face nearest the centre of ``image`` (the person's, on a portrait photo)."""
    centre = np.array(image.shape[1::-1]) / 2
    offsets = np.hypot((faces[:, 0] + faces[:, 2]) / 2 - centre[0], (faces[:, 1] + faces[:, 3]) / 2 - centre[1])
    return faces[int(np.argmin(offsets))]


def describe_photos(data: Path, cache: Path, mirror: bool = MIRROR, map_box: bool = MAP_BOX,
                    network: str = DESCRIPTOR_NETWORK) -> Photos:
    """Describe every photo of ``data`` (or read the descriptors from ``cache``, which must hold the
    same variant: ``mirror`` and ``map_box`` or not; a cache without ``map_box`` has unmapped boxes) with
    FaceTrack's descriptor, or with dlib's ResNet when ``network`` is :data:`DLIB_NETWORK` (the
    reference of ``--match-thresholds``; caches written before networks were recorded are taken as is)."""
    if cache.is_file():
        stored = np.load(cache, allow_pickle=False)
        stored_map_box = bool(stored["map_box"]) if "map_box" in stored else False
        if "mirror" not in stored or bool(stored["mirror"]) != mirror or stored_map_box != map_box:
            sys.exit(f"{cache} holds descriptors of another variant than mirror={mirror}, map_box={map_box}: "
                     "give another --cache")
        if "network" in stored and str(stored["network"]) != network:
            sys.exit(f"{cache} holds descriptors of {stored['network']}, not {network}: give another cache")
        return Photos(list(stored["names"]), list(stored["paths"]), stored["descriptors"], stored["gallery_ok"],
                      float(stored["ms_per_face"]))
    from apps.detector_spec import DetectorSpec

    detector = DetectorSpec().load()
    if network == DLIB_NETWORK:
        from descriptor_comparison import DlibResNet

        describer = DlibResNet()
    else:
        describer = FaceDescriber(mirror, map_box)
    paths = sorted(data.glob("*/*.jpg"))
    rows, gallery_ok, seconds = [], [], []
    for index, path in enumerate(paths):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        faces = detector.detect(image)
        gallery_ok.append(main_face(faces)[0] is not None)
        if len(faces) == 0:
            rows.append(np.full(128, np.nan, np.float32))
            continue
        started = time.perf_counter()
        rows.append(describer.describe(image, central_face(faces, image)))
        seconds.append(time.perf_counter() - started)
        if index % 200 == 0:
            print(f"{index}/{len(paths)} photos, {1000 * np.median(seconds):.0f} ms per face", file=sys.stderr)
    photos = Photos([path.parent.name for path in paths], [str(path) for path in paths], np.stack(rows),
                    np.array(gallery_ok), 1000 * float(np.median(seconds)))
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, names=photos.names, paths=photos.paths, descriptors=photos.descriptors,
             gallery_ok=photos.gallery_ok, ms_per_face=photos.ms_per_face, mirror=mirror, map_box=map_box,
             network=network)
    return photos


def fit_box_mapping(data: Path) -> dict:
    """Fit :data:`apps.descriptors.BOX_MAPPING` on the photos of every 3rd person of ``data`` (sorted
    names, index % 3 == 0): our box (the shipped detector's face nearest the centre) and dlib's HOG
    frontal detector's box (upsample 1) of largest IoU with it, when that IoU is over 0.3. Returns
    the median and quartiles of ``(dlib cx - cx) / w``, ``(dlib cy - cy) / h``, ``dlib w / w`` and
    ``dlib h / h``, and the number of photos used and left out."""
    import dlib

    from apps.detector_spec import DetectorSpec

    detector, hog = DetectorSpec().load(), dlib.get_frontal_face_detector()
    people = sorted(folder.name for folder in data.iterdir() if folder.is_dir())[::3]
    rows, left_out = [], 0
    for path in (photo for person in people for photo in sorted((data / person).glob("*.jpg"))):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        faces = detector.detect(image)
        theirs = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in hog(image[:, :, ::-1].copy(), 1)],
                          float).reshape(-1, 4)
        if len(faces) == 0 or len(theirs) == 0:
            left_out += 1
            continue
        ours = central_face(faces, image)[:4].astype(float)
        overlaps = pairwise_iou(ours[None], theirs)[0]
        if overlaps.max() <= 0.3:
            left_out += 1
            continue
        dlib_box = theirs[int(np.argmax(overlaps))]
        width, height = ours[2] - ours[0], ours[3] - ours[1]
        rows.append([((dlib_box[0] + dlib_box[2]) - (ours[0] + ours[2])) / 2 / width,
                     ((dlib_box[1] + dlib_box[3]) - (ours[1] + ours[3])) / 2 / height,
                     (dlib_box[2] - dlib_box[0]) / width, (dlib_box[3] - dlib_box[1]) / height])
    quartiles = np.percentile(np.array(rows), [25, 50, 75], axis=0)
    return {"people": len(people), "photos_used": len(rows), "photos_left_out": left_out,
            **{key: {"median": round(float(quartiles[1, column]), 4),
                     "quartiles": [round(float(quartiles[0, column]), 4), round(float(quartiles[2, column]), 4)]}
               for column, key in enumerate(("a_centre_x", "b_centre_y", "c_width", "d_height"))}}


@dataclass
class Scores:
    """One trial: shares of shots named right, wrong and of unknown shots named; pairwise scores of the labels."""

    known_named_right: float
    known_named_wrong: float
    unknown_named: float
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float


def pair_distances(photos: Photos) -> tuple[np.ndarray, np.ndarray]:
    """The distances of every same-person pair of described photos, and of every different-person pair."""
    valid = ~np.isnan(photos.descriptors[:, 0])
    names = np.array(photos.names)[valid]
    between = distances(photos.descriptors[valid], photos.descriptors[valid])
    same = names[:, None] == names[None, :]
    upper = np.triu(np.ones_like(same), k=1)
    return between[same & upper], between[~same & upper]


def pair_rates(photos: Photos, thresholds: Sequence[float]) -> dict[str, dict[str, float]]:
    """Per threshold, the share of same-person photo pairs nearer than it, and of different-person pairs."""
    same, different = pair_distances(photos)
    return {f"{threshold}": {"same_accepted": round(float((same < threshold).mean()), 4),
                             "different_accepted": round(float((different < threshold).mean()), 4)}
            for threshold in thresholds}


#: The application's distance thresholds as chosen with dlib's ResNet descriptor (FaceTrack's until
#: 2026-12-06; ``benchmarks/identity_selection.md``), from which the current network's are matched.
DLIB_THRESHOLDS = {"NAME_THRESHOLD": 0.53, "REID_DISTANCE": 0.5, "GROUP_DISTANCE": 0.55, "NAMING_GROUP_DISTANCE": 0.45,
                   "VETO_DISTANCE": 0.75}
#: dlib's naming margin; matched by the ratio of the two networks' naming thresholds.
DLIB_NAME_MARGIN = 0.04
#: The distance thresholds of the application, each with the kind of pair whose share it is matched on when
#: the descriptor network changes: "different" (a share of different-person pairs falls under it) or
#: "same" (a share of same-person pairs falls beyond it).
MATCHED_THRESHOLDS = {"NAME_THRESHOLD": "different", "REID_DISTANCE": "different", "GROUP_DISTANCE": "different",
                      "NAMING_GROUP_DISTANCE": "different", "VETO_DISTANCE": "same"}


def matched_thresholds(reference: Photos, photos: Photos, values: dict[str, float]) -> dict[str, dict[str, float]]:
    """For each threshold of ``values`` (a name of :data:`MATCHED_THRESHOLDS` -> its value for the
    ``reference`` descriptors), the distance of ``photos``' descriptors at which the same share of pairs
    falls on the same side: under it for different-person pairs, beyond it for same-person pairs."""
    reference_same, reference_different = pair_distances(reference)
    same, different = pair_distances(photos)
    matched = {}
    for name, value in values.items():
        if MATCHED_THRESHOLDS[name] == "different":
            share = float((reference_different < value).mean())
            new_value = float(np.quantile(different, share))
        else:
            share = float((reference_same > value).mean())
            new_value = float(np.quantile(same, 1.0 - share))
        matched[name] = {"reference": value, "share": share, "matched": round(new_value, 3)}
    return matched


def trial(photos: Photos, rng: np.random.Generator, known: int, unknown: int, gallery_photos: int,
          shots: int, name_threshold: float = NAME_THRESHOLD, group_distance: float = GROUP_DISTANCE,
          name_margin: float = NAME_MARGIN, naming_group_distance: float = NAMING_GROUP_DISTANCE) -> Scores:
    """A gallery of ``gallery_photos`` photos of each of ``known`` people; ``shots`` one-photo shots (one
    track each) drawn from the other photos of these people and all photos of ``unknown`` others, labelled
    as the application labels a batch's tracks (:func:`apps.grouping.label_tracks`)."""
    valid = ~np.isnan(photos.descriptors[:, 0])
    names = np.array(photos.names)
    people = rng.permutation(sorted(set(names)))[: known + unknown]
    gallery, probes = Gallery(), []
    rows = []
    for rank, person in enumerate(people):
        mine = rng.permutation(np.flatnonzero((names == person) & valid))
        if rank < known:
            chosen = [index for index in mine if photos.gallery_ok[index]][:gallery_photos]
            gallery.names.extend([str(person)] * len(chosen))
            rows.extend(photos.descriptors[index] for index in chosen)
            mine = np.array([index for index in mine if index not in chosen], int)
        probes.extend(mine)
    gallery.descriptors = np.stack(rows)
    shots_taken = rng.permutation(np.array(probes))[:shots]
    truth = names[shots_taken]
    labels = label_tracks([photos.descriptors[index][None] for index in shots_taken], gallery, None, name_threshold,
                          name_margin, naming_group_distance, group_distance)
    known = gallery.people
    rates = naming_rates([label if label in known else None for label in labels], truth, known)
    precision, recall, f1 = pairwise_scores(truth, labels)
    return Scores(**rates, pairwise_precision=precision, pairwise_recall=recall, pairwise_f1=f1)


def pairwise_scores(truth: Sequence[str], labels: Sequence[str]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of "same label" against "same truth" over all pairs."""
    truth_array, label_array = np.array(truth), np.array(labels)
    upper = np.triu(np.ones((len(truth), len(truth)), bool), k=1)
    same_truth = (truth_array[:, None] == truth_array[None, :])[upper]
    same_label = (label_array[:, None] == label_array[None, :])[upper]
    precision = float((same_truth & same_label).sum() / max(same_label.sum(), 1))
    recall = float((same_truth & same_label).sum() / max(same_truth.sum(), 1))
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


@dataclass
class SlideshowShot:
    """One shot of a slideshow benchmark video: whose photo, which, and where the shot is."""

    person: str
    photo: str
    video: str
    first_frame: int
    """Frame number (from 1, as in tracks.jsonl) of the shot's first frame."""


def build_slideshow(photos: Photos, folder: Path, rng: np.random.Generator, known: int, unknown: int,
                    gallery_photos: int, shots: int, videos: int, shot_frames: int,
                    varied_background: bool = False) -> tuple[list[str], list[SlideshowShot]]:
    """Write ``folder/gallery/<name>/*.jpg`` and ``folder/videos/vNN.mp4``; returns the gallery's
    people and the shots. Every person gets two shots in two videos, the other shots go to people
    drawn at random; shots are dealt to the videos in turn, then shuffled within each video. Every
    shot is on the same grey card unless ``varied_background`` (a random colour per shot; the same
    people, photos and places either way)."""
    valid = ~np.isnan(photos.descriptors[:, 0])
    names = np.array(photos.names)
    people = [str(person) for person in rng.permutation(sorted(set(names[valid])))[: known + unknown]]
    spare: dict[str, list[int]] = {}
    for rank, person in enumerate(people):
        mine = [int(index) for index in rng.permutation(np.flatnonzero((names == person) & valid))]
        if rank < known:
            chosen = [index for index in mine if photos.gallery_ok[index]][:gallery_photos]
            for index in chosen:
                target = folder / "gallery" / person / Path(photos.paths[index]).name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(photos.paths[index], target)
            mine = [index for index in mine if index not in chosen]
        spare[person] = mine
    owners = sorted(people * 2 + [str(person) for person in rng.choice(people, shots - 2 * len(people))])
    per_video: list[list[tuple[str, int]]] = [[] for _ in range(videos)]
    for number, person in enumerate(owners):  # a person's shots are consecutive: dealt to different videos
        per_video[number % videos].append((person, spare[person][number % len(spare[person])]))
    width, height = FRAME_SIZE
    result = []
    for number, video_shots in enumerate(per_video):
        name = f"v{number:02d}"
        order = rng.permutation(len(video_shots))
        clip = []
        for position, shot_index in enumerate(order):
            person, photo = video_shots[shot_index]
            size = int(rng.integers(180, 300))
            centre = (int(rng.integers(size // 2, width - size // 2 + 1)), int(rng.integers(size // 2, height - size // 2 + 1)))
            colour = tuple(int(value) for value in rng.integers(30, 226, 3))
            background = colour if varied_background else BACKGROUND
            clip.append(Shot(Path(photos.paths[photo]), shot_frames, min(size, height), centre, background=background))
            result.append(SlideshowShot(person, photos.paths[photo], name, position * shot_frames + 1))
        write_slideshow(folder / "videos" / f"{name}.mp4", clip)
    return people[:known], result


def shot_labels(output: Path, shots: Sequence[SlideshowShot], shot_frames: int,
                persons: dict[tuple[str, int], str | None] | None = None) -> list[str | None]:
    """The person most faces of each shot were given in ``tracks.jsonl`` (None: no face found), or with
    ``persons`` ((video, track id) -> name), the name it gives their tracks."""
    lines = {video: [json.loads(line) for line in (output / video / "tracks.jsonl").read_text().splitlines()]
             for video in sorted({shot.video for shot in shots})}
    labels = []
    for shot in shots:
        frames = lines[shot.video][shot.first_frame - 1: shot.first_frame - 1 + shot_frames]
        votes = Counter(face.get("person") if persons is None else persons.get((shot.video, face["id"]))
                        for line in frames for face in line["faces"])
        labels.append(votes.most_common(1)[0][0] if votes else None)
    return labels


def app_gallery(folder: Path) -> Gallery:
    """The gallery of ``folder`` described as ``start.py --known-faces`` describes it."""
    from apps.detector_spec import DetectorSpec, prepare_for_tracking
    from apps.gallery import confident_faces, load_gallery

    detector = DetectorSpec().load()
    high, _ = prepare_for_tracking(detector)
    return load_gallery(folder, confident_faces(detector.detect, high), FaceDescriber(), warn=lambda line: None)


def names_at(output: Path, gallery: Gallery, threshold: float, margin: float = NAME_MARGIN,
             naming_group_distance: float = NAMING_GROUP_DISTANCE) -> dict[tuple[str, int], str]:
    """(video, track id) -> the label the application gives the tracks of ``output``'s videos
    (:func:`apps.people.described_labels`), from their saved descriptors, at ``threshold``, ``margin`` and
    ``naming_group_distance``."""
    from apps.people import described_labels, read_video

    videos = [read_video(path.parent, path.parent.name) for path in sorted(output.glob("*/identity.json"))]
    tracks = [track for video in videos for track in video.tracks.values()]
    return {(track.video, track.track_id): label
            for track, label in described_labels(tracks, gallery, threshold, margin, naming_group_distance)}


def naming_rates(labels: Sequence[str | None], truth: Sequence[str], known: Sequence[str]) -> dict[str, float]:
    """Shares of the known shots named right and wrong, and of the unknown shots given a gallery name."""
    is_known = np.isin(truth, known)
    named_right = np.array([label == person for label, person in zip(labels, truth)])
    named = np.array([label in known for label in labels])
    return {"known_named_right": float(named_right[is_known].mean()),
            "known_named_wrong": float((named & ~named_right)[is_known].mean()),
            "unknown_named": float(named[~is_known].mean())}


def run_start(videos: Path, output: Path, *flags: str | Path) -> float:
    """``start.py VIDEOS -o OUTPUT --no-video --no-report FLAGS``; returns the summed per-video wall seconds."""
    shutil.rmtree(output, ignore_errors=True)
    subprocess.run([sys.executable, str(ROOT / "start.py"), str(videos), "-o", str(output), "--no-video",
                    "--no-report", *map(str, flags)], check=True, stdout=subprocess.DEVNULL)
    return sum(json.loads(path.read_text())["wall_seconds"] for path in output.glob("*/summary.json"))


def slideshow_benchmark(photos: Photos, folder: Path, args: argparse.Namespace) -> dict:
    """Build the slideshow clips, run start.py with and without ``--known-faces`` and score the shots."""
    shutil.rmtree(folder, ignore_errors=True)
    known, shots = build_slideshow(photos, folder, np.random.default_rng(args.seed), args.known, args.unknown,
                                   args.gallery_photos, args.shots, args.videos, args.shot_frames,
                                   args.varied_background)
    identified_seconds = run_start(folder / "videos", folder / "identified", "--known-faces", folder / "gallery")
    plain_seconds = run_start(folder / "videos", folder / "plain")
    labels = shot_labels(folder / "identified", shots, args.shot_frames)
    truth = [shot.person for shot in shots]
    renamed = {}
    if args.rename_thresholds:
        gallery = app_gallery(folder / "gallery")
        for threshold in args.rename_thresholds:
            persons = names_at(folder / "identified", gallery, threshold, args.name_margin, args.naming_group_distance)
            rates = naming_rates(shot_labels(folder / "identified", shots, args.shot_frames, persons), truth, known)
            renamed[f"{threshold:g}"] = {key: round(value, 4) for key, value in rates.items()}
    precision, recall, f1 = pairwise_scores(truth, [label or f"none-{index}" for index, label in enumerate(labels)])
    describer = FaceDescriber(args.mirror, args.map_box)
    seconds = []
    for shot in shots[:40]:
        image = cv2.imread(shot.photo, cv2.IMREAD_COLOR)
        box = np.array([image.shape[1] * 0.3, image.shape[0] * 0.28, image.shape[1] * 0.7, image.shape[0] * 0.75])
        started = time.perf_counter()
        describer.describe(image, box)
        seconds.append(time.perf_counter() - started)
    identities = [json.loads(path.read_text()) for path in (folder / "identified").glob("*/identity.json")]
    frames = len(shots) * args.shot_frames
    ids = {name: sum(json.loads(path.read_text())["tracks"] for path in (folder / name).glob("*/summary.json"))
           for name in ("identified", "plain")}
    return {"shots": len(shots), "videos": args.videos, "frames": frames, "mirror": args.mirror,
            "map_box": args.map_box,
            **{key: round(value, 4) for key, value in naming_rates(labels, truth, known).items()},
            "shots_without_face": sum(label is None for label in labels),
            "pairwise_precision": round(precision, 4), "pairwise_recall": round(recall, 4), "pairwise_f1": round(f1, 4),
            "track_ids": ids, "reidentified": sum(one["reidentified"] for one in identities),
            "refused": sum(one["refused"] for one in identities),
            "descriptors_per_track": round(float(np.mean([len(track["descriptors"]) for one in identities
                                                          for track in one["tracks"]])), 2),
            "ms_per_face": round(1000 * float(np.median(seconds)), 1),
            "ms_per_frame_plain": round(1000 * plain_seconds / frames, 2),
            "ms_per_frame_identified": round(1000 * identified_seconds / frames, 2),
            "ms_per_frame_added": round(1000 * (identified_seconds - plain_seconds) / frames, 2),
            **({"renamed": renamed} if renamed else {})}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--mirror", action=argparse.BooleanOptionalAction, default=MIRROR,
                        help="describe a face as the mean of its chip and its mirror image")
    parser.add_argument("--map-box", action=argparse.BooleanOptionalAction, default=MAP_BOX,
                        help="find the landmarks in the dlib-like box our box maps to")
    parser.add_argument("--cache", type=Path, help="descriptor cache (default: one per variant in /tmp)")
    parser.add_argument("--known", type=int, default=40, help="people in the gallery per trial")
    parser.add_argument("--unknown", type=int, default=20, help="people not in the gallery per trial")
    parser.add_argument("--gallery-photos", type=int, default=2)
    parser.add_argument("--shots", type=int, default=240)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name-threshold", type=float, default=NAME_THRESHOLD)
    parser.add_argument("--name-margin", type=float, default=NAME_MARGIN,
                        help="a name needs the second-nearest gallery person this much farther (0: the nearest alone)")
    parser.add_argument("--group-distance", type=float, default=GROUP_DISTANCE)
    parser.add_argument("--naming-group-distance", type=float, default=NAMING_GROUP_DISTANCE,
                        help="name tracks in groups cut at this distance (0: every track alone)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--slideshow", type=Path, metavar="OUT", help="run start.py on slideshow clips built in OUT")
    parser.add_argument("--videos", type=int, default=20, help="slideshow videos")
    parser.add_argument("--shot-frames", type=int, default=15, help="frames per slideshow shot")
    parser.add_argument("--varied-background", action="store_true",
                        help="a random background colour per slideshow shot (default: one grey card for all)")
    parser.add_argument("--rename-thresholds", type=float, nargs="*", default=[],
                        help="with --slideshow: also name the same tracks at these thresholds (offline, from "
                             "their saved descriptors) and report each")
    parser.add_argument("--fit-box-mapping", action="store_true", help="fit the box mapping and print it")
    parser.add_argument("--match-thresholds", type=Path, metavar="REFERENCE_CACHE",
                        help="print the application's thresholds carried over from dlib's descriptors (the ones they "
                             "were chosen with; described into this cache first when it does not exist) to this "
                             "network's, by shares of lfw-dev pairs")
    args = parser.parse_args(argv)
    if args.fit_box_mapping:
        print(json.dumps(fit_box_mapping(args.data), indent=2))
        return
    args.cache = args.cache or cache_path(args.mirror, args.map_box)
    if not args.data.is_dir() and not args.cache.is_file():
        sys.exit(f"no data: {args.data} (see ../shared/README.md)")
    if args.slideshow is not None and (args.mirror, args.map_box) != (MIRROR, MAP_BOX):
        sys.exit(f"--slideshow runs the application, whose descriptors use mirror={MIRROR}, map_box={MAP_BOX}: "
                 "drop --mirror / --map-box")
    photos = describe_photos(args.data, args.cache, args.mirror, args.map_box)
    if args.match_thresholds is not None:
        reference = describe_photos(args.data, args.match_thresholds, args.mirror, args.map_box, DLIB_NETWORK)
        matched = matched_thresholds(reference, photos, DLIB_THRESHOLDS)
        ratio = matched["NAME_THRESHOLD"]["matched"] / DLIB_THRESHOLDS["NAME_THRESHOLD"]
        matched["NAME_MARGIN"] = {"reference": DLIB_NAME_MARGIN, "matched": round(DLIB_NAME_MARGIN * ratio, 3)}
        print(json.dumps(matched, indent=2))
        return
    if args.slideshow is not None:
        report = slideshow_benchmark(photos, args.slideshow, args)
        print(json.dumps(report, indent=2))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
        return
    rng = np.random.default_rng(args.seed)
    trials = [trial(photos, rng, args.known, args.unknown, args.gallery_photos, args.shots, args.name_threshold,
                    args.group_distance, args.name_margin, args.naming_group_distance)
              for _ in range(args.trials)]
    mean = {key: round(float(np.mean([getattr(one, key) for one in trials])), 4) for key in asdict(trials[0])}
    lower_is_better = {"known_named_wrong", "unknown_named"}
    worst = {key: round(float((max if key in lower_is_better else min)(getattr(one, key) for one in trials)), 4)
             for key in asdict(trials[0])}
    pairs = pair_rates(photos, (NAMING_GROUP_DISTANCE, REID_DISTANCE, NAME_THRESHOLD, GROUP_DISTANCE, VETO_DISTANCE))
    report = {"photos": len(photos.names), "faces_found": int((~np.isnan(photos.descriptors[:, 0])).sum()),
              "ms_per_face": round(photos.ms_per_face, 1), "pairs": pairs, "trials": args.trials,
              "mean": mean, "worst": worst, "name_threshold": args.name_threshold, "name_margin": args.name_margin,
              "group_distance": args.group_distance, "mirror": args.mirror, "map_box": args.map_box}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
