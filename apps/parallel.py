"""The videos of a batch in several local processes (``--workers N``).

Each worker process loads its own detector session once and processes whole videos with the same
code as the one-process batch (:func:`apps.batch.process_video`), so the outputs are identical to
``--workers 1``. Workers ignore Ctrl-C: the main process catches it and sets a shared stop event,
so every worker closes its current video's outputs properly (status ``interrupted``). Progress
travels back through a queue and is drawn by the main process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from apps.batch import RichVideoProgress, batch_progress, process_video, report_result
from apps.detector_spec import DetectorSpec
from apps.discovery import VideoInput
from apps.options import TrackingOptions
from apps.video_job import VideoResult
from apps.video_writers import warn_once

#: Seconds between two progress messages of one worker (the queue is not flooded per frame).
PROGRESS_INTERVAL = 0.25


def default_workers(videos: int) -> int:
    """Worker processes used when ``--workers`` is not given, at most one per video.

    One per two CPU cores (a video pipeline keeps up to two cores busy: decoding, detection,
    encoding), but two on a two-core machine: measured there (benchmarks/batch_engines.py), two
    workers finish a batch 1.16-1.20x faster than one, since one pipeline leaves gaps on both cores.
    """
    cores = os.cpu_count() or 1
    return max(1, min(videos, max(2, cores // 2) if cores >= 2 else 1))


@dataclass(frozen=True)
class BatchJob:
    """What every video of a batch shares."""

    output_root: Path
    options: TrackingOptions
    detector: DetectorSpec
    extra_summary: dict[str, Any]


class _QueueProgress:
    """A video's progress sent to the main process as ``(position, kind, *values)`` messages."""

    def __init__(self, messages: Any, position: int) -> None:
        self.messages = messages
        self.position = position
        self._last_sent = 0.0

    def started(self, name: str, total: int | None) -> None:
        self.messages.put((self.position, "started", name, total))

    def advanced(self, done: int, fps: float) -> None:
        now = time.monotonic()
        if now - self._last_sent >= PROGRESS_INTERVAL:
            self._last_sent = now
            self.messages.put((self.position, "advanced", done, fps))

    def finished(self) -> None:
        self.messages.put((self.position, "finished"))


class _QueueWarnings(logging.Handler):
    """In a worker: hands each warning of the ``facetrack`` logger to the main process, which shows it
    as its own ``warning:`` line (once per batch), instead of Python's bare last-resort line."""

    def __init__(self, messages: Any) -> None:
        super().__init__(logging.WARNING)
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.put((None, "warning", record.getMessage()))


_worker: dict[str, Any] = {}


def _start_worker(spec: DetectorSpec, messages: Any, stop: Any) -> None:
    """Process initialiser: ignore Ctrl-C (the main process coordinates stopping), send warnings to
    the main process, load the detector."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("facetrack").addHandler(_QueueWarnings(messages))
    _worker.update(detector=spec.load_for_tracking(), messages=messages, stop=stop)


def _process_in_worker(position: int, video: VideoInput, job: BatchJob) -> VideoResult:
    progress = _QueueProgress(_worker["messages"], position)
    return process_video(video, job.output_root, _worker["detector"].detect, job.options, _worker["stop"],
                         progress, job.extra_summary)


def process_batch_in_processes(
    videos: list[VideoInput],
    job: BatchJob,
    workers: int,
    stop: Any,
    console: Console,
) -> list[VideoResult]:
    """Process ``videos`` in ``workers`` processes; results come back in input order.

    A video that fails is reported and the others continue; a worker process that dies (e.g. out of
    memory) fails the videos it had not finished, with that reason. After ``stop`` is set, videos
    not yet started are skipped and those in work end as ``interrupted``.
    """
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads and sessions
    messages = context.Queue()
    shared_stop = context.Event()
    results: dict[int, VideoResult] = {}
    with batch_progress(console) as progress, ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker,
        initargs=(job.detector, messages, shared_stop),
    ) as pool:
        batch_task = progress.add_task("videos", total=len(videos), rate="")
        bars: dict[int, RichVideoProgress] = {}
        pending: dict[Future, int] = {
            pool.submit(_process_in_worker, position, video, job): position for position, video in enumerate(videos)
        }
        while pending:
            if stop.is_set() and not shared_stop.is_set():
                shared_stop.set()
                for future in pending:
                    future.cancel()
            done, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            _show_progress(messages, bars, progress)
            for future in done:
                position = pending.pop(future)
                if future.cancelled():
                    continue
                results[position] = _outcome(future, videos[position], job.output_root)
                report_result(progress, results[position])
                progress.advance(batch_task)
        _show_progress(messages, bars, progress)
        for bar in bars.values():
            bar.finished()
    return [results[position] for position in sorted(results)]


def _show_progress(messages: Any, bars: dict[int, RichVideoProgress], progress: Progress) -> None:
    """Apply every progress message waiting in the queue to the videos' bars; show the workers'
    warnings (each once)."""
    while True:
        try:
            position, kind, *values = messages.get_nowait()
        except queue.Empty:
            return
        if kind == "warning":
            warn_once(*values)
            continue
        bar = bars.setdefault(position, RichVideoProgress(progress))
        getattr(bar, kind)(*values)


def _outcome(future: Future, video: VideoInput, output_root: Path) -> VideoResult:
    """The worker's result, or a failed result naming why the worker could not deliver one."""
    try:
        return future.result()
    except BrokenProcessPool:
        reason = "the worker process died (out of memory or a crash in native code)"
    except Exception as error:  # noqa: BLE001 - a broken detector in the worker, an unpicklable error...
        reason = f"worker error: {type(error).__name__}: {error}"
    return VideoResult(input=str(video.path), output_dir=str(output_root / video.output_name), status="failed",
                       message=reason)
