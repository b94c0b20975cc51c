"""The annotated video: H.264 in MP4 through PyAV with the input's audio, or OpenCV's mp4v as fallback.

H.264 (libx264, bundled in PyAV's wheels) plays everywhere, including browsers, which OpenCV's
``mp4v`` (MPEG-4 Part 2) does not. Frames are written with the input's own timestamps, so a
variable-frame-rate input keeps its timing, and the input's first audio stream is copied packet by
packet (or transcoded to AAC when MP4 cannot carry its codec), interleaved with the video.

Every file is written under a ``.partial`` name and renamed by ``close()``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from apps.writers import OutputWriteError, partial_path
from detectors.preprocess import to_bgr

_logger = logging.getLogger("facetrack")
_warned: set[str] = set()

#: libx264's presets, fastest first.
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")

#: Timestamps are written with a 90 kHz clock (the MPEG convention): exact for every common rate.
VIDEO_TIME_BASE = Fraction(1, 90_000)
#: Smallest step between two frames' timestamps (1 ms): the MP4 muxer rejects frames it cannot order.
MIN_FRAME_STEP = 90


@dataclass(frozen=True)
class VideoSettings:
    """How the annotated video is encoded.

    Attributes:
        codec: ``h264`` (PyAV/libx264, falls back to ``mp4v`` with a warning) or ``mp4v`` (OpenCV).
        preset: libx264 speed/size trade-off (``ultrafast`` ... ``veryslow``).
        crf: libx264 constant quality (lower is better and larger; 18-28 is sensible).
        keep_audio: Copy the input's audio into the annotated video.
    """

    codec: str = "h264"
    preset: str = "ultrafast"
    crf: int = 23
    keep_audio: bool = True


class VideoWriter(Protocol):
    """What :class:`VideoOutputs` needs from an annotated-video writer."""

    path: Path
    frames: int
    description: str

    def write(self, frame: np.ndarray, timestamp: float) -> None: ...
    def close(self, complete: bool = True) -> None: ...


def fit_frame(frame: np.ndarray, size: tuple[int, int], encoded_size: tuple[int, int]) -> np.ndarray:
    """``frame`` as BGR of ``size`` (resized if a broken stream changed size mid-way), padded to ``encoded_size``.

    The padding replicates the last column/row, so nothing is cut and pixel coordinates stay those
    of the input (both encoders need even sizes with 4:2:0 chroma).
    """
    frame = to_bgr(frame)
    if (frame.shape[1], frame.shape[0]) != size:
        frame = cv2.resize(frame, size)
    if encoded_size != size:
        pad_x, pad_y = encoded_size[0] - size[0], encoded_size[1] - size[1]
        frame = cv2.copyMakeBorder(frame, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
    return frame


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """``size`` rounded up to even width and height."""
    return size[0] + size[0] % 2, size[1] + size[1] % 2


class Mp4vVideoWriter:
    """OpenCV's MPEG-4 Part 2 writer at a constant frame rate (timestamps are not kept); no audio."""

    description = "mp4v (OpenCV)"

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        self.path = path
        self._temporary = partial_path(path)
        self.size = size
        self.encoded_size = even_size(size)
        self._writer = cv2.VideoWriter(str(self._temporary), cv2.VideoWriter_fourcc(*"mp4v"), fps, self.encoded_size)
        if not self._writer.isOpened():
            self._temporary.unlink(missing_ok=True)
            raise OutputWriteError(f"cannot create video {path} ({size[0]}x{size[1]} at {fps:.2f} fps)")
        self.frames = 0

    def write(self, frame: np.ndarray, timestamp: float = 0.0) -> None:
        """Append one frame (``timestamp`` is ignored: the rate is constant)."""
        self._writer.write(fit_frame(frame, self.size, self.encoded_size))
        self.frames += 1

    def close(self, complete: bool = True) -> None:
        """Finish the file and give it its final name (idempotent)."""
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        if self._temporary.exists():
            os.replace(self._temporary, self.path)


