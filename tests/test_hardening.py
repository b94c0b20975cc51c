"""Hardening, round 2 (issue 24): a full disk, a missing screen, bad camera indices, re-runs into an
existing output folder, ``detect -o`` onto its input folder, anonymising, options checked at start-up.

Native crashes are provoked in a subprocess (``start.py``), everything else through ``apps.cli.main``
in this process.
"""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import FixedBox, run_cli, run_cli_with_timeout, use_detector
from test_reliability_faults import count_frames, make_clip, summary

from apps.video_writers import H264VideoWriter

ROOT = Path(__file__).resolve().parents[1]
SAFETY_SECONDS = 120.0  # against hangs only, never a speed requirement


def run_start(*args: Any, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess:
    """``python start.py ARGS`` in a subprocess (a native crash shows as a negative return code);
    ``env`` sets variables, or removes those given as None."""
    changes = {"COLUMNS": "200", **(env or {})}
    environment = {key: value for key, value in {**os.environ, **changes}.items() if value is not None}
    return subprocess.run([sys.executable, "start.py", *map(str, args)], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=SAFETY_SECONDS)


def output_folders(root: Path) -> list[Path]:
    """The output folders of the inputs under ``root`` (not the report's or other hidden folders)."""
    return [path for path in root.iterdir() if path.is_dir() and not path.name.startswith(".")]


# -------------------------------------------------------------------------------------- full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 300 KB file system (tmpfs); skipped where it cannot be mounted (not root, no CAP_SYS_ADMIN)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


@pytest.fixture(scope="module")
def two_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a 640x480 clip whose annotated video does not fit in 300 KB, and a small one."""
    folder = tmp_path_factory.mktemp("clips")
    make_clip(folder / "a.mp4", frames=100, width=640, height=480, seed=3)
    make_clip(folder / "b.mp4", frames=40, width=320, height=240, seed=4)
    return folder


@pytest.mark.parametrize("workers", ["1", "2"])
def test_full_disk_fails_each_video_with_its_reason_and_no_crash(small_disk: Path, two_clips: Path,
                                                                 workers: str) -> None:
    """A real full file system: the first video fails with ``No space left on device``, the next one is
    tried (and fails the same way, the disk being full), the summary is printed; no segmentation fault
    and no dead worker process."""
    done = run_start(two_clips, "-o", small_disk / "out", "--workers", workers, "--threads", "1")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # not -11 (SIGSEGV)
    assert "Traceback" not in output and "worker process died" not in output
    assert f"failed: {two_clips / 'a.mp4'}: " in done.stderr and "No space left on device" in done.stderr
    assert "FaceTrack summary" in done.stdout
    table = done.stdout.split("FaceTrack summary", 1)[1]
    assert all(f"\n{name} " in table for name in ("a", "b"))


class FullDiskContainer:
    """A PyAV output container whose writes fail with ENOSPC from the ``fail_at``-th mux on; any write after
    that failure is an error of the writer (FFmpeg crashed there)."""

    def __init__(self, container: Any, fail_at: int) -> None:
        self.container = container
        self.fail_at = fail_at
        self.calls = 0

    def mux(self, packets: Any) -> None:
        self.calls += 1
        assert self.calls <= self.fail_at, "wrote again after the output failed"
        if self.calls == self.fail_at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.container.mux(packets)

    def close(self) -> None:
        self.container.close()


def test_faked_write_error_stops_the_encoder_and_the_batch_goes_on(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """After the first failed write the writer writes nothing more (no flush), deletes its unplayable
    partial file, and the next video is processed."""
    first = make_clip(tmp_path / "in" / "a.mp4", seed=1)
    make_clip(tmp_path / "in" / "b.mp4", seed=2)
    use_detector(monkeypatch, FixedBox())
    original = H264VideoWriter.__init__

    def init(self: H264VideoWriter, path: Path, *args: Any, **kwargs: Any) -> None:
        original(self, path, *args, **kwargs)
        if path.parent.name == "a":
            self._container = FullDiskContainer(self._container, fail_at=3)

    monkeypatch.setattr(H264VideoWriter, "__init__", init)
    run = run_cli_with_timeout(tmp_path / "in", "-o", tmp_path / "out")
    assert run.code == 1
    out = tmp_path / "out"
    assert run.line("a.mp4") == f"failed: {first}: cannot write {out / 'a' / 'annotated.mp4'}: No space left on device"
    assert summary(out / "a")["status"] == "failed"
    assert not list((out / "a").glob("annotated*"))
    assert summary(out / "b")["status"] == "complete"
    assert count_frames(out / "b" / "annotated.mp4") == 20


# ------------------------------------------------------------------------- cameras and screens


def test_negative_webcam_index_is_a_usage_error(tmp_path: Path) -> None:
    done = run_start("--webcam", "-1", "--no-display", "-o", tmp_path / "out")
    assert done.returncode == 2, done.stderr  # not -11 (SIGSEGV in OpenCV)
    assert "--webcam" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


#: No screen: no variable at all, or a DISPLAY whose X server does not answer.
NO_SCREEN = [{"DISPLAY": None, "WAYLAND_DISPLAY": None}, {"DISPLAY": ":97", "WAYLAND_DISPLAY": None}]


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("small") / "clip.mp4", frames=10)


@pytest.mark.parametrize("screen", NO_SCREEN, ids=["unset", "no-server"])
def test_display_without_a_screen_is_a_usage_error(tmp_path: Path, small_clip: Path, screen: dict) -> None:
    done = run_start(small_clip, "--display", "-o", tmp_path / "out", env=screen)
    assert done.returncode == 2, done.stderr  # not -6 (Qt's abort)
    assert "error: --display needs a screen" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()  # checked before any video is touched


@pytest.mark.parametrize("screen", NO_SCREEN, ids=["unset", "no-server"])
def test_live_window_by_default_runs_headless_without_a_screen(tmp_path: Path, small_clip: Path,
                                                               screen: dict) -> None:
    done = run_start("--stream", small_clip, "--every-frame", "--no-report", "-o", tmp_path / "out", env=screen)
    assert done.returncode == 0, done.stderr
    assert "running without a window" in done.stderr
    (folder,) = output_folders(tmp_path / "out")
    assert summary(folder)["status"] == "complete" and summary(folder)["frames"] == 10


# --------------------------------------------------------------------------- one folder, one run


def folder_contents(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (relative path -> bytes)."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file()}


def hidden_leftovers(root: Path) -> list[str]:
    """The hidden folders of runs that were not put in place (``.clip.facetrack-run``...)."""
    return [path.name for path in root.rglob(".*.facetrack-*")]


class InterruptingBox(FixedBox):
    """The fixed face, and a Ctrl-C (SIGINT to this process) at the ``at``-th detector call."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def detect(self, frame: np.ndarray) -> np.ndarray:
        if self.calls + 1 == self.at:
            signal.raise_signal(signal.SIGINT)
        return super().detect(frame)


@pytest.fixture
def first_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The output root after a complete ``--crops all --crop-every 2`` run of ``in/clip.mp4``."""
    make_clip(tmp_path / "in" / "clip.mp4", frames=20)
    use_detector(monkeypatch, FixedBox())
    run = run_cli(tmp_path / "in", "-o", tmp_path / "out", "--crops", "all", "--crop-every", "2", "--detect-every", "1")
    assert run.code == 0
    assert len(list((tmp_path / "out" / "clip" / "faces").rglob("frame_*.jpg"))) >= 5
    return tmp_path / "out"


def test_rerun_replaces_the_earlier_run_whole(first_run: Path, tmp_path: Path) -> None:
    run = run_cli(tmp_path / "in", "-o", first_run, "--no-video", "--detect-every", "5")
    assert run.code == 0
    folder = first_run / "clip"
    assert not (folder / "annotated.mp4").exists()
    assert not list(folder.rglob("frame_*.jpg"))
    info = summary(folder)
    assert info["options"]["crops"] == "best" and info["options"]["write_video"] is False
    assert info["output_dir"] == str(folder)
    assert hidden_leftovers(first_run) == []


@pytest.mark.parametrize("how", ["interrupted", "failed"])
def test_rerun_that_stops_early_leaves_the_earlier_results_untouched(first_run: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    before = folder_contents(first_run / "clip")
    use_detector(monkeypatch, InterruptingBox(at=5) if how == "interrupted" else FixedBox(fail_on_call=5))
    run = run_cli(tmp_path / "in", "-o", first_run, "--crops", "best", "--no-video", "--detect-every", "1")
    assert run.code == (130 if how == "interrupted" else 1)
    assert run.line("clip.mp4").endswith(f"; the earlier results in {first_run / 'clip'} are kept")
    assert folder_contents(first_run / "clip") == before
    assert hidden_leftovers(first_run) == []


def test_a_run_killed_earlier_leaves_nothing_behind_the_next_run(first_run: Path, tmp_path: Path) -> None:
    """A killed re-run leaves its hidden folder beside the output; the next run into it removes it."""
    stale = first_run / ".clip.facetrack-run"
    (stale / "faces" / "7").mkdir(parents=True)
    (stale / "faces" / "7" / "frame_000001.jpg").write_bytes(b"stale")
    assert run_cli(tmp_path / "in", "-o", first_run).code == 0
    assert hidden_leftovers(first_run) == []
    assert not (first_run / "clip" / "faces" / "7").exists()


def test_ray_driver_replaces_the_earlier_run_whole(tmp_path: Path) -> None:
    """The Ray driver writes a task's files through the same swap."""
    from apps.ray_engine import _store
    from apps.video_job import VideoResult

    folder = tmp_path / "out" / "clip"
    first = {"annotated.mp4": b"video", "faces/1/frame_000001.jpg": b"crop", "summary.json": b"{}"}
    _store(VideoResult("clip.mp4", "", "complete"), first, folder)
    _store(VideoResult("clip.mp4", "", "complete"), {"tracks.txt": b"", "summary.json": b"{}"}, folder)
    assert sorted(folder_contents(folder)) == ["summary.json", "tracks.txt"]
    kept = _store(VideoResult("clip.mp4", "", "failed", "boom"), {"summary.json": b"{}"}, folder)
    assert sorted(folder_contents(folder)) == ["summary.json", "tracks.txt"]
    assert kept.message == f"boom; the earlier results in {folder} are kept"
    assert hidden_leftovers(tmp_path) == []


# ------------------------------------------------------------------------- detect -o onto its input


@pytest.fixture
def photos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with two photos; the detector finds one face in each."""
    import cv2

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("frame.jpg", "holiday.jpg"):
        cv2.imwrite(str(folder / name), np.full((120, 160, 3), 90, np.uint8))
    use_detector(monkeypatch, FixedBox())
    return folder


def test_detect_into_its_input_folder_never_takes_its_own_drawings_as_inputs(photos: Path) -> None:
    for _ in range(3):
        run = run_cli("detect", photos, "-o", photos, "--draw")
        assert run.code == 0 and run.line("images,").startswith("2 images, 2 faces, 0 failed")
    assert sorted(path.name for path in photos.iterdir()) == [
        "frame.faces.jpg", "frame.jpg", "frame.txt", "holiday.faces.jpg", "holiday.jpg", "holiday.txt"]


def test_detect_never_overwrites_a_file_it_did_not_write(photos: Path) -> None:
    notes = photos / "holiday.txt"
    notes.write_text("Lisbon, August: remember the tram\n")
    run = run_cli("detect", photos, "-o", photos, "--draw")
    assert run.code == 1
    assert run.line("holiday.jpg") == (f"skipped: {photos / 'holiday.jpg'}: would overwrite {notes}, which FaceTrack "
                                       "did not write (choose another --output)")
    assert notes.read_text() == "Lisbon, August: remember the tram\n"
    assert not (photos / "holiday.faces.jpg").exists()
    assert (photos / "frame.txt").read_text().startswith("frame.jpg\n1\n")


# ------------------------------------------------------------------------------ a broken source


def test_camera_that_stops_delivering_frames_finalises_its_tracks(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a stop request, every live track is finalised: its best crop is written."""
    import cv2
    from test_reliability_faults import FakeCamera

    monkeypatch.setattr(cv2, "VideoCapture", lambda device: FakeCamera(limit=15))
    use_detector(monkeypatch, FixedBox())
    run = run_cli_with_timeout("--webcam", "0", "--no-display", "--duration", "30", "-o", tmp_path / "out")
    assert run.code == 1
    assert run.line("webcam 0") == "failed: webcam 0: the device stopped delivering frames"
    (folder,) = output_folders(tmp_path / "out")
    assert summary(folder)["crops_saved"] == 1
    assert (folder / "faces" / "1" / "best.jpg").is_file()


# ------------------------------------------------------------------------------------- anonymising


def demo_face(size: int) -> np.ndarray:
    """A face of the bundled demo clip, resized to ``size`` px."""
    import cv2

    from benchmarks.anonymize_speed import demo_face as face

    return cv2.resize(face(), (size, size), interpolation=cv2.INTER_CUBIC)


def test_blur_runs_at_a_constant_size_whatever_the_face(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Gaussian filter never sees more than BLUR_SIDE px: its cost no longer grows with the face
    (before: a 171 px kernel over a 340 px face, 27 ms; see benchmarks/anonymize_speed.py)."""
    import cv2

    import apps.anonymize
    from apps.anonymize import BLUR_SIDE, AnonymizeMode, anonymize_faces

    filtered: list[tuple[int, ...]] = []
    original = cv2.GaussianBlur

    def recording(image: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        filtered.append(image.shape[:2])
        return original(image, *args, **kwargs)

    monkeypatch.setattr(apps.anonymize.cv2, "GaussianBlur", recording)
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[100:440, 300:640] = demo_face(340)
    anonymize_faces(frame, np.array([[300.0, 100.0, 640.0, 440.0]]), AnonymizeMode.blur)
    assert filtered and max(max(shape) for shape in filtered) <= BLUR_SIDE


@pytest.mark.parametrize("size", [48, 96, 200, 340])
def test_blurred_face_is_as_unrecognisable_as_before(size: int) -> None:
    """Fine detail (Laplacian energy) of the hidden face: below half of the original's, and not above
    what the full-resolution Gaussian (the blur before) left, give or take 10 %."""
    from benchmarks.anonymize_speed import full_size_gaussian, laplacian_energy

    from apps.anonymize import AnonymizeMode, anonymize_faces

    face = demo_face(size)
    hidden = anonymize_faces(face.copy(), np.array([[0.0, 0.0, size, size]]), AnonymizeMode.blur, margin=0.0)
    left = laplacian_energy(hidden) / laplacian_energy(face)
    assert left < 0.5
    assert left <= 1.1 * laplacian_energy(full_size_gaussian(face.copy())) / laplacian_energy(face)


@pytest.mark.parametrize("crops", ["best", "all"])
def test_anonymize_writes_no_recognisable_crop_unless_asked_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   crops: str) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=10)
    use_detector(monkeypatch, FixedBox())
    run = run_cli(clip, "--anonymize", "blur", "--crops", crops, "-o", tmp_path / "out")
    assert run.code == 2
    assert run.line("error:") == ("error: --crops best|all writes recognisable faces, which --anonymize hides; "
                                  "add --sharp-crops to write them anyway")
    assert not (tmp_path / "out").exists()
    run = run_cli(clip, "--anonymize", "blur", "--crops", crops, "--sharp-crops", "-o", tmp_path / "out")
    assert run.code == 0 and (tmp_path / "out" / "clip" / "faces" / "1" / "best.jpg").is_file()


# ------------------------------------------------------------------------ options checked at start-up


@pytest.mark.parametrize(("args", "option"), [
    (["--max-age", "-1"], "--max-age"),
    (["--max-age", "nan"], "--max-age"),
    (["--max-age", "inf"], "--max-age"),
    (["--duration", "inf"], "--duration"),
    (["--duration=-5"], "--duration"),
    (["--duration", "nan"], "--duration"),
    (["--duration", "0"], "--duration"),
    (["--max-side", "0"], "--max-side"),
    (["--max-side", "-640"], "--max-side"),
])
def test_track_options_are_checked_before_anything_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        args: list[str], option: str) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=5)
    use_detector(monkeypatch, FixedBox())
    run = run_cli(clip, *args, "-o", tmp_path / "out")
    assert run.code == 2
    assert f"Invalid value for '{option}'" in run.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["detect", "photos", "-o", "out", "--threads", "-1"], "Invalid value for '--threads'"),
    (["evaluate", "data", "--threads", "-1"], "Invalid value for '--threads'"),
    (["evaluate", "data", "--upscale", "0"], "Invalid value for '--upscale'"),
    (["evaluate", "data", "--upscale", "nan"], "Invalid value for '--upscale'"),
    (["evaluate", "data", "--upscale", "1e6"], "Invalid value for '--upscale'"),
    (["evaluate", "missing"], "missing: no such folder"),
    (["evaluate", "data", "--subset", "missing.txt"], "'missing.txt' does not exist"),
])
def test_detect_and_evaluate_options_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 args: list[str], message: str) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "data" / "images").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    run = run_cli(*args)
    assert run.code == 2
    assert message in " ".join(run.stderr.split()), run.stderr
    assert not (tmp_path / "out").exists()


def test_threads_above_the_cores_are_capped_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import detectors

    clip = make_clip(tmp_path / "clip.mp4", frames=5)
    asked: list[int] = []
    monkeypatch.setattr(detectors, "load_detector", lambda *args, **kwargs: asked.append(kwargs["threads"]) or FixedBox())
    run = run_cli(clip, "--threads", "1000", "-o", tmp_path / "out")
    cores = os.cpu_count() or 1
    assert run.code == 0
    assert run.line("--threads") == (f"warning: --threads 1000 is more than the {cores} CPU cores of this machine: "
                                     f"using {cores}")
    assert asked == [cores]


# ------------------------------------------------------------------------- detect: one-line errors


def huge_png(path: Path, side: int = 40_000) -> Path:
    """A PNG whose header announces ``side`` x ``side`` pixels: more than OpenCV decodes (2^30)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_detect_skips_an_image_over_the_pixel_limit(photos: Path, tmp_path: Path) -> None:
    huge = huge_png(photos / "huge.png")
    run = run_cli("detect", photos, "-o", tmp_path / "out")
    assert run.code == 1
    assert run.line("huge.png") == f"skipped: {huge}: cannot decode (damaged, or more pixels than OpenCV accepts)"
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["frame.txt", "holiday.txt"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_detect_on_a_device_or_pipe_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_detector(monkeypatch, FixedBox())
    pipe = tmp_path / "frames.jpg"
    os.mkfifo(pipe)
    for source in (pipe, Path("/dev/zero")):
        run = run_cli_with_timeout("detect", source, "-o", tmp_path / "out")
        assert run.code == 2
        assert run.line("error:") == f"error: {source}: not a regular file or folder (a device or a pipe?)"


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_detect_output_that_cannot_be_a_folder_is_a_usage_error(photos: Path, tmp_path: Path, where: str) -> None:
    taken = tmp_path / "results"
    taken.write_text("not a folder")
    output = taken if where == "a file" else taken / "sub"
    run = run_cli("detect", photos, "-o", output)
    assert run.code == 2
    assert run.line("error:").startswith(f"error: cannot create output folder {output}: ")
    assert taken.read_text() == "not a folder"
