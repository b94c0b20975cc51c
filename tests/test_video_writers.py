"""The annotated video (apps.video_writers): H.264 through PyAV with the input's timestamps and audio,
the OpenCV mp4v fallback, and both through the ``track`` command."""
from __future__ import annotations

import json
import logging
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from cli_helpers import FixedBox, run_cli, use_detector

import apps.video_writers as video_writers
from apps.live import run_live
from apps.options import CropMode, TrackingOptions
from apps.video_writers import H264VideoWriter, Mp4vVideoWriter, VideoSettings, open_video_writer
from apps.writers import OutputWriteError, partial_path

SAMPLE_RATE = 16_000


def make_av_clip(
    path: Path,
    frame_times: list[float],
    audio_codec: str | None = "aac",
    audio_seconds: float | None = None,
    size: tuple[int, int] = (160, 120),
    time_base: Fraction = Fraction(1, 90_000),
) -> Path:
    """A clip with frames shown at ``frame_times`` (seconds) and a sine tone of ``audio_seconds``
    (AVI needs ``time_base`` 1/fps: it stores frame numbers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        video.time_base = video.codec_context.time_base = time_base
        audio = container.add_stream(audio_codec, rate=SAMPLE_RATE, layout="mono") if audio_codec else None
        for index, seconds in enumerate(frame_times):
            image = np.full((size[1], size[0], 3), (index * 9) % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = round(seconds / time_base), time_base
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None:
            samples = round(SAMPLE_RATE * (audio_seconds or frame_times[-1] + 0.04))
            tone = (0.2 * np.sin(np.arange(samples) * 2 * np.pi * 440 / SAMPLE_RATE)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts, chunk.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
                container.mux(audio.encode(chunk))
            container.mux(audio.encode(None))
    return path


def streams(path: Path) -> dict[str, dict]:
    """Codec, decoded frame count / audio duration and frame times of each stream type of ``path``."""
    found: dict[str, dict] = {}
    with av.open(str(path)) as container:
        for stream in container.streams:
            found[stream.type] = {"codec": stream.codec_context.name, "times": []}
        for stream in container.streams:
            with av.open(str(path)) as again:
                decoded = list(again.decode(again.streams[stream.index]))
            info = found[stream.type]
            info["frames"] = len(decoded)
            info["times"] = [float(frame.pts * frame.time_base) for frame in decoded]
            if stream.type == "audio":
                info["seconds"] = sum(frame.samples for frame in decoded) / stream.rate
    return found


def input_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.pts * frame.time_base) for frame in container.decode(video=0)]


def test_track_writes_h264_with_the_input_audio_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's acceptance test: same audio codec and duration, same frame count, H.264 video."""
    clip = make_av_clip(tmp_path / "in" / "talk.mp4", [i / 25 for i in range(50)], "aac", audio_seconds=2.0)
    use_detector(monkeypatch, FixedBox())
    run = run_cli(clip, "-o", tmp_path / "out")
    assert run.code == 0, run.stderr
    before, after = streams(clip), streams(tmp_path / "out" / "talk" / "annotated.mp4")
    assert after["video"]["codec"] == "h264" and after["video"]["frames"] == before["video"]["frames"] == 50
    assert after["audio"]["codec"] == before["audio"]["codec"] == "aac"
    assert after["audio"]["seconds"] == pytest.approx(before["audio"]["seconds"], abs=1e-6)
    summary = json.loads((tmp_path / "out" / "talk" / "summary.json").read_text())
    assert summary["video"] == "h264 (libx264 ultrafast, crf 23), audio aac (copied)"


def test_no_keep_audio_drops_the_audio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = make_av_clip(tmp_path / "in" / "talk.mp4", [i / 25 for i in range(10)], "aac")
    use_detector(monkeypatch, FixedBox())
    assert run_cli(clip, "-o", tmp_path / "out", "--no-keep-audio").code == 0
    assert set(streams(tmp_path / "out" / "talk" / "annotated.mp4")) == {"video"}