class AudioPassthrough:
    """The first audio stream of an input, muxed into an output container alongside the video.

    Packets are copied unchanged when the output format can carry the codec, otherwise decoded and
    re-encoded as AAC. :meth:`mux_until` is called as video frames are written, so audio and video
    stay interleaved in the file.
    """

    def __init__(self, av: Any, source: Any, output: Any) -> None:
        """``source`` is the opened input container (it must have an audio stream); it is closed by :meth:`close`."""
        self._errors = av.FFmpegError
        self._input = source
        stream = self._input.streams.audio[0]
        codec = stream.codec_context.name
        if codec in output.supported_codecs:
            self._output_stream = output.add_stream_from_template(stream)
            self._transcoder = None
            self.description = f"{codec} (copied)"
        else:
            self._output_stream = output.add_stream("aac", rate=stream.rate or 48_000)
            self._transcoder = stream
            self.description = f"aac (transcoded from {codec})"
        # The decoder behind the video frames counts time from the video stream's first frame.
        video = self._input.streams.video[0] if self._input.streams.video else None
        start = video.start_time if video is not None and video.start_time is not None else 0
        self.video_start = float(start * video.time_base) if video is not None else 0.0
        self._output = output
        self._packets: Iterator[Any] = self._input.demux(stream)
        self._pending: Any = None

    @classmethod
    def open(cls, av: Any, source: Path, output: Any) -> AudioPassthrough | None:
        """The passthrough of ``source``'s first audio stream into ``output``; None when PyAV cannot
        open ``source`` or it has no audio."""
        try:
            container = av.open(str(source))
        except (av.FFmpegError, OSError, ValueError):
            return None
        if not container.streams.audio:
            container.close()
            return None
        try:
            return cls(av, container, output)
        except BaseException:
            container.close()
            raise

    def _next_packet(self) -> Any:
        """The next audio packet with a timestamp; None at the end or when the audio is damaged
        (the rest of the audio is dropped with a warning: the video must not fail because of it)."""
        try:
            for packet in self._packets:
                if packet.dts is not None and packet.size:
                    return packet
        except self._errors as error:
            warn_once(f"audio copy stopped early, the input's audio is damaged ({error})")
        return None

    def mux_until(self, seconds: float | None) -> None:
        """Write the audio up to ``seconds`` of output time (None: all that is left)."""
        while True:
            if self._pending is None:
                self._pending = self._next_packet()
                if self._pending is None:
                    return
            packet = self._pending
            stamp = packet.pts if packet.pts is not None else packet.dts
            if seconds is not None and float(stamp * packet.time_base) > seconds:
                return
            self._pending = None
            self._write(packet)

    def _write(self, packet: Any) -> None:
        if self._transcoder is None:
            packet.stream = self._output_stream
            self._output.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None  # the encoder numbers the samples itself
            self._output.mux(self._output_stream.encode(frame))

    def flush(self) -> None:
        """Write what a transcoder still holds (nothing to do for copied packets)."""
        if self._transcoder is not None:
            self._output.mux(self._output_stream.encode(None))

    def close(self) -> None:
        """Close the input (never writes to the output)."""
        self._input.close()


