"""One video (or live source) through the pipeline into its output folder.

Layout of the output folder::

    annotated.mp4   boxes and track ids drawn on every frame
    tracks.txt      MOTChallenge: frame,id,x,y,w,h,score,-1,-1,-1 (frames from 1)
    tracks.jsonl    one JSON object per frame: {"frame", "time", "shot", "faces": [{"id", "box", "score", "detected"}]}
                    ("time" is the frame's timestamp in the input, so variable frame rates are kept;
                    annotated.mp4 uses the same timestamps; "shot" counts the shots from 0)
    faces/<id>/     best.jpg per track (and frame_NNNNNN.jpg with --crops all)
    summary.json    frames, duration, fps achieved, faces detected, tracks, status, "shots" (the frame
                    number, as in the track files, of the first frame of every shot)
    identity.json   with --identify: each finished track's face descriptors (see apps.track_descriptors);
                    a face that returns after --max-age or a shot cut keeps its id (apps.reidentify)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from apps.anonymize import MASK_HOLD_SECONDS, DetectionHold, anonymize_faces, mask_box
from apps.drawing import draw_faces, draw_fps
from apps.options import CropMode, TrackingOptions
from apps.pipeline import Detector, Finalised, FrameProcessor, Pipeline, PipelineStats, ProcessedFrame
from apps.run_folder import RunFolder
from apps.sources import SourceError, SourceInfo
from apps.reidentify import TrackIdentities
from apps.track_descriptors import TrackDescriptors
from apps.video_writers import VideoWriter, open_video_writer
from apps.writers import CropStore, OutputWriteError, TrackFileWriter, write_json_atomic
from tracker import FaceTracker, FinishedTrack
from tracker.quality import extract_crop

WINDOW_TITLE = "FaceTrack (q to stop)"
#: An input that decodes fewer than this share of its announced frames is reported incomplete.
TRUNCATION_RATIO = 0.9


@dataclass
class VideoResult:
    """Outcome of one input.

    ``status`` is ``complete``, ``interrupted``, ``incomplete`` (the input ended early: truncated
    file), ``failed``, or ``skipped`` (a command-line argument that yields no video, e.g. a missing
    path); ``message`` explains everything but ``complete`` (for a live run it may also note that the
    stream ended and why frames were skipped).
    """

    input: str
    output_dir: str
    status: str
    message: str = ""
    frames: int = 0
    duration_seconds: float = 0.0
    input_fps: float = 0.0
    processing_fps: float = 0.0
    wall_seconds: float = 0.0
    detector_runs: int = 0
    faces_detected: int = 0
    tracks: int = 0
    crops_saved: int = 0
    frames_dropped: int = 0

    @property
    def ok(self) -> bool:
        """True when the input was processed to its end."""
        return self.status == "complete"


class VideoOutputs:
    """Writes everything for one input; call :meth:`close` on every exit path."""

    def __init__(self, folder: Path, info: SourceInfo, options: TrackingOptions, audio_from: Path | None = None,
                 identities: TrackIdentities | None = None) -> None:
        self.folder = folder
        self.info = info
        self.options = options
        self.audio_from = audio_from
        self.run = RunFolder(folder)
        self.folder = self.run.path  # where this run writes: ``folder``, or beside it if it holds an earlier run
        self.tracks = TrackFileWriter(self.folder / "tracks.txt", self.folder / "tracks.jsonl")
        self.crops = CropStore(self.folder / "faces")
        self.descriptors = TrackDescriptors(identities) if identities is not None else None
        self.video: VideoWriter | None = None
        self.track_ids: set[int] = set()
        self._last_crop_frame: dict[int, int] = {}
        self._held_detections = DetectionHold(round(MASK_HOLD_SECONDS * info.fps))
        self.frames = 0

    def write(self, item: ProcessedFrame, live_fps: float | None = None) -> None:
        """Write one processed frame: track lines, periodic crops, annotated video frame.

        The video file is created before anything of the first frame is written, so a video that
        cannot be created leaves no track line behind. (A write failing half-way through a frame can
        leave that one frame in the track files but not in the video; ``frames`` counts it nowhere.)
        """
        frame = item.frame
        timestamp = item.timestamp if item.timestamp is not None else item.index / self.info.fps
        if self.options.write_video and self.video is None:
            size = (frame.shape[1], frame.shape[0])
            self.video = open_video_writer(self.folder / "annotated.mp4", self.info.fps, size, self.options.video,
                                           self.audio_from)
        self.tracks.write_frame(item.index, timestamp, item.faces, item.shot)
        self.track_ids.update(face.track_id for face in item.faces)
        if self.options.crops is CropMode.all:
            self._save_periodic_crops(item)
        for finished in item.finished:
            self.save_best(finished)
        if self.options.write_video or self.options.display:
            annotated = self._render(frame.copy() if self.options.display else frame, item)
            if self.video is not None:
                self.video.write(annotated, timestamp)
            if self.options.display:
                cv2.imshow(WINDOW_TITLE, draw_fps(annotated, live_fps or 0.0, len(item.faces)))
        self.frames += 1

    def _render(self, frame: np.ndarray, item: ProcessedFrame) -> np.ndarray:
        """Boxes and ids, or (anonymise mode) every tracked face and fresh detection hidden."""
        if self.options.anonymize is None:
            return draw_faces(frame, item.faces)
        tracked = np.asarray([mask_box(face) for face in [*item.faces, *item.lost]]).reshape(-1, 4)
        # faces not (yet) confirmed as tracks are hidden too, for a moment after they were seen
        detected = self._held_detections.boxes(item.raw_detections, tracked, item.shot)
        return anonymize_faces(frame, np.concatenate([tracked, detected]), self.options.anonymize,
                               self.options.anonymize_margin)

    def _save_periodic_crops(self, item: ProcessedFrame) -> None:
        for face in item.faces:
            last = self._last_crop_frame.get(face.track_id)
            if face.detected and (last is None or item.index - last >= self.options.crop_every):
                self.crops.save(face.track_id, f"frame_{item.index + 1:06d}", extract_crop(item.frame, face.box))
                self._last_crop_frame[face.track_id] = item.index

    def save_best(self, track: FinishedTrack) -> None:
        """Save the best crop of a finished track (unless crops are off); describe it with ``identify``."""
        saved = self.crops.save_best(track) if self.options.crops is not CropMode.none else None
        if self.descriptors is not None:
            self.descriptors.add(track, saved.relative_to(self.folder).as_posix() if saved is not None else None)

    def close(self, result: VideoResult, extra: dict[str, Any]) -> None:
        """Finish every file, write ``summary.json`` last, then put the run in its folder (:class:`RunFolder`).

        Every file is finished even when another one fails (disk full); a failure marks the
        result failed, is recorded in ``summary.json`` and is raised as :class:`OutputWriteError`.
        """
        video = self.video
        problems = _attempt(lambda: video.close(complete=result.ok), "annotated.mp4") if video is not None else []
        problems += _attempt(self.tracks.close, "the track files")
        if self.descriptors is not None:
            problems += _attempt(lambda: self.descriptors.write(self.folder), "identity.json")
        _fail_with(result, problems)
        if video is not None:
            extra = {**extra, "video": video.description}
        problems += _attempt(lambda: write_json_atomic(self.folder / "summary.json", {**asdict(result), **extra}),
                             "summary.json")
        _fail_with(result, problems)
        if not self.run.finish(result.status):
            result.message = f"{result.message}; {self.run.kept_note}"
        if problems:
            raise OutputWriteError(problems[0])


def _fail_with(result: VideoResult, problems: list[str]) -> None:
    """Mark ``result`` failed by the first of ``problems`` (unless it failed already: the first reason stays)."""
    if problems and result.status != "failed":
        result.status, result.message = "failed", problems[0]


def _attempt(finish: Callable[[], None], what: str) -> list[str]:
    """Run one finishing step; a failure becomes a message instead of skipping the other steps."""
    try:
        finish()
    except OutputWriteError as error:
        return [str(error)]
    except OSError as error:
        return [f"cannot finish {what}: {error.strerror or error}"]
    return []


def _fill_result(
    result: VideoResult, outputs: VideoOutputs | None, stats: PipelineStats, started: float, frames: Any
) -> None:
    result.wall_seconds = round(time.perf_counter() - started, 3)
    result.frames = outputs.frames if outputs else 0
    result.duration_seconds = round(result.frames / result.input_fps, 3) if result.input_fps else 0.0
    result.processing_fps = round(result.frames / result.wall_seconds, 2) if result.wall_seconds > 0 else 0.0
    result.detector_runs = stats.detector_runs
    result.faces_detected = stats.faces_detected
    result.tracks = len(outputs.track_ids) if outputs else 0
    result.crops_saved = outputs.crops.saved if outputs else 0
    result.frames_dropped = stats.frames_dropped + getattr(frames, "dropped", 0)


def _check_completeness(result: VideoResult, info: SourceInfo, live: bool) -> None:
    """Flag inputs that decoded no frame, or far fewer than their container announced."""
    if result.status != "complete" or live:
        return
    if result.frames == 0:
        result.status, result.message = "failed", "no decodable frame (damaged file or unsupported codec)"
        return
    expected = info.frame_count
    if expected and result.frames < TRUNCATION_RATIO * expected and expected - result.frames > 2:
        result.status = "incomplete"
        result.message = (
            f"decoding stopped after {result.frames} of the {expected} frames the container announces "
            "(truncated or damaged file); outputs cover the decoded frames"
        )


def _live_note(result: VideoResult, frames: Any) -> str:
    """How a live run ended normally: whether the stream reached its end, and why frames were skipped."""
    notes = ["the stream ended"] if getattr(frames, "ended", False) else []
    if result.frames_dropped:
        total = result.frames + result.frames_dropped
        notes.append(f"{result.frames_dropped} of {total} frames skipped to stay live (they arrived faster than "
                     "they were processed; --every-frame processes every frame)")
    return "; ".join(notes)


def track_source(
    frames: Any,
    info: SourceInfo,
    folder: Path,
    detect: Detector,
    options: TrackingOptions,
    live: bool = False,
    stop: threading.Event | None = None,
    on_frame: Callable[[int], None] | None = None,
    extra_summary: dict[str, Any] | None = None,
    audio_from: Path | None = None,
    every_frame: bool = False,
) -> VideoResult:
    """Run the pipeline over ``frames`` and write every output into ``folder``.

    ``audio_from`` is the input file whose audio goes into the annotated video (None: no audio).
    ``live`` sources are processed newest frame first (frames that wait are skipped) unless
    ``every_frame`` is set; either way a stop request ends a live run normally.

    Never raises for problems of this input: failures are reported in the returned result
    (status ``failed``) and the outputs written so far are closed properly.
    """
    stop = stop if stop is not None else threading.Event()
    result = VideoResult(input=info.name, output_dir=str(folder), status="complete", input_fps=info.fps)
    pipeline: Pipeline | None = None
    processor: FrameProcessor | None = None
    outputs: VideoOutputs | None = None
    started = time.perf_counter()
    try:
        identities = _track_identities(options)
        tracker = FaceTracker(options.tracker, fps=info.fps, identity=identities)
        processor = _frame_processor(detect, tracker, options)
        pipeline = Pipeline(frames, processor, live=live and not every_frame, stop=stop)
        outputs = VideoOutputs(folder, info, options, audio_from, identities)
        for item in pipeline.results():
            if isinstance(item, Finalised):
                for finished in item.finished:
                    outputs.save_best(finished)
                continue
            elapsed = time.perf_counter() - started
            outputs.write(item, live_fps=(outputs.frames + 1) / elapsed if elapsed > 0 else None)
            if options.display and cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                stop.set()
            if on_frame is not None:
                on_frame(item.index)
        if stop.is_set() and not live:
            result.status, result.message = "interrupted", "stopped before the end of the input"
    except Exception as error:  # noqa: BLE001 - one bad input must not stop a batch
        result.status, result.message = "failed", _describe_error(error)
    finally:
        _fill_result(result, outputs, pipeline.stats if pipeline else PipelineStats(), started, frames)
        _check_completeness(result, info, live)
        if live and result.ok:
            result.message = _live_note(result, frames)
        if options.display:
            cv2.destroyAllWindows()
        if outputs is not None:
            try:
                shots = [index + 1 for index in processor.shots] if processor is not None else []
                outputs.close(result, {"options": _options_summary(options), "shots": shots, **(extra_summary or {})})
            except OutputWriteError as error:
                if result.status != "failed":  # keep the first reason
                    result.status, result.message = "failed", str(error)
    return result


def _track_identities(options: TrackingOptions) -> TrackIdentities | None:
    """With ``identify``, the face descriptors of the video's tracks (computed in this process's
    describer child process, :mod:`apps.describer_process`), else None."""
    if not options.identify:
        return None
    from apps.describer_process import shared_describer_process

    return TrackIdentities(shared_describer_process(), options.tracker.crop_margin)


def _frame_processor(detect: Detector, tracker: FaceTracker, options: TrackingOptions) -> FrameProcessor:
    """The detect+track stage for ``options``.

    Follow windows need the detector's ``detect_windows`` (and, to scan crowds instead, its
    ``windows_cost_more``): ``detect`` is then the bound ``detect`` method of a detector that has
    them (``detectors.OnnxFaceDetector``). Any other callable (a test oracle, a third-party
    detector) runs with tracks predicted between scans, as with ``follow`` off.
    """
    detector = getattr(detect, "__self__", None)
    detect_windows = getattr(detector, "detect_windows", None) if options.follow else None
    cut_detector = None
    if options.shot_cuts:
        from apps.shot_cuts import ShotCutDetector

        cut_detector = ShotCutDetector()
    mask_lost_seconds = options.anonymize_lost_seconds if options.anonymize is not None else 0.0
    return FrameProcessor(detect, tracker, options.detect_every, detect_windows, cut_detector, mask_lost_seconds,
                          getattr(detector, "windows_cost_more", None))


def _describe_error(error: BaseException) -> str:
    """One line for the user: the reason alone for expected failures, with the type for bugs."""
    if isinstance(error, SourceError):
        return error.reason
    if isinstance(error, OSError) and error.strerror:  # "No space left on device", not "[Errno 28] ..."
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    text = str(error) or type(error).__name__
    return text if isinstance(error, (OutputWriteError, OSError, ValueError)) else f"{type(error).__name__}: {text}"


def _options_summary(options: TrackingOptions) -> dict[str, Any]:
    return {
        "detect_every": options.detect_every,
        "follow": options.follow,
        "shot_cuts": options.shot_cuts,
        "crops": options.crops.value,
        "anonymize": options.anonymize.value if options.anonymize else None,
        "crop_every": options.crop_every,
        "write_video": options.write_video,
        **({"identify": True} if options.identify else {}),
        "tracker": asdict(options.tracker),
    }