def test_variable_frame_rate_timestamps_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    times = [0.0]
    for index in range(39):  # alternating 40 ms and 120 ms gaps
        times.append(times[-1] + (0.04 if index % 2 else 0.12))
    clip = make_av_clip(tmp_path / "in" / "vfr.mp4", times, audio_codec=None)
    use_detector(monkeypatch, FixedBox())
    assert run_cli(clip, "-o", tmp_path / "out").code == 0
    out = tmp_path / "out" / "vfr"
    assert streams(out / "annotated.mp4")["video"]["times"] == pytest.approx(input_times(clip), abs=1e-3)
    written = [json.loads(line)["time"] for line in (out / "tracks.jsonl").read_text().splitlines()]
    assert written == pytest.approx(times, abs=1e-3)


def test_audio_the_mp4_container_cannot_carry_is_transcoded_to_aac(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = make_av_clip(tmp_path / "in" / "old.avi", [i / 25 for i in range(25)], "pcm_mulaw", audio_seconds=1.0,
                        time_base=Fraction(1, 25))
    use_detector(monkeypatch, FixedBox())
    assert run_cli(clip, "-o", tmp_path / "out").code == 0
    audio = streams(tmp_path / "out" / "old" / "annotated.mp4")["audio"]
    assert audio["codec"] == "aac" and audio["seconds"] == pytest.approx(1.0, abs=2 * 1024 / SAMPLE_RATE)  # AAC priming + padding


def test_video_stopped_early_keeps_audio_only_up_to_its_last_frame(tmp_path: Path) -> None:
    clip = make_av_clip(tmp_path / "talk.mp4", [i / 25 for i in range(50)], "aac", audio_seconds=2.0)
    writer = H264VideoWriter(tmp_path / "annotated.mp4", 25.0, (160, 120), VideoSettings(), audio_from=clip)
    for index in range(10):
        writer.write(np.zeros((120, 160, 3), np.uint8), index / 25)
    writer.close(complete=False)
    found = streams(tmp_path / "annotated.mp4")
    assert found["video"]["frames"] == 10
    assert 0.35 <= found["audio"]["seconds"] <= 0.5  # 10 frames = 0.4 s, cut at packet boundaries


def test_h264_writer_pads_odd_sizes_renames_on_close_and_nudges_repeated_times(tmp_path: Path) -> None:
    path = tmp_path / "annotated.mp4"
    writer = H264VideoWriter(path, 30.0, (161, 121), VideoSettings(preset="ultrafast"))
    for index in range(6):
        writer.write(np.full((121, 161, 3), index * 40, np.uint8), 0.0 if index < 3 else index / 30)
    writer.write(np.zeros((240, 320), np.uint8), 1.0)  # grayscale and a changed size are converted
    assert not path.exists() and partial_path(path).exists()
    writer.close()
    writer.close()  # idempotent
    assert path.exists() and not partial_path(path).exists()
    video = streams(path)["video"]
    assert video["frames"] == 7 and video["times"] == sorted(set(video["times"]))
    capture = cv2.VideoCapture(str(path))
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (162, 122)
    capture.release()


def test_h264_writer_in_a_missing_folder_raises_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputWriteError, match="cannot create H.264 video"):
        H264VideoWriter(tmp_path / "missing" / "annotated.mp4", 25.0, (160, 120), VideoSettings())


def test_mp4v_writer_writes_under_partial_name_then_renames(tmp_path: Path) -> None:
    path = tmp_path / "annotated.mp4"
    writer = Mp4vVideoWriter(path, 25.0, (160, 120))
    for value in range(5):
        writer.write(np.full((120, 160, 3), value * 40, np.uint8))
    writer.write(np.zeros((240, 320, 3), np.uint8))  # a stream that changed size mid-way is resized
    assert not path.exists() and partial_path(path).exists()
    writer.close()
    writer.close()
    assert writer.frames == 6 and path.exists() and not partial_path(path).exists()
    assert streams(path)["video"] == {"codec": "mpeg4", "frames": 6, "times": pytest.approx([i / 25 for i in range(6)])}


def test_mp4v_writer_that_cannot_open_raises_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputWriteError, match="cannot create video"):
        Mp4vVideoWriter(tmp_path / "missing-folder" / "annotated.mp4", 25.0, (160, 120))


