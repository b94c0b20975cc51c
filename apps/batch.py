"""Processing many videos one after another, with progress bars and a final summary table.

(Several processes: :mod:`apps.parallel`; a Ray cluster: :mod:`apps.ray_engine`.)
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Protocol

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markup import escape
from rich.padding import Padding
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
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


#: Columns of the summary table; the first two are left-aligned, the counts right-aligned.
SUMMARY_COLUMNS = ("input", "status", "frames", "fps", "tracks", "faces", "crops")
_GAP = "  "


def output_name(result: VideoResult, output_root: Path) -> str:
    """The name the outputs of ``result`` use: its folder below ``output_root`` (``sub/clip``), or the
    input as given when it has no output folder (a skipped argument)."""
    try:
        return Path(result.output_dir).relative_to(output_root).as_posix() if result.output_dir else result.input
    except ValueError:  # an output folder elsewhere: show it whole
        return result.output_dir


def _status_style(result: VideoResult) -> str:
    """Colour of a status: green when complete, yellow when partly done, red otherwise."""
    if result.ok:
        return "green"
    return "yellow" if result.status in ("interrupted", "incomplete") else "red"


def _cells(result: VideoResult, output_root: Path) -> list[str]:
    """The row of one input, as text."""
    counts = (result.frames, f"{result.processing_fps:.1f}", result.tracks, result.faces_detected, result.crops_saved)
    return [printable(output_name(result, output_root)), result.status, *map(str, counts)]


def _padding(cell: str, width: int) -> str:
    """The spaces that fill ``cell`` to ``width`` terminal cells (wide characters take two)."""
    return " " * max(width - cell_len(cell), 0)


def _line(cells: list[str], widths: list[int], status_style: str = "") -> Text:
    """One aligned line: the name and status left-aligned, the counts right-aligned."""
    line = Text(cells[0] + _padding(cells[0], widths[0]) + _GAP)
    line.append(cells[1] + _padding(cells[1], widths[1]), style=status_style)
    for cell, width in zip(cells[2:], widths[2:]):
        line.append(_GAP + _padding(cell, width) + cell)
    return line


class SummaryTable:
    """The end-of-run summary: the output root once, then one line per input named as its outputs are,
    and a message (the reason of a failure, a note) on its own indented line under its row.

    Plain aligned text, so it stays readable at 80 columns and in log files; a name too long for the
    width goes on a line of its own above its row. File names are shown literally, never as markup.
    """

    def __init__(self, results: list[VideoResult], output_root: Path) -> None:
        self.results = results
        self.output_root = output_root

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows = [_cells(result, self.output_root) for result in self.results]
        widths = [max(map(cell_len, column)) for column in zip(SUMMARY_COLUMNS, *rows)]
        room = options.max_width - sum(widths[1:]) - len(_GAP) * (len(widths) - 1)
        widths[0] = max((cell_len(cells[0]) for cells in rows if cell_len(cells[0]) <= room), default=0)
        widths[0] = max(widths[0], len(SUMMARY_COLUMNS[0]))
        yield Text("FaceTrack summary", style="bold")
        yield Text(f"outputs in {printable(self.output_root)}")
        yield Text(_line(list(SUMMARY_COLUMNS), widths).plain, style="bold")
        for result, cells in zip(self.results, rows):
            if cell_len(cells[0]) > widths[0]:
                yield Text(cells[0])
                cells[0] = ""
            yield _line(cells, widths, _status_style(result))
            if result.message:
                yield Padding(Text(printable(result.message), style=_status_style(result)), (0, 0, 0, len(_GAP)), expand=False)


def summary_table(results: list[VideoResult], output_root: Path) -> SummaryTable:
    """The summary of a run, to print with a rich console (see :class:`SummaryTable`)."""
    return SummaryTable(results, output_root)
