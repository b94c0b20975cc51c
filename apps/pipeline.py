"""The threaded capture -> detect+track -> write pipeline.

Three stages run concurrently, joined by bounded queues so memory stays flat:

* a **capture** thread pulls frames from the source;
* a **process** thread scans the whole frame with the detector every ``detect_every`` frames (and
  on the first frame of every shot), follows the tracked faces in windows on the frames between
  (see :class:`FrameProcessor`) and runs the tracker on every frame;
* the **calling thread** writes (video, track files, crops), shows the live window and reports
  progress. Writing stays on the calling thread because GUI toolkits need the main thread.

File mode never drops a frame (blocking queues). Live mode replaces a waiting frame with the
newer one, so the processing always works on the newest frame. A ``stop`` event (set by a
signal handler, the ``q`` key or a failing stage) makes every stage finish promptly; frames
already processed are still written and every live track is finalised, so partial outputs are
valid. An exception in any stage is re-raised in the calling thread after all threads ended.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from tracker import FaceTracker, FinishedTrack, TrackedFace
from tracker.face_tracker import WindowDetector

_END = object()
_POLL_SECONDS = 0.05
_JOIN_SECONDS = 5.0

Detector = Callable[[np.ndarray], np.ndarray]


class CutDetector(Protocol):
    """Tells, frame by frame, whether a frame starts a new shot (see :mod:`apps.shot_cuts`)."""

    def update(self, frame: np.ndarray) -> bool:
        """True if ``frame`` is the first frame of a new shot."""


@dataclass
class ProcessedFrame:
    """One frame after detection and tracking."""

    index: int
    frame: np.ndarray
    faces: list[TrackedFace]
    finished: list[FinishedTrack]
    detections: int | None
    """Confident faces (score >= the tracker's ``high_score``) found by the detector on this
    frame; None when it did not run."""
    raw_detections: np.ndarray | None = None
    """The detector's (N, 5) output on this frame: the full scan's, or all follow windows' together;
    None when it did not run."""
    timestamp: float | None = None
    """Presentation time of the frame in seconds, when the source knows it (see :class:`Pipeline`)."""
    shot: int = 0
    """Number of the shot the frame belongs to (0 for the first; see :attr:`FrameProcessor.shots`)."""
    lost: list[TrackedFace] = field(default_factory=list)
    """Confirmed tracks not shown on this frame but measured recently (only with ``mask_lost_seconds``)."""


@dataclass
class Finalised:
    """The tracks still alive at the end of the video, finalised by the tracker."""

    finished: list[FinishedTrack]


@dataclass
class PipelineStats:
    """Counters of one run."""

    frames_read: int = 0
    frames_written: int = 0
    frames_dropped: int = 0
    detector_runs: int = 0
    faces_detected: int = 0
    errors: list[BaseException] = field(default_factory=list)


class FrameProcessor:
    """The detect+track stage: full scans, follow windows and shot cuts, the tracker on every frame.

    Schedule: the detector scans the whole frame on the first frame, every ``detect_every``
    frames after the last scan, and on the first frame of every shot. With ``detect_windows``,
    the frames between scans look for every live track inside its follow window (one batched
    call, :meth:`FaceTracker.follow`); without, tracks are only predicted there. With
    ``cut_detector``, a shot cut ends every track (:meth:`FaceTracker.end_shot`) and
    :attr:`shots` records the index of every shot's first frame. With ``windows_cost_more(frame_shape,
    windows)`` (the detector's :meth:`~detectors.runtime.OnnxFaceDetector.windows_cost_more`), a frame
    whose windows would cost more than a scan is scanned instead (crowds). With
    ``mask_lost_seconds`` > 0, every result also lists the tracks lost for at most that long
    (:meth:`FaceTracker.lost_faces`), for anonymising.
    """

    def __init__(
        self,
        detect: Detector,
        tracker: FaceTracker,
        detect_every: int = 1,
        detect_windows: WindowDetector | None = None,
        cut_detector: CutDetector | None = None,
        mask_lost_seconds: float = 0.0,
        windows_cost_more: Callable[[tuple[int, ...], int], bool] | None = None,
    ) -> None:
        if detect_every < 1:
            raise ValueError("detect_every must be at least 1")
        self.detect = detect
        self.tracker = tracker
        self.detect_every = detect_every
        self.detect_windows = detect_windows
        self.cut_detector = cut_detector
        self.mask_lost_seconds = mask_lost_seconds
        self.windows_cost_more = windows_cost_more
        self.shots: list[int] = []
        self._next_scan = 0

    def process(self, index: int, frame: np.ndarray) -> ProcessedFrame:
        """Scan, follow or predict one frame (see the class docstring) and track it."""
        cut = self.cut_detector is not None and self.cut_detector.update(frame)
        if not self.shots or cut:
            if self.shots:
                self.tracker.end_shot()
            self.shots.append(index)
            self._next_scan = index
        window_detections: list[np.ndarray] = []
        detections = None
        if index >= self._next_scan or self._scan_is_cheaper(frame):
            self._next_scan = index + self.detect_every
            detections = self.detect(frame)
            faces = self.tracker.update(detections, frame)
        elif self.detect_windows is not None:
            faces = self.tracker.follow(frame, _recording(self.detect_windows, window_detections))
        else:
            faces = self.tracker.update(None, frame)
        found = None if detections is None else int(np.sum(detections[:, 4] >= self.tracker.config.high_score))
        raw = detections if detections is not None or not window_detections else np.concatenate(window_detections)
        lost = self.tracker.lost_faces(self.mask_lost_seconds, frame, faces) if self.mask_lost_seconds > 0 else []
        return ProcessedFrame(index, frame, faces, self.tracker.pop_finished(), found, raw, shot=len(self.shots) - 1,
                              lost=lost)

    def _scan_is_cheaper(self, frame: np.ndarray) -> bool:
        """True when following every face would cost more than scanning the frame (a crowd)."""
        if self.detect_windows is None or self.windows_cost_more is None:
            return False
        return self.windows_cost_more(frame.shape, self.tracker.followed_count())

    def finish(self) -> list[FinishedTrack]:
        """Finalise every live track (end of video or stop)."""
        return self.tracker.finalize()


def _recording(detect_windows: WindowDetector, found: list[np.ndarray]) -> WindowDetector:
    """``detect_windows`` that also appends every window's detections to ``found``."""

    def detect_and_record(frame: np.ndarray, windows: np.ndarray) -> list[np.ndarray]:
        results = detect_windows(frame, windows)
        found.extend(results)
        return results

    return detect_and_record


def _put(target: queue.Queue, item: object, give_up: Callable[[], bool]) -> bool:
    """Blocking put that returns False instead once ``give_up()`` is true."""
    while not give_up():
        try:
            target.put(item, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def _put_latest(target: queue.Queue, item: object, stats: PipelineStats) -> None:
    """Non-blocking put for live mode: a frame still waiting is replaced by the newer one."""
    while True:
        try:
            target.put_nowait(item)
            return
        except queue.Full:
            try:
                target.get_nowait()
                stats.frames_dropped += 1
            except queue.Empty:
                pass


def _get(source: queue.Queue, give_up: Callable[[], bool]) -> object:
    """Blocking get that returns ``_END`` once ``give_up()`` is true."""
    while True:
        try:
            return source.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if give_up():
                return _END


class Pipeline:
    """Runs the three stages for one source; see the module docstring.

    A source may expose ``last_frame_time``: the presentation time in seconds of the frame it
    yielded last (video files: the container's timestamp, so variable frame rates are kept; live
    sources: the capture time). It is read right after each frame and handed on as
    :attr:`ProcessedFrame.timestamp`.
    """

    def __init__(
        self,
        frames: Iterable[np.ndarray],
        processor: FrameProcessor,
        live: bool = False,
        queue_size: int = 8,
        stop: threading.Event | None = None,
    ) -> None:
        self.frames = frames
        self.processor = processor
        self.live = live
        # ``interrupt`` is the caller's request to stop (signals, the q key), possibly shared by a
        # whole batch; ``stop`` is this run's own halt flag, also set when a stage fails.
        self.interrupt = stop if stop is not None else threading.Event()
        self.stop = threading.Event()
        self.stats = PipelineStats()
        self._frames_in: queue.Queue = queue.Queue(maxsize=1 if live else queue_size)
        self._frames_out: queue.Queue = queue.Queue(maxsize=2 if live else queue_size)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        # Set when the consumer is gone or a stage failed: nobody will read the output queue.
        self._abort = threading.Event()

    def _stopping(self) -> bool:
        return self.stop.is_set() or self.interrupt.is_set()

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            self.stats.errors.append(error)
        self._abort.set()
        self.stop.set()

    def _source_failed(self, error: BaseException) -> None:
        """The source broke (a camera stopped delivering frames): stop like a stop request, so the
        frame in hand is delivered and every live track finalised, then re-raise ``error``."""
        with self._lock:
            self.stats.errors.append(error)
        self.stop.set()

    def _capture_loop(self) -> None:
        try:
            for index, frame in enumerate(self.frames):
                if self._stopping():
                    break
                self.stats.frames_read += 1
                item = (index, frame, getattr(self.frames, "last_frame_time", None))
                if self.live:
                    _put_latest(self._frames_in, item, self.stats)
                elif not _put(self._frames_in, item, self._stopping):
                    break
        except BaseException as error:  # noqa: BLE001 - every failure must reach the caller
            self._source_failed(error)
        finally:
            _put(self._frames_in, _END, self._stopping)

    def _process_loop(self) -> None:
        try:
            while not self._stopping():
                item = _get(self._frames_in, self._stopping)
                if item is _END:
                    break
                index, frame, timestamp = item
                result = self.processor.process(index, frame)
                result.timestamp = timestamp
                if result.detections is not None:
                    self.stats.detector_runs += 1
                    self.stats.faces_detected += result.detections
                # The consumer keeps reading until the end marker, even when stopping, so the
                # frame in hand (and the tracks it finished) is always delivered.
                if not _put(self._frames_out, result, self._abort.is_set):
                    break
            if not self._abort.is_set():
                _put(self._frames_out, Finalised(self.processor.finish()), self._abort.is_set)
        except BaseException as error:  # noqa: BLE001
            self._fail(error)
        finally:
            _put(self._frames_out, _END, self._abort.is_set)

    def results(self) -> Iterable[ProcessedFrame | Finalised]:
        """Start the stages and yield their results in order on the calling thread.

        The generator ends when the source is exhausted or a stop is requested; it re-raises the
        first stage error after every thread has ended.
        """
        self._threads = [
            threading.Thread(target=self._capture_loop, name="facetrack-capture", daemon=True),
            threading.Thread(target=self._process_loop, name="facetrack-process", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        reached_end = False
        try:
            while True:
                item = self._next_result()
                if item is _END:
                    reached_end = True
                    break
                if isinstance(item, ProcessedFrame):
                    self.stats.frames_written += 1
                yield item
        finally:
            if not reached_end:  # the consumer failed or stopped early
                self._abort.set()
                self.stop.set()
            self._join()
        if self.stats.errors:
            raise self.stats.errors[0]

    def _next_result(self) -> object:
        while True:
            try:
                return self._frames_out.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not any(thread.is_alive() for thread in self._threads):
                    try:
                        return self._frames_out.get_nowait()
                    except queue.Empty:
                        return _END

    def _join(self) -> None:
        for thread in self._threads:
            thread.join(_JOIN_SECONDS)
