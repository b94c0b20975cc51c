"""Live mode: a webcam or stream through the pipeline, always on the newest frame."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apps.options import TrackingOptions
from apps.pipeline import Detector
from apps.sources import Capture, LiveSource, SourceError, live_label
from apps.video_job import VideoResult, track_source


def live_output_name(device: int | str) -> str:
    """Output folder name of a live session, e.g. ``webcam0-20261130-101500``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    label = f"webcam{device}" if isinstance(device, int) else "stream"
    return f"{label}-{stamp}"


def _stop_after(stop: threading.Event, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, stop.set)
    timer.daemon = True
    timer.start()
    return timer


def run_live(
    device: int | str,
    output_root: Path,
    detect: Detector,
    options: TrackingOptions,
    stop: threading.Event,
    duration: float | None = None,
    capture_factory: Callable[[Any], Capture] | None = None,
    open_timeout: float = 10.0,
    every_frame: bool = False,
) -> VideoResult:
    """Track faces from a camera index or stream URL until stopped (signal, ``q``, ``duration``)
    or until the stream ends.

    The outputs are those of a file input, in ``output_root/<webcamN|stream>-<time>/``.
    A camera that cannot be opened, stops delivering frames, or a stream that stops answering is
    reported in the result as ``failed``; a stream that reaches its end is ``complete``
    (``capture_factory`` defaults to ``cv2.VideoCapture``). Frames that arrive while the previous
    one is processed are skipped, unless ``every_frame``: then every frame is processed in order.
    """
    folder = output_root / live_output_name(device)
    try:
        source = LiveSource(device, capture_factory=capture_factory, open_timeout=open_timeout,
                            every_frame=every_frame)
    except SourceError as error:
        return VideoResult(input=live_label(device), output_dir=str(folder), status="failed", message=str(error))
    timer = _stop_after(stop, duration) if duration else None
    try:
        result = track_source(source, source.info, folder, detect, options, live=True, stop=stop,
                              every_frame=every_frame)
    finally:
        source.close()
        if timer is not None:
            timer.cancel()
    return result