@pytest.mark.parametrize("failure", ["no-libx264", "encoder-refuses"])
def test_h264_falls_back_to_opencv_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    if failure == "no-libx264":
        monkeypatch.setattr(video_writers, "h264_unavailable", lambda: "this PyAV build has no libx264 encoder")
    else:
        def refuse(*args: object, **kwargs: object) -> None:
            raise OutputWriteError("cannot create H.264 video: Encoder not found")

        monkeypatch.setattr(video_writers, "H264VideoWriter", refuse)
    monkeypatch.setattr(video_writers, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="facetrack"):
        writers = [open_video_writer(tmp_path / f"{n}.mp4", 25.0, (64, 48), VideoSettings()) for n in range(2)]
    assert all(isinstance(writer, Mp4vVideoWriter) for writer in writers)
    assert [record.getMessage() for record in caplog.records] == [
        "H.264 output unavailable ("
        + ("this PyAV build has no libx264 encoder" if failure == "no-libx264"
           else "cannot create H.264 video: Encoder not found")
        + "); writing mp4v with OpenCV, without audio"
    ]
    for writer in writers:
        writer.close()


def test_mp4v_codec_option_uses_opencv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = make_av_clip(tmp_path / "in" / "talk.mp4", [i / 25 for i in range(10)], "aac")
    use_detector(monkeypatch, FixedBox())
    assert run_cli(clip, "-o", tmp_path / "out", "--video-codec", "mp4v").code == 0
    assert streams(tmp_path / "out" / "talk" / "annotated.mp4") .keys() == {"video"}
    assert streams(tmp_path / "out" / "talk" / "annotated.mp4")["video"]["codec"] == "mpeg4"


def test_unknown_preset_is_a_usage_error(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--video-preset", "ludicrous")
    assert run.code == 2 and "--video-preset must be one of ultrafast" in run.stderr


class _SlowCamera:
    """A camera that claims 100 fps but delivers a frame every 40 ms, 12 frames in all."""

    def __init__(self, device: object) -> None:
        self.delivered = 0

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        time.sleep(0.04)
        if self.delivered >= 12:
            return False, None
        self.delivered += 1
        return True, np.full((120, 160, 3), self.delivered * 20, np.uint8)

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FPS: 100.0, cv2.CAP_PROP_FRAME_WIDTH: 160.0, cv2.CAP_PROP_FRAME_HEIGHT: 120.0}.get(prop, 0.0)

    def release(self) -> None:
        pass


def test_live_video_is_stamped_with_capture_times(tmp_path: Path) -> None:
    """A camera slower than it claims: the saved video follows the real capture times (frames at
    least 40 ms apart), not the claimed 100 fps (10 ms), so it plays in real time."""
    result = run_live(0, tmp_path, FixedBox().detect, TrackingOptions(crops=CropMode.none), threading.Event(),
                      capture_factory=_SlowCamera)
    assert result.frames >= 2, result.message
    (folder,) = tmp_path.iterdir()
    times = streams(folder / "annotated.mp4")["video"]["times"]
    assert len(times) == result.frames
    assert all(later - earlier >= 0.035 for earlier, later in zip(times, times[1:]))


def test_damaged_audio_stops_the_audio_copy_but_not_the_video(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clip = make_av_clip(tmp_path / "talk.mp4", [i / 25 for i in range(25)], "aac", audio_seconds=1.0)
    writer = H264VideoWriter(tmp_path / "annotated.mp4", 25.0, (160, 120), VideoSettings(), audio_from=clip)
    packets = writer.audio._packets

    def damaged():  # three good packets, then the demuxer fails as on a corrupt file
        for _ in range(3):
            yield next(packets)
        raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    writer.audio._packets = damaged()
    monkeypatch.setattr(video_writers, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="facetrack"):
        for index in range(25):
            writer.write(np.zeros((120, 160, 3), np.uint8), index / 25)
        writer.close()
    found = streams(tmp_path / "annotated.mp4")
    assert found["video"]["frames"] == 25 and 0 < found["audio"]["seconds"] < 0.5
    assert any("audio copy stopped early" in record.getMessage() for record in caplog.records)
