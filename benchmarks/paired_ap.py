"""Is one checkout's detector better than another's, or is the difference noise? Paired AP per size bucket.

    python benchmarks/paired_ap.py BASELINE CANDIDATE DATA [--subset FILE | --verifier-held-out]
        [--detectors faceboxes,ainnoface] [--resamples 1000] [--seed 0]

BASELINE and CANDIDATE are FaceTrack checkouts (e.g. git worktrees that hold different weights). Each
checkout's detectors run in a subprocess that imports that checkout, as ``start.py evaluate`` runs them
(this checkout's ``EVALUATION_SCORE_FLOOR``, long side at most 1024, verifier and re-ranking on), over the
labelled folder DATA:
all of it, the image stems listed in ``--subset``, or the face verifier's held-out training images
(``--verifier-held-out``). Printed per detector and size bucket: both APs, their difference, and the
5th-95th percentile of that difference over ``--resamples`` draws of the images with replacement, the
same images for both checkouts (a paired bootstrap): an interval that holds 0 says the two cannot be
told apart on these images.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def chosen_samples(data: Path, subset: Path | None, verifier_held_out: bool) -> list:
    """The labelled images of ``data`` the comparison runs on."""
    from detectors.datasets import read_face_folder
    from detectors.verifier.samples import is_held_out

    stems = subset.read_text().split() if subset is not None else None
    samples = read_face_folder(data, None, stems)
    return [sample for sample in samples if is_held_out(sample.stem)] if verifier_held_out else samples


def detect_here(data: Path, subset: Path | None, verifier_held_out: bool, names: Sequence[str],
                score_floor: float) -> dict[str, list[np.ndarray]]:
    """Detections per image (scores down to ``score_floor``) of every detector of ``names``, from the
    checkout this process imports, as ``start.py evaluate`` runs them."""
    from apps.detector_spec import DetectorSpec
    from detectors.evaluation.runner import run_on_samples

    samples = chosen_samples(data, subset, verifier_held_out)
    found = {}
    for name in names:
        detector = DetectorSpec(name, score_floor, 2, "auto", verify=True, rerank=True).load()
        found[name] = run_on_samples(detector.detect, samples)[0]
    return found


def detect_in(checkout: Path, data: Path, subset: Path | None, verifier_held_out: bool,
              names: Sequence[str]) -> dict[str, list[np.ndarray]]:
    """:func:`detect_here` run by a subprocess that imports ``checkout``'s FaceTrack, with this
    checkout's score floor (older checkouts may not define it)."""
    from detectors.evaluation import EVALUATION_SCORE_FLOOR

    command = [sys.executable, str(Path(__file__).resolve()), str(checkout), str(checkout), str(data.resolve()),
               "--detect-only", "--detectors", ",".join(names), "--score-floor", str(EVALUATION_SCORE_FLOOR)]
    if subset is not None:
        command += ["--subset", str(subset.resolve())]
    if verifier_held_out:
        command.append("--verifier-held-out")
    environment = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(command, capture_output=True, check=False, cwd=checkout, env=environment)
    if done.returncode != 0:
        raise RuntimeError(f"detecting in {checkout} failed:\n{done.stderr.decode(errors='replace')}")
    return pickle.loads(done.stdout)


def paired_bootstrap(samples: Sequence, baseline: Sequence[np.ndarray], candidate: Sequence[np.ndarray],
                     resamples: int, seed: int = 0) -> dict[str, tuple[float, float, float, float, float]]:
    """Per size bucket: baseline AP, candidate AP, their difference, and the 5th and 95th percentile of
    the difference over ``resamples`` draws of the images with replacement (the same draw for both).
    Each image is matched once; a draw pools the drawn images' matches."""
    from detectors.evaluation import SIZE_BUCKETS
    from detectors.evaluation.ap import images_matches, matches_ap

    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(samples), len(samples)) for _ in range(resamples)]
    results = {}
    for bucket, (low, high) in SIZE_BUCKETS.items():
        before, after = images_matches(samples, baseline, low, high), images_matches(samples, candidate, low, high)
        first, second = matches_ap(before), matches_ap(after)
        differences = np.array([matches_ap([after[row] for row in rows]) - matches_ap([before[row] for row in rows])
                                for rows in draws], np.float64)
        differences = differences[np.isfinite(differences)]
        low_end, high_end = np.quantile(differences, [0.05, 0.95]) if len(differences) else (np.nan, np.nan)
        results[bucket] = (first, second, second - first, float(low_end), float(high_end))
    return results


def table(name: str, results: dict[str, tuple[float, float, float, float, float]]) -> str:
    """Markdown rows of :func:`paired_bootstrap`'s results for detector ``name``."""
    lines = [f"\n{name}\n", "| bucket | baseline AP | candidate AP | difference | 90 % interval |", "|---|---:|---:|---:|---|"]
    for bucket, (before, after, difference, low, high) in results.items():
        lines.append(f"| {bucket} | {before:.4f} | {after:.4f} | {difference:+.4f} | [{low:+.4f}, {high:+.4f}] |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", type=Path)
    parser.add_argument("candidate", type=Path)
    parser.add_argument("data", type=Path)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--subset", type=Path, help="File listing the image stems to use (e.g. dev-clean.txt).")
    which.add_argument("--verifier-held-out", action="store_true", help="Only the face verifier's held-out training images.")
    parser.add_argument("--detectors", default="faceboxes,ainnoface")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    # detect_in's subprocess: the detections of BASELINE's checkout, pickled to stdout
    parser.add_argument("--detect-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--score-floor", type=float, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    names = [name for name in options.detectors.split(",") if name]
    if options.detect_only:
        if options.score_floor is None:
            parser.error("--detect-only needs --score-floor")
        checkout = options.baseline.resolve()
        sys.path.insert(0, str(checkout))
        import detectors

        if not Path(detectors.__file__).resolve().is_relative_to(checkout):
            raise RuntimeError(f"imported {detectors.__file__}, not the checkout {checkout}")
        found = detect_here(options.data, options.subset, options.verifier_held_out, names, options.score_floor)
        sys.stdout.buffer.write(pickle.dumps(found))
        return 0
    sys.path.insert(0, str(ROOT))
    for checkout in (options.baseline, options.candidate):
        if not (checkout / "detectors" / "__init__.py").is_file():
            print(f"error: {checkout} is not a FaceTrack checkout (no detectors/__init__.py)", file=sys.stderr)
            return 2
    samples = chosen_samples(options.data, options.subset, options.verifier_held_out)
    before = detect_in(options.baseline.resolve(), options.data, options.subset, options.verifier_held_out, names)
    after = detect_in(options.candidate.resolve(), options.data, options.subset, options.verifier_held_out, names)
    print(f"{len(samples)} images of {options.data}; baseline {options.baseline}, candidate {options.candidate}; "
          f"{options.resamples} paired resamples")
    for name in names:
        print(table(name, paired_bootstrap(samples, before[name], after[name], options.resamples, options.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
