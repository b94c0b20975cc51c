"""Frame sources: video files (every frame, in order) and live cameras/streams (newest frame only)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

#: Frame rates outside this range are treated as unknown (broken containers report 0 or 90000).
SANE_FPS = (1.0, 240.0)
DEFAULT_FPS = 25.0


class SourceError(RuntimeError):
    """A video or camera cannot be opened or read."""


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the sources use (tests pass fakes)."""

    def isOpened(self) -> bool: ...  # noqa: N802 - OpenCV's name
    def read(self) -> tuple[bool, np.ndarray | None]: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


@dataclass(frozen=True)
class SourceInfo:
    """What is known about a source before reading it.

    Attributes:
        name: Human-readable name (file path or ``webcam 0``).
        fps: Frame rate used for the output video and time-based settings.
        frame_count: Frames reported by the container (None when unknown or implausible).
        width: Frame width reported by the container (0 when unknown).
        height: Frame height reported by the container (0 when unknown).
    """

    name: str
    fps: float
    frame_count: int | None
    width: int
    height: int


def sane_fps(reported: float) -> float | None:
    """The reported frame rate, or None when it is missing or implausible."""
    if reported and np.isfinite(reported) and SANE_FPS[0] <= reported <= SANE_FPS[1]:
        return float(reported)
    return None


def _describe(capture: Capture, name: str) -> SourceInfo:
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    return SourceInfo(
        name=name,
        fps=sane_fps(capture.get(cv2.CAP_PROP_FPS)) or DEFAULT_FPS,
        frame_count=count if 0 < count < 10_000_000 else None,
        width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
        height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
    )


class VideoFileSource:
    """Every frame of a video file, in order. Iteration stops at the end or at the first undecodable frame."""

    def __init__(self, path: str | Path, capture_factory: Callable[[str], Capture] = cv2.VideoCapture) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"{self.path}: no such file")
        try:
            with open(self.path, "rb") as handle:
                if not handle.read(16):
                    raise SourceError(f"{self.path}: empty file (0 bytes)")
        except PermissionError as error:
            raise SourceError(f"{self.path}: permission denied") from error
        self._capture = capture_factory(str(self.path))
        if not self._capture.isOpened():
            raise SourceError(f"{self.path}: not a readable video (unknown format or damaged file)")
        self.info = _describe(self._capture, str(self.path))

    def __iter__(self) -> Iterator[np.ndarray]:
        try:
            while True:
                ok, frame = self._capture.read()
                if not ok or frame is None:
                    return
                yield frame
        finally:
            self.close()

    def close(self) -> None:
        """Release the decoder (idempotent)."""
        self._capture.release()


class LiveSource:
    """A camera or stream read by a background thread that keeps only the newest frame.

    Iterating yields each new frame once; stale frames are dropped, so whoever consumes the
    frames always works on the most recent one and latency stays near one frame period.
    Iteration ends when :meth:`close` is called or the device stops delivering frames for
    ``stall_timeout`` seconds.
    """

    def __init__(
        self,
        device: int | str,
        capture_factory: Callable[[Any], Capture] = cv2.VideoCapture,
        open_timeout: float = 10.0,
        stall_timeout: float = 5.0,
    ) -> None:
        self.device = device
        self.stall_timeout = stall_timeout
        self.dropped = 0
        self._capture = _open_with_timeout(capture_factory, device, open_timeout)
        label = f"webcam {device}" if isinstance(device, int) else str(device)
        self.info = _describe(self._capture, label)
        self._condition = threading.Condition()
        self._latest: np.ndarray | None = None
        self._sequence = 0
        self._closed = threading.Event()
        self._failed: str | None = None
        self._reader = threading.Thread(target=self._read_loop, name="live-grabber", daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        try:
            while not self._closed.is_set():
                ok, frame = self._capture.read()
                if not ok or frame is None:
                    with self._condition:
                        self._failed = f"{self.info.name}: the device stopped delivering frames"
                        self._condition.notify_all()
                    return
                with self._condition:
                    if self._latest is not None:
                        self.dropped += 1
                    self._latest = frame
                    self._sequence += 1
                    self._condition.notify_all()
        finally:
            self._capture.release()

    def __iter__(self) -> Iterator[np.ndarray]:
        while not self._closed.is_set():
            with self._condition:
                deadline = time.monotonic() + self.stall_timeout
                while self._latest is None and self._failed is None and not self._closed.is_set():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise SourceError(f"{self.info.name}: no frame for {self.stall_timeout:g} s")
                    self._condition.wait(min(remaining, 0.1))
                frame, self._latest = self._latest, None
                failed = self._failed
            if frame is not None:
                yield frame
            elif failed is not None:
                raise SourceError(failed)

    def close(self) -> None:
        """Stop reading (idempotent); the device is released by the reader thread."""
        self._closed.set()
        with self._condition:
            self._condition.notify_all()
        self._reader.join(timeout=2.0)


def _open_with_timeout(factory: Callable[[Any], Capture], device: int | str, timeout: float) -> Capture:
    """Open a capture in a helper thread so an unresponsive stream cannot hang start-up."""
    result: dict[str, Any] = {}

    def open_device() -> None:
        try:
            result["capture"] = factory(device)
        except Exception as error:  # OpenCV backends raise assorted errors
            result["error"] = error

    opener = threading.Thread(target=open_device, name="live-open", daemon=True)
    opener.start()
    opener.join(timeout)
    if opener.is_alive():
        raise SourceError(f"{device}: no answer within {timeout:g} s")
    if "error" in result:
        raise SourceError(f"{device}: cannot open ({result['error']})")
    capture = result["capture"]
    if not capture.isOpened():
        kind = "camera index" if isinstance(device, int) else "stream"
        raise SourceError(f"{device}: cannot open this {kind} (does not exist, is busy or does not answer)")
    return capture
