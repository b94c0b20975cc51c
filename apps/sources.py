"""Frame sources: video files (every frame, in order) and live cameras/streams (newest frame, or every frame)."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from detectors.preprocess import to_bgr

#: Frame rates outside this range are treated as unknown (broken containers report 0 or 90000).
SANE_FPS = (1.0, 240.0)
DEFAULT_FPS = 25.0


class SourceError(RuntimeError):
    """A video or camera cannot be opened or read.

    ``str(error)`` is ``"<name>: <reason>"``; :attr:`reason` alone suits places that already
    show the name (the batch's one-line messages and summary table).
    """

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


#: File signatures of still images (an image renamed ``.mp4`` is reported, not tracked as a 1-frame video).
_IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"BM": "a BMP image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
}


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


def _whole(value: float) -> int:
    """A container property as an int; 0 when missing, NaN or infinite (broken headers report anything)."""
    return int(value) if value and np.isfinite(value) else 0


def _describe(capture: Capture, name: str) -> SourceInfo:
    count = _whole(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    return SourceInfo(
        name=name,
        fps=sane_fps(capture.get(cv2.CAP_PROP_FPS)) or DEFAULT_FPS,
        frame_count=count if 0 < count < 10_000_000 else None,
        width=max(_whole(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), 0),
        height=max(_whole(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)), 0),
    )


def as_bgr(frame: np.ndarray) -> np.ndarray:
    """The frame as 3-channel uint8 BGR: captures may deliver grayscale (HxW or HxWx1) or BGRA frames,
    which the tracker, the crops and the video writer cannot take. BGR frames are returned as they are."""
    if frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8:
        return frame
    return to_bgr(frame)


def _image_kind(header: bytes) -> str | None:
    """``"a PNG image"`` etc. when ``header`` starts like a still image, else None."""
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "a WebP image"
    return next((kind for magic, kind in _IMAGE_SIGNATURES.items() if header.startswith(magic)), None)


class VideoFileSource:
    """Every frame of a video file, in order. Iteration stops at the end or at the first undecodable frame.

    :attr:`last_frame_time` is the container timestamp (seconds) of the frame yielded last, so a
    variable-frame-rate video keeps its timing in the outputs.
    """

    def __init__(self, path: str | Path, capture_factory: Callable[[str], Capture] | None = None) -> None:
        self.path = Path(path)
        name = str(self.path)
        if not self.path.is_file():
            raise SourceError(name, "no such file")
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:  # OpenCV crashes (segfault) on such names: tell the user instead
            reason = "the file name is not valid UTF-8 (OpenCV cannot open it): rename the file"
            raise SourceError(name, reason) from None
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(16)
        except PermissionError as error:
            raise SourceError(name, "permission denied") from error
        except OSError as error:
            raise SourceError(name, f"cannot read the file ({error.strerror or error})") from error
        if not header:
            raise SourceError(name, "empty file (0 bytes)")
        image = _image_kind(header)
        if image is not None:
            raise SourceError(name, f"not a video: the file is {image}")
        # Looked up at call time, so tests can replace cv2.VideoCapture.
        self._capture = (capture_factory or cv2.VideoCapture)(name)
        if not self._capture.isOpened():
            raise SourceError(name, "not a readable video (unknown format or damaged file)")
        self.info = _describe(self._capture, name)
        self._trusted_times = sane_fps(self._capture.get(cv2.CAP_PROP_FPS)) is not None
        self.last_frame_time: float | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        try:
            for index in itertools.count():
                ok, frame = self._capture.read()
                if not ok or frame is None or frame.size == 0:
                    return
                self.last_frame_time = self._frame_time(index)
                yield as_bgr(frame)
        finally:
            self.close()

    def _frame_time(self, index: int) -> float:
        """Timestamp of the frame just read: the container's, or index / fps when it has none.

        A container that reports an implausible frame rate is not trusted with timestamps either;
        a timestamp closer than 1/240 s to the previous one, equal, or going backwards (broken
        containers) is replaced by the previous one plus a frame period.
        """
        fallback = index / self.info.fps
        if not self._trusted_times:
            return fallback
        position = self._capture.get(cv2.CAP_PROP_POS_MSEC)
        valid = np.isfinite(position) and position >= 0 and (index == 0 or position > 0)
        seconds = position / 1000.0 if valid else fallback
        previous = self.last_frame_time
        if previous is not None and seconds < previous + 1.0 / SANE_FPS[1]:
            seconds = previous + 1.0 / self.info.fps
        return seconds

    def close(self) -> None:
        """Release the decoder (idempotent)."""
        self._capture.release()


class LiveSource:
    """A camera or stream read by a background thread.

    By default only the newest frame is kept: stale frames are dropped (counted in :attr:`dropped`),
    so whoever consumes the frames always works on the most recent one and latency stays near one
    frame period. With ``every_frame`` the reader waits for the consumer instead (up to
    ``buffer_frames`` frames in hand) and no frame is dropped: the way to read a file-like URL whose
    server delivers faster than real time.

    Iteration ends when :meth:`close` is called or a stream URL reaches its end (:attr:`ended`
    becomes True). It raises :class:`SourceError` when no frame arrives for ``stall_timeout``
    seconds (the source stopped answering), when a camera index stops delivering frames (a camera
    has no end), or when a stream ends before its first frame. :attr:`last_frame_time` is the
    capture time (seconds since opening) of the frame yielded last; with ``every_frame``, its
    position in the stream (frame index / fps), as for a file.
    """

    def __init__(
        self,
        device: int | str,
        capture_factory: Callable[[Any], Capture] | None = None,
        open_timeout: float = 10.0,
        stall_timeout: float = 5.0,
        every_frame: bool = False,
        buffer_frames: int = 32,
    ) -> None:
        self.device = device
        self.stall_timeout = stall_timeout
        self.every_frame = every_frame
        self.dropped = 0
        self.ended = False
        self._capacity = buffer_frames if every_frame else 1
        self._capture = _open_with_timeout(capture_factory or cv2.VideoCapture, device, open_timeout)
        self.info = _describe(self._capture, live_label(device))
        self._condition = threading.Condition()
        self._pending: deque[tuple[np.ndarray, float]] = deque()
        self._closed = threading.Event()
        self._finished = False
        self._failed: str | None = None
        self.last_frame_time: float | None = None
        self._started = time.monotonic()
        self._reader = threading.Thread(target=self._read_loop, name="live-grabber", daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        delivered = 0
        try:
            while not self._closed.is_set():
                ok, frame = self._capture.read()
                if not ok or frame is None or frame.size == 0:
                    self._finish(self._stop_reason(delivered))
                    return
                self._hand_on(frame, time.monotonic() - self._started)
                delivered += 1
        finally:
            self._capture.release()

    def _stop_reason(self, delivered: int) -> str | None:
        """Why reading stopped: None for a stream that reached its end, else the failure."""
        if isinstance(self.device, int):
            return "the device stopped delivering frames"
        return None if delivered else "the stream ended before its first frame"

    def _finish(self, failure: str | None) -> None:
        """Record the end of the frames (``failure`` None: a normal end of stream)."""
        with self._condition:
            self._finished, self._failed = True, failure
            self._condition.notify_all()

    def _hand_on(self, frame: np.ndarray, captured: float) -> None:
        """Queue a frame for the consumer: replace the waiting one, or (``every_frame``) wait for room."""
        with self._condition:
            while self.every_frame and len(self._pending) >= self._capacity:
                if self._closed.is_set():
                    return
                self._condition.wait(0.1)
            if len(self._pending) >= self._capacity:
                self._pending.popleft()
                self.dropped += 1
            self._pending.append((frame, captured))
            self._condition.notify_all()

    def _next(self) -> tuple[np.ndarray, float] | None:
        """The next frame and its capture time; None once the source ended or was closed."""
        with self._condition:
            deadline = time.monotonic() + self.stall_timeout
            while not self._pending and not self._finished and not self._closed.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    reason = f"no frame for {self.stall_timeout:g} s (the source stopped answering)"
                    raise SourceError(self.info.name, reason)
                self._condition.wait(min(remaining, 0.1))
            if self._closed.is_set():
                return None
            if self._pending:
                item = self._pending.popleft()
                self._condition.notify_all()
                return item
        if self._failed is not None:
            raise SourceError(self.info.name, self._failed)
        self.ended = True
        return None

    def __iter__(self) -> Iterator[np.ndarray]:
        for index in itertools.count():
            item = self._next()
            if item is None:
                return
            frame, captured = item
            self.last_frame_time = index / self.info.fps if self.every_frame else captured
            yield as_bgr(frame)

    def close(self) -> None:
        """Stop reading (idempotent); the device is released by the reader thread."""
        self._closed.set()
        with self._condition:
            self._condition.notify_all()
        self._reader.join(timeout=2.0)


def live_label(device: int | str) -> str:
    """How a live device is named in messages: ``webcam 0`` or the stream URL."""
    return f"webcam {device}" if isinstance(device, int) else str(device)


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
    label = live_label(device)
    if opener.is_alive():
        raise SourceError(label, f"no answer within {timeout:g} s")
    if "error" in result:
        raise SourceError(label, f"cannot open ({result['error']})")
    capture = result["capture"]
    if not capture.isOpened():
        kind = "camera index" if isinstance(device, int) else "stream"
        raise SourceError(label, f"cannot open this {kind} (does not exist, is busy or does not answer)")
    return capture