class H264VideoWriter:
    """H.264 (libx264) in MP4 through PyAV, with the input's timestamps and, optionally, its audio.

    Args:
        path: Final file name; the file is written as ``<stem>.partial.mp4`` until :meth:`close`.
        fps: Nominal frame rate stored in the stream (the average rate for variable-rate inputs).
        size: Frame size (width, height); odd sizes are padded by one pixel.
        settings: Preset, quality and whether to copy audio.
        audio_from: The input file whose first audio stream is copied (None: no audio).
    """

    def __init__(self, path: Path, fps: float, size: tuple[int, int], settings: VideoSettings,
                 audio_from: Path | None = None) -> None:
        import av

        self._av = av
        self.path = path
        self._temporary = partial_path(path)
        self.size = size
        self.encoded_size = even_size(size)
        self.frames = 0
        self._last_pts = -MIN_FRAME_STEP
        self._frame_period = 1.0 / fps
        self.audio: AudioPassthrough | None = None
        try:
            self._temporary.open("wb").close()  # PyAV opens the file lazily: fail here, not at frame 1
            self._container = av.open(str(self._temporary), mode="w", format="mp4")
            self._stream = self._container.add_stream("libx264", rate=Fraction(fps).limit_denominator(100_000))
            self._stream.width, self._stream.height = self.encoded_size
            self._stream.pix_fmt = "yuv420p"
            self._stream.time_base = self._stream.codec_context.time_base = VIDEO_TIME_BASE
            self._stream.options = {"preset": settings.preset, "crf": str(settings.crf)}
            if audio_from is not None and settings.keep_audio:
                self.audio = AudioPassthrough.open(av, audio_from, self._container)
        except (av.FFmpegError, OSError, ValueError) as error:
            self._discard()
            raise OutputWriteError(f"cannot create H.264 video {path}: {error}") from error
        audio = f", audio {self.audio.description}" if self.audio else ""
        self.description = f"h264 (libx264 {settings.preset}, crf {settings.crf}){audio}"

    def write(self, frame: np.ndarray, timestamp: float) -> None:
        """Append one frame shown at ``timestamp`` seconds (times that do not increase are nudged forward)."""
        offset = self.audio.video_start if self.audio is not None else 0.0
        pts = max(round((timestamp + offset) / VIDEO_TIME_BASE), self._last_pts + MIN_FRAME_STEP)
        # OpenCV's BT.601 conversion matches FFmpeg's default and is 4x faster than PyAV's swscale path.
        planes = cv2.cvtColor(fit_frame(frame, self.size, self.encoded_size), cv2.COLOR_BGR2YUV_I420)
        picture = self._av.VideoFrame.from_ndarray(planes, format="yuv420p")
        picture.pts, picture.time_base = pts, VIDEO_TIME_BASE
        try:
            self._container.mux(self._stream.encode(picture))
            if self.audio is not None:
                self.audio.mux_until(float(pts * VIDEO_TIME_BASE))
        except (self._av.FFmpegError, OSError) as error:
            self._discard()
            raise OutputWriteError(f"cannot write {self.path}: {_reason(error)}") from error
        self._last_pts = pts
        self.frames += 1

    def close(self, complete: bool = True) -> None:
        """Flush the encoder, finish the audio and give the file its final name (idempotent).

        With ``complete`` False (the video stopped early) the audio is cut one frame after the
        last video frame instead of copied to its end.
        """
        if self._container is None:
            return
        try:
            self._container.mux(self._stream.encode(None))
            if self.audio is not None:
                last_time = float(self._last_pts * VIDEO_TIME_BASE)
                self.audio.mux_until(None if complete else last_time + self._frame_period)
                self.audio.flush()
                self.audio.close()
            self._container.close()
        except (self._av.FFmpegError, OSError) as error:
            self._discard()
            raise OutputWriteError(f"cannot finish {self.path}: {_reason(error)}") from error
        self._container = None
        os.replace(self._temporary, self.path)

    def _discard(self) -> None:
        """Give up the file after a failed write: close without flushing and delete the partial file.

        Nothing more is written after an IO error: flushing an encoder whose output failed crashed
        FFmpeg (segmentation fault) when the failure hit the file's header, and an MP4 cut short
        has no index, so it would not play anyway; deleting it gives the space back (disk full).
        """
        self._abandon()
        self._temporary.unlink(missing_ok=True)

    def _abandon(self) -> None:
        """Close whatever is open without writing anything more (after a failure)."""
        for closable in (getattr(self, "audio", None), getattr(self, "_container", None)):
            try:
                if closable is not None:
                    closable.close()
            except Exception:  # noqa: BLE001 - already failing; the first error is the one reported
                pass
        self._container = None


def _reason(error: BaseException) -> str:
    """An IO error in words (``No space left on device``), without its errno and file name."""
    return getattr(error, "strerror", None) or str(error)


def h264_unavailable() -> str | None:
    """Why PyAV cannot encode H.264 here (None when it can)."""
    try:
        import av
    except ImportError:
        return "PyAV is not installed (pip install av)"
    if "libx264" not in av.codecs_available:
        return "this PyAV build has no libx264 encoder"
    return None


def warn_once(message: str) -> None:
    """Log a warning on the ``facetrack`` logger, once per process (a batch does not repeat it per video)."""
    if message not in _warned:
        _warned.add(message)
        _logger.warning(message)


def open_video_writer(
    path: Path,
    fps: float,
    size: tuple[int, int],
    settings: VideoSettings,
    audio_from: Path | None = None,
    warn: Callable[[str], None] = warn_once,
) -> VideoWriter:
    """The writer ``settings`` ask for; H.264 falls back to OpenCV's mp4v (with a warning) when PyAV cannot encode."""
    if settings.codec == "h264":
        reason = h264_unavailable()
        if reason is None:
            try:
                return H264VideoWriter(path, fps, size, settings, audio_from)
            except OutputWriteError as error:
                reason = str(error)
        warn(f"H.264 output unavailable ({reason}); writing mp4v with OpenCV, without audio")
    return Mp4vVideoWriter(path, fps, size)
