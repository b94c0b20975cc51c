"""Tracking quality of FaceTracker on synthetic clips with exact ground truth (motmetrics).

Modes:

* ``oracle``: detections are the ground-truth boxes of visible (not ignored)
  faces with Gaussian corner noise (sigma 4 % of the box size), 20 % of them dropped
  and random scores in [0.5, 1]; the "detector" runs every k-th frame only
  (``None`` is passed on the other frames). Reports a per-clip table for the
  main setting, then an ablation over the appearance cue and k = 1..5.
  Target: IDF1 >= 0.95 and <= 1 ID switch per 1000 ground-truth boxes.
* ``e2e``: the real detector (FaceBoxes unless ``--detector``) on clips made of
  real face crops from ``../shared/data/faces/dev``, full scans every k-th frame
  with and without follow windows in between (as ``start.py`` runs them);
  skipped with a message when the data or the detector is unavailable.

Every run goes through the application's own detect+track stage
(``apps.pipeline.FrameProcessor``); ms/frame is that stage's time per frame
(detector calls included).

Usage: ``python benchmarks/tracking_quality.py [--mode oracle|e2e|all] [--clips N] [--detector NAME]``
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.detector_spec import prepare_for_tracking  # noqa: E402
from apps.pipeline import FrameProcessor  # noqa: E402
from benchmarks.synthetic import (  # noqa: E402
    ClipSpec, FaceSprite, GroundTruthBox, render_clip, sprites_from_voc, synthetic_sprites,
)
from benchmarks.mot_eval import Hypothesis, Tracked, evaluate_many, format_table  # noqa: E402

if TYPE_CHECKING:
    from tracker import FaceTracker

DEV_FACES = ROOT.parent / "shared" / "data" / "faces" / "dev"
TARGET_IDF1 = 0.95
TARGET_SWITCHES_PER_1000 = 1.0
COLUMNS = {
    "run": "run", "num_frames": "frames", "num_objects": "GT boxes", "mota": "MOTA", "idf1": "IDF1",
    "num_switches": "IDsw", "switches_per_1000": "IDsw/1k", "switches_after_exit": "sw:exit",
    "switches_after_hidden": "sw:hidden", "switches_in_view": "sw:view",
    "mostly_tracked": "MT", "partially_tracked": "PT", "mostly_lost": "ML",
    "num_false_positives": "FP", "num_misses": "FN", "ms_per_frame": "ms/frame",
}

#: (frame index, frame, its ground truth) -> (N, 5) float32 detections.
Detector = Callable[[int, np.ndarray, list[GroundTruthBox]], np.ndarray]
#: The follow-window side of a detector: ``OnnxFaceDetector`` (``detect_windows``, ``windows_cost_more``).
Follower = Any
#: (name, spec, sprites, detector) of one clip.
Clip = tuple[str, ClipSpec, list[FaceSprite], Detector]
#: Metrics by setting name, then by clip name (plus "OVERALL").
Metrics = dict[str, dict[str, dict[str, float]]]


@dataclass
class OracleDetector:
    """Noisy, lossy ground truth: a stand-in detector with known error statistics."""

    seed: int
    noise: float = 0.04  # sigma of each corner, as a fraction of the box width / height
    drop: float = 0.2
    score_range: tuple[float, float] = (0.5, 1.0)

    def __call__(self, index: int, frame: np.ndarray, truth: list[GroundTruthBox]) -> np.ndarray:
        """Detections (N, 5) float32 for one frame; random draws depend only on (seed, index)."""
        rng = np.random.default_rng([self.seed, index])
        rows = []
        for g in (g for g in truth if not g.ignored):
            keep, jitter, score = rng.random() >= self.drop, rng.standard_normal(4), rng.uniform(*self.score_range)
            if keep:
                box = np.array(g.box)
                width, height = box[2] - box[0], box[3] - box[1]
                rows.append([*(box + jitter * self.noise * np.array([width, height, width, height])), score])
        return np.array(rows, np.float32).reshape(-1, 5)


@dataclass(frozen=True)
class Setting:
    """One configuration: colour cue on/off, full scan every ``detect_every`` frames, follow windows."""

    use_appearance: bool
    detect_every: int
    follow: bool = False

    @property
    def name(self) -> str:
        """E.g. ``appearance k=3`` (full scan every 3rd frame) or ``appearance k=5 follow``."""
        cue = "appearance" if self.use_appearance else "motion-only"
        return f"{cue} k={self.detect_every}" + (" follow" if self.follow else "")


@dataclass
class Run:
    """One configuration's detect+track stage, fed from a shared frame stream."""

    name: str
    processor: FrameProcessor
    tracked: list[list[Hypothesis]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class CurrentFrame:
    """The frame index and ground truth a :data:`Detector` is called with (set before each frame)."""

    index: int = 0
    truth: list[GroundTruthBox] = field(default_factory=list)


def make_tracker(use_appearance: bool, fps: float, scores: tuple[float, float] | None = None) -> FaceTracker:
    """A fresh FaceTracker; ``scores`` = (high, low) detection scores as start.py sets them for a model.

    (Imported late so that a missing package fails with a clear message.)
    """
    from tracker import FaceTracker, TrackerConfig

    config = TrackerConfig(use_appearance=use_appearance)
    if scores is not None:
        config = TrackerConfig(use_appearance=use_appearance, high_score=scores[0], low_score=scores[1])
    return FaceTracker(config, fps=fps)


def make_run(
    setting: Setting, fps: float, detector: Detector, current: CurrentFrame,
    scores: tuple[float, float] | None, follower: Follower | None,
) -> Run:
    """A run of ``setting``: the app's FrameProcessor around a fresh tracker, scheduled as start.py
    schedules it (no shot-cut detector: the clips have no cuts)."""
    if setting.follow and follower is None:
        raise ValueError(f"{setting.name} needs a detector with follow windows")
    tracker = make_tracker(setting.use_appearance, fps, scores)
    windows = (follower.detect_windows, follower.windows_cost_more) if setting.follow else (None, None)
    processor = FrameProcessor(lambda frame: detector(current.index, frame, current.truth), tracker,
                               setting.detect_every, windows[0], windows_cost_more=windows[1])
    return Run(setting.name, processor)


def run_clip(spec: ClipSpec, sprites: list[FaceSprite], current: CurrentFrame, runs: list[Run]) -> list[GroundTruthBox]:
    """Render the clip once, feed every run, record hypotheses; return the ground truth."""
    truth_all: list[GroundTruthBox] = []
    for index, (frame, truth) in enumerate(render_clip(spec, sprites)):
        truth_all.extend(truth)
        current.index, current.truth = index, truth
        for run in runs:
            start = time.perf_counter()
            faces = run.processor.process(index, frame).faces
            run.seconds += time.perf_counter() - start
            run.tracked.append([(int(f.track_id), tuple(float(v) for v in f.box)) for f in faces])
    return truth_all


def evaluate_runs(
    clips: Iterable[Clip], settings: list[Setting], scores: tuple[float, float] | None = None,
    follower: Follower | None = None,
) -> Metrics:
    """Metrics per setting name, per clip name (+ OVERALL), with the detect+track stage's ms/frame."""
    results: dict[str, dict[str, tuple[list[GroundTruthBox], Tracked]]] = {s.name: {} for s in settings}
    times: dict[str, list[tuple[float, int]]] = {name: [] for name in results}
    for clip_name, spec, sprites, detector in clips:
        current = CurrentFrame()
        runs = [make_run(s, spec.fps, detector, current, scores, follower) for s in settings]
        truth = run_clip(spec, sprites, current, runs)
        for run in runs:
            results[run.name][clip_name] = (truth, run.tracked)
            times[run.name].append((run.seconds, spec.frames))
    metrics = {}
    for name, per_clip in results.items():
        metrics[name] = evaluate_many(per_clip)
        for (seconds, frames), clip in zip(times[name], per_clip):
            metrics[name][clip]["ms_per_frame"] = 1000 * seconds / frames
        total_s, total_f = map(sum, zip(*times[name]))
        metrics[name]["OVERALL"]["ms_per_frame"] = 1000 * total_s / total_f
    return metrics


def print_report(title: str, metrics: Metrics, main: str) -> None:
    """Per-clip table of the main setting, then the OVERALL row of every setting."""
    print(f"\n== {title}: {main}, per clip ==")
    print(format_table([{"run": clip, **m} for clip, m in metrics[main].items()], COLUMNS))
    print(f"\n== {title}: all settings, all clips ==")
    rows = [{"run": name, **per_clip["OVERALL"]} for name, per_clip in metrics.items()]
    print(format_table(rows, COLUMNS))
    overall = metrics[main]["OVERALL"]
    ok = overall["idf1"] >= TARGET_IDF1 and overall["switches_per_1000"] <= TARGET_SWITCHES_PER_1000
    print(f"\ntarget IDF1 >= {TARGET_IDF1} and <= {TARGET_SWITCHES_PER_1000:g} switch / 1000 GT boxes ({main}): "
          f"{'PASS' if ok else 'FAIL'} (IDF1 {overall['idf1']:.3f}, {overall['switches_per_1000']:.2f} / 1000)")


def clip_spec(args: argparse.Namespace, seed: int, **overrides: object) -> ClipSpec:
    return ClipSpec(frames=args.frames, faces=args.faces, seed=seed, **overrides)


def oracle_mode(args: argparse.Namespace) -> None:
    """Tracker on noisy, lossy, sparse ground-truth detections."""
    clips = []
    for seed in range(args.clips):
        if args.sprites == "voc":
            sprites = sprites_from_voc(DEV_FACES, args.faces, seed)
        else:
            sprites = synthetic_sprites(args.faces, seed)
        clips.append((f"clip{seed}", clip_spec(args, seed), sprites, OracleDetector(seed)))
    settings = [Setting(a, k) for a in (True, False) for k in range(1, 6)]
    metrics = evaluate_runs(clips, settings)
    print_report(f"oracle detections ({args.sprites} sprites)", metrics, Setting(True, args.detect_every).name)


def load_real_detector(name: str) -> tuple[Detector, Follower, tuple[float, float]] | None:
    """A shipped detector as a Detector, the loaded detector (for follow windows) and its (high, low)
    scores as start.py uses them; None (reason printed) when it cannot be loaded."""
    try:
        from detectors import load_detector

        detector = load_detector(name, threads=1)
    except Exception as error:  # the detector is optional here: report why and skip
        print(f"e2e skipped: cannot load the {name} detector ({type(error).__name__}: {error})")
        return None
    high, low = prepare_for_tracking(detector)
    return (lambda index, frame, truth: detector.detect(frame)), detector, (high, low)


def e2e_clip(args: argparse.Namespace, seed: int) -> tuple[str, ClipSpec, list[FaceSprite]]:
    """Name, spec and sprites (real face crops from ``DEV_FACES``) of end-to-end clip ``seed``."""
    spec = clip_spec(args, seed, min_size=60, max_size=140)
    return f"clip{seed}", spec, sprites_from_voc(DEV_FACES, args.faces, seed)


def add_clip_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose the clips: --clips, --frames, --faces."""
    parser.add_argument("--clips", type=int, default=3, help="clips per mode (seeds 0..N-1)")
    parser.add_argument("--frames", type=int, default=250, help="frames per clip")
    parser.add_argument("--faces", type=int, default=4, help="faces per clip")


def e2e_mode(args: argparse.Namespace) -> None:
    """Tracker on the real detector's output, over clips of real face crops."""
    if not DEV_FACES.is_dir():
        print(f"e2e skipped: {DEV_FACES} is not available")
        return
    loaded = load_real_detector(args.detector)
    if loaded is None:
        return
    detector, follower, scores = loaded
    clips = [(*e2e_clip(args, seed), detector) for seed in range(args.clips)]
    settings = [Setting(True, 1), Setting(True, args.detect_every), Setting(False, args.detect_every)]
    settings += [Setting(True, k, follow=True) for k in args.follow_every]
    metrics = evaluate_runs(clips, settings, scores, follower)
    main = Setting(True, args.follow_every[0], follow=True).name if args.follow_every else settings[1].name
    print_report(f"end-to-end ({args.detector}, scores {scores[0]:g} / {scores[1]:g} as in start.py)", metrics, main)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["oracle", "e2e", "all"], default="all")
    add_clip_arguments(parser)
    parser.add_argument("--detect-every", type=int, default=3, choices=range(1, 6), help="k of the main setting")
    parser.add_argument("--detector", default="faceboxes", help="e2e: shipped detector name or .onnx file")
    parser.add_argument("--follow-every", type=int, nargs="*", default=[5, 10],
                        help="e2e: full-scan periods of the follow-window runs (the first is the main setting)")
    parser.add_argument("--sprites", choices=["synthetic", "voc"], default="synthetic",
                        help="faces of the oracle clips (voc: crops from ../shared/data/faces/dev)")
    args = parser.parse_args()
    if args.mode in ("oracle", "all"):
        oracle_mode(args)
    if args.mode in ("e2e", "all"):
        e2e_mode(args)


if __name__ == "__main__":
    main()
