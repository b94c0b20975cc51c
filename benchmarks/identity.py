"""Who is who on LFW photos: descriptor accuracy, naming against a gallery, grouping one-shot tracks.

Every photo of ``../shared/data/identity/lfw-dev`` (``<Name>/<Name>_NNNN.jpg``) goes through the
path a track's best crop takes: the shipped detector finds the faces at its track-start score, the
face nearest the photo's centre is the person's, and :class:`apps.descriptors.FaceDescriber`
describes it (descriptors are cached in ``--cache``; describing all 1,889 photos takes minutes).
Then:

* **pairs**: same/different-person accuracy of ``distance < threshold`` over all pairs of photos;
* **naming**: the gallery is ``--gallery-photos`` photos of each known person (only photos
  ``--known-faces`` would accept: one main face); every other photo is a shot (a one-shot track):
  the share of known shots named right (and wrong), and of unknown shots given a gallery name;
* **grouping**: the unnamed shots are grouped by :func:`apps.grouping.group` (one shot at a time,
  so no cannot-link constraint applies) and the pairwise precision, recall and F1 of "same
  label" (a gallery name or a group) against "same person" are reported over all shots.

Each trial draws its people at random, as the issue's held-out check is built (40 known people with
2 gallery photos, 20 unknown, 240 shots); the mean and the worst of ``--trials`` trials are reported.

Usage: ``python benchmarks/identity.py [--data DIR] [--cache PATH] [--known 40] [--unknown 20]
[--gallery-photos 2] [--shots 240] [--trials 10] [--seed 0] [--name-threshold 0.5] [--group-distance 0.5]
[--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.descriptors import FaceDescriber, distances  # noqa: E402
from apps.gallery import NAME_THRESHOLD, Gallery, main_face  # noqa: E402
from apps.grouping import GROUP_DISTANCE, group  # noqa: E402

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


def describe_photos(data: Path, cache: Path) -> Photos:
    """Describe every photo of ``data`` (or read the descriptors from ``cache``)."""
    if cache.is_file():
        stored = np.load(cache, allow_pickle=False)
        return Photos(list(stored["names"]), list(stored["paths"]), stored["descriptors"], stored["gallery_ok"],
                      float(stored["ms_per_face"]))
    from apps.detector_spec import DetectorSpec

    detector = DetectorSpec().load()
    describer = FaceDescriber()
    paths = sorted(data.glob("*/*.jpg"))
    rows, gallery_ok, seconds = [], [], []
    for index, path in enumerate(paths):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        faces = detector.detect(image)
        gallery_ok.append(main_face(faces)[0] is not None)
        if len(faces) == 0:
            rows.append(np.full(128, np.nan, np.float32))
            continue
        centre = np.array(image.shape[1::-1]) / 2
        offsets = np.hypot((faces[:, 0] + faces[:, 2]) / 2 - centre[0], (faces[:, 1] + faces[:, 3]) / 2 - centre[1])
        started = time.perf_counter()
        rows.append(describer.describe(image, faces[int(np.argmin(offsets))]))
        seconds.append(time.perf_counter() - started)
        if index % 200 == 0:
            print(f"{index}/{len(paths)} photos, {1000 * np.median(seconds):.0f} ms per face", file=sys.stderr)
    photos = Photos([path.parent.name for path in paths], [str(path) for path in paths], np.stack(rows),
                    np.array(gallery_ok), 1000 * float(np.median(seconds)))
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, names=photos.names, paths=photos.paths, descriptors=photos.descriptors,
             gallery_ok=photos.gallery_ok, ms_per_face=photos.ms_per_face)
    return photos


@dataclass
class Scores:
    """One trial: shares of shots named right, wrong and of unknown shots named; pairwise scores of the labels."""

    known_named_right: float
    known_named_wrong: float
    unknown_named: float
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float


def pair_rates(photos: Photos, threshold: float) -> tuple[float, float]:
    """Share of same-person photo pairs nearer than ``threshold``, and of different-person pairs."""
    valid = ~np.isnan(photos.descriptors[:, 0])
    names = np.array(photos.names)[valid]
    near = distances(photos.descriptors[valid], photos.descriptors[valid]) < threshold
    same = names[:, None] == names[None, :]
    upper = np.triu(np.ones_like(same), k=1)
    return float(near[same & upper].mean()), float(near[~same & upper].mean())


def trial(photos: Photos, rng: np.random.Generator, known: int, unknown: int, gallery_photos: int,
          shots: int, name_threshold: float = NAME_THRESHOLD, group_distance: float = GROUP_DISTANCE) -> Scores:
    """A gallery of ``gallery_photos`` photos of each of ``known`` people; ``shots`` one-photo shots (one
    track each) drawn from the other photos of these people and all photos of ``unknown`` others."""
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
    labels = [gallery.name(photos.descriptors[index][None], name_threshold) for index in shots_taken]
    is_known = np.isin(truth, gallery.names)
    named_right = np.array([label == name for label, name in zip(labels, truth)])
    named = np.array([label is not None for label in labels])
    unnamed = np.flatnonzero(~named)
    groups = group([photos.descriptors[shots_taken[index]][None] for index in unnamed], cut=group_distance)
    for index, number in zip(unnamed, groups):
        labels[index] = f"unknown-{number + 1}"
    labels_array = np.array(labels)
    upper = np.triu(np.ones((len(truth), len(truth)), bool), k=1)
    same_truth = (truth[:, None] == truth[None, :])[upper]
    same_label = (labels_array[:, None] == labels_array[None, :])[upper]
    precision = float((same_truth & same_label).sum() / max(same_label.sum(), 1))
    recall = float((same_truth & same_label).sum() / max(same_truth.sum(), 1))
    return Scores(
        known_named_right=float(named_right[is_known].mean()),
        known_named_wrong=float((named & ~named_right)[is_known].mean()),
        unknown_named=float(named[~is_known].mean()),
        pairwise_precision=precision, pairwise_recall=recall,
        pairwise_f1=2 * precision * recall / max(precision + recall, 1e-12))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/facetrack-lfw-dev-descriptors.npz"))
    parser.add_argument("--known", type=int, default=40, help="people in the gallery per trial")
    parser.add_argument("--unknown", type=int, default=20, help="people not in the gallery per trial")
    parser.add_argument("--gallery-photos", type=int, default=2)
    parser.add_argument("--shots", type=int, default=240)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name-threshold", type=float, default=NAME_THRESHOLD)
    parser.add_argument("--group-distance", type=float, default=GROUP_DISTANCE)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not args.data.is_dir() and not args.cache.is_file():
        sys.exit(f"no data: {args.data} (see ../shared/README.md)")
    photos = describe_photos(args.data, args.cache)
    rng = np.random.default_rng(args.seed)
    trials = [trial(photos, rng, args.known, args.unknown, args.gallery_photos, args.shots, args.name_threshold,
                    args.group_distance)
              for _ in range(args.trials)]
    mean = {key: round(float(np.mean([getattr(one, key) for one in trials])), 4) for key in asdict(trials[0])}
    lower_is_better = {"known_named_wrong", "unknown_named"}
    worst = {key: round(float((max if key in lower_is_better else min)(getattr(one, key) for one in trials)), 4)
             for key in asdict(trials[0])}
    pairs = {f"{threshold}": dict(zip(("same_accepted", "different_accepted"), map(lambda v: round(v, 4),
             pair_rates(photos, threshold)))) for threshold in (0.5, 0.6)}
    report = {"photos": len(photos.names), "faces_found": int((~np.isnan(photos.descriptors[:, 0])).sum()),
              "ms_per_face": round(photos.ms_per_face, 1), "pairs": pairs, "trials": args.trials,
              "mean": mean, "worst": worst, "name_threshold": args.name_threshold,
              "group_distance": args.group_distance}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
