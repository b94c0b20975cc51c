"""Processing many videos one after another, with progress bars and a final summary table.

(Several processes: :mod:`apps.parallel`; a Ray cluster: :mod:`apps.ray_engine`.)
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from apps.discovery import VideoInput
from apps.options import TrackingOptions
from apps.pipeline import Detector
from apps.sources import SourceError, VideoFileSource
from apps.video_job import VideoResult, track_source


def batch_progress(console: Console) -> Progress:
    """The progress display of a batch: one bar for the videos, one per video in work."""
    return Progress(
        TextColumn("{task.description}", justify="left"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


class VideoProgress(Protocol):
    """Receives the progress of one video (a rich progress bar, or a queue to the main process)."""

    def started(self, name: str, total: int | None) -> None: ...
    def advanced(self, done: int, fps: float) -> None: ...
    def finished(self) -> None: ...


class RichVideoProgress:
    """One video's bar in a rich :class:`Progress`, removed when the video is done."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._task: TaskID | None = None

    def started(self, name: str, total: int | None) -> None:
        self._task = self.progress.add_task(f"  {escape(printable(name))}", total=total, rate="")

    def advanced(self, done: int, fps: float) -> None:
        if self._task is not None:
            self.progress.update(self._task, completed=done, rate=f"{fps:6.1f} fps")

    def finished(self) -> None:
        if self._task is not None:
            self.progress.remove_task(self._task)
            self._task = None


def process_video(
    video: VideoInput,
    output_root: Path,
    detect: Detector,
    options: TrackingOptions,
    stop: threading.Event,
    progress: VideoProgress | None = None,
    extra_summary: dict | None = None,
) -> VideoResult:
    """Process one video file into ``output_root / video.output_name``; never raises for input problems."""
    folder = output_root / video.output_name
    try:
        source = VideoFileSource(video.path)
    except SourceError as error:
        return VideoResult(input=str(video.path), output_dir=str(folder), status="failed", message=error.reason)
    if progress is not None:
        progress.started(video.path.name, source.info.frame_count)
    started = time.perf_counter()

    def on_frame(index: int) -> None:
        elapsed = time.perf_counter() - started
        if progress is not None and elapsed > 0:
            progress.advanced(index + 1, (index + 1) / elapsed)

    try:
        result = track_source(source, source.info, folder, detect, options, stop=stop, on_frame=on_frame,
                              extra_summary=extra_summary, audio_from=video.path)
    finally:
        source.close()
        if progress is not None:
            progress.finished()
    return result


def process_batch(
    videos: list[VideoInput],
    output_root: Path,
    detect: Detector,
    options: TrackingOptions,
    stop: threading.Event,
    console: Console,
    extra_summary: dict | None = None,
) -> list[VideoResult]:
    """Process ``videos`` one after another; a failing video is reported and the batch continues."""
    results: list[VideoResult] = []
    with batch_progress(console) as progress:
        batch_task = progress.add_task("videos", total=len(videos), rate="")
        for video in videos:
            if stop.is_set():
                break
            result = process_video(video, output_root, detect, options, stop, RichVideoProgress(progress),
                                   extra_summary)
            results.append(result)
            report_result(progress, result)
            progress.advance(batch_task)
    return results


def report_result(progress: Progress, result: VideoResult) -> None:
    """Print the one-line reason of a video that did not complete (above the progress bars)."""
    if not result.ok:
        progress.console.print(failure_line(result), style="red", markup=False, highlight=False)


def printable(text: object) -> str:
    """``text`` safe to show on one line: control characters (a newline in a file name) and
    undecodable bytes of file names are shown as escapes instead of breaking the line or the output."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in str(text))


def failure_line(result: VideoResult) -> str:
    """``<status>: <input>: <reason>`` on one line (the input is not repeated if the reason starts with it)."""
    message = result.message if result.message.startswith(f"{result.input}: ") else f"{result.input}: {result.message}"
    return printable(f"{result.status}: {message}")


def summary_table(results: list[VideoResult]) -> Table:
    """A rich table with one row per input (file names are shown literally, never as rich markup)."""
    table = Table(title="FaceTrack summary")
    for column in ("input", "status", "frames", "fps", "tracks", "faces", "crops", "output"):
        table.add_column(column, overflow="fold")
    for result in results:
        colour = "green" if result.ok else ("yellow" if result.status in ("interrupted", "incomplete") else "red")
        status = Text(result.status, style=colour)
        if result.message:
            status.append("\n" + printable(result.message))
        table.add_row(
            Text(printable(result.input)),
            status,
            str(result.frames),
            f"{result.processing_fps:.1f}",
            str(result.tracks),
            str(result.faces_detected),
            str(result.crops_saved),
            Text(printable(result.output_dir)),
        )
    return table
