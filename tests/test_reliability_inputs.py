"""Bad input never crashes with a traceback or loses output: paths, names, broken media, odd frames,
output folders and detector files, each through the real command line (``apps.cli.main``).

Every failing item must give one line ``<status>: <file>: <reason>`` on stderr, count as failed in the
exit code (1; 2 for an unusable detector) and leave the rest of the batch running; the summary table
(stdout) lists it. Broken files are generated in tmp by the fixtures. Detection runs with a randomly
initialised FaceBoxes exported to ONNX (formats and exit codes only), or with a fake detector that
returns one fixed box where faces are needed (crops, drawing).
"""
from __future__ import annotations

import ast
import errno
import json
import os
import pathlib
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import av
import cv2
import numpy as np
import pytest
from cli_helpers import CliRun, FixedBox, run_cli

from benchmarks.synthetic import ClipSpec, synthetic_sprites, write_clip

ROOT = Path(__file__).resolve().parents[1]
REAL_CAPTURE = cv2.VideoCapture  # some tests replace cv2.VideoCapture; outputs are always read with the real one
CLIP_FRAMES = 20
CLIP = ClipSpec(width=160, height=120, fps=25.0, frames=CLIP_FRAMES, faces=2, seed=6, min_size=30, max_size=44,
                allow_exit=False, occluder=False)


# ----------------------------------------------------------------------------------------- helpers


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def make_clip(path: Path, frames: int = CLIP_FRAMES, seed: int = 6) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_clip(path, ClipSpec(**{**CLIP.__dict__, "frames": frames, "seed": seed}), synthetic_sprites(2, seed))
    return path


def video_info(path: Path) -> tuple[int, int, int, float]:
    """(frames decoded, width, height, fps) of a video, read with the real OpenCV capture."""
    capture = REAL_CAPTURE(str(path))
    assert capture.isOpened(), f"{path} is not a playable video"
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    return frames, width, height, fps


def summary(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def assert_valid_outputs(folder: Path, frames: int) -> None:
    """Closed, consistent outputs covering ``frames`` frames."""
    assert summary(folder)["frames"] == frames
    assert video_info(folder / "annotated.mp4")[0] == frames
    records = (folder / "tracks.jsonl").read_text().splitlines()
    assert [json.loads(line)["frame"] for line in records] == list(range(1, frames + 1))
    mot = (folder / "tracks.txt").read_text()
    assert mot == "" or mot.endswith("\n")
    assert all(len(line.split(",")) == 10 for line in mot.splitlines())
    assert not [p for p in folder.rglob("*") if ".partial" in p.name]


@pytest.fixture
def fixed_box_detector(monkeypatch: pytest.MonkeyPatch) -> FixedBox:
    import detectors

    loaded = FixedBox()
    monkeypatch.setattr(detectors, "load_detector", lambda *args, **kwargs: loaded)
    return loaded


class FakeCapture:
    """The part of cv2.VideoCapture the sources use, delivering ``frames`` given arrays."""

    def __init__(self, frames: list[np.ndarray], fps: float = 25.0, count: float | None = None,
                 times_ms: list[float] | None = None) -> None:
        self.frames = frames
        self.fps = fps
        self.count = float(len(frames)) if count is None else count
        self.times_ms = times_ms
        self.position = 0

    def isOpened(self) -> bool:  # OpenCV's name
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.position >= len(self.frames):
            return False, None
        self.position += 1
        return True, self.frames[self.position - 1].copy()

    def get(self, prop: int) -> float:
        height, width = self.frames[0].shape[:2] if self.frames else (0, 0)
        if prop == cv2.CAP_PROP_POS_MSEC and self.times_ms is not None:
            return self.times_ms[max(self.position - 1, 0)]
        return {cv2.CAP_PROP_FPS: self.fps, cv2.CAP_PROP_FRAME_COUNT: self.count,
                cv2.CAP_PROP_FRAME_WIDTH: float(width), cv2.CAP_PROP_FRAME_HEIGHT: float(height)}.get(prop, 0.0)

    def release(self) -> None:
        pass


def fake_videos(monkeypatch: pytest.MonkeyPatch, folder: Path, captures: dict[str, FakeCapture]) -> None:
    """Create placeholder files ``folder/<name>`` and make cv2.VideoCapture return the fake captures."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in captures:
        (folder / name).write_bytes(b"\x00\x00\x00\x18ftypisom fake video for a fake capture")

    def factory(path: str) -> FakeCapture:
        return captures[Path(path).name]

    monkeypatch.setattr(cv2, "VideoCapture", factory)


# ------------------------------------------------------------------------------------------- paths


def test_path_that_does_not_exist(tmp_path: Path, onnx_model: Path) -> None:
    missing = tmp_path / "missing.mp4"
    run = run_cli(missing, "-o", tmp_path / "out", "-d", onnx_model)
    assert run.code == 1
    assert run.line(str(missing)) == f"skipped: {missing}: no such file or folder"
    assert "FaceTrack summary" in run.stdout and "skipped" in run.stdout and "missing.mp4" in run.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content", ["empty", "no-videos"])
def test_folder_without_videos(tmp_path: Path, onnx_model: Path, content: str) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    if content == "no-videos":
        (folder / "notes.txt").write_text("not a video")
        cv2.imwrite(str(folder / "cover.jpg"), np.zeros((8, 8, 3), np.uint8))
        make_clip(folder / "sub" / "deeper.mp4")  # only with --recursive
    run = run_cli(folder, "-o", tmp_path / "out", "-d", onnx_model)
    assert run.code == 1
    hint = "(use --recursive to search subfolders)"
    assert run.line(str(folder)) == f"skipped: {folder}: no videos in this folder {hint}"
    assert "skipped" in run.stdout
    assert not (tmp_path / "out").exists()


def test_missing_path_does_not_stop_the_batch(tmp_path: Path, onnx_model: Path) -> None:
    good = make_clip(tmp_path / "good.mp4")
    run = run_cli(tmp_path / "missing", good, "-o", tmp_path / "out", "-d", onnx_model, "--threads", "1")
    assert run.code == 1
    assert "no such file or folder" in run.line("missing")
    assert_valid_outputs(tmp_path / "out" / "good", CLIP_FRAMES)
    assert "complete" in run.stdout and "skipped" in run.stdout


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="running as root: file permissions are not enforced (see the simulated test below)")
def test_unreadable_file_chmod_000(tmp_path: Path, onnx_model: Path) -> None:
    locked = make_clip(tmp_path / "locked.mp4")
    good = make_clip(tmp_path / "good.mp4")
    locked.chmod(0)
    try:
        run = run_cli(locked, good, "-o", tmp_path / "out", "-d", onnx_model, "--threads", "1")
    finally:
        locked.chmod(0o644)
    assert run.code == 1
    assert run.line("locked.mp4") == f"failed: {locked}: permission denied"
    assert summary(tmp_path / "out" / "good")["status"] == "complete"


def test_unreadable_file_simulated(tmp_path: Path, onnx_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import apps.sources

    locked = make_clip(tmp_path / "locked.mp4")
    good = make_clip(tmp_path / "good.mp4")

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(file).name == "locked.mp4":
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return open(file, *args, **kwargs)

    monkeypatch.setattr(apps.sources, "open", guarded_open, raising=False)
    run = run_cli(locked, good, "-o", tmp_path / "out", "-d", onnx_model, "--threads", "1")
    assert run.code == 1
    assert run.line("locked.mp4") == f"failed: {locked}: permission denied"
    assert not (tmp_path / "out" / "locked").exists()
    assert_valid_outputs(tmp_path / "out" / "good", CLIP_FRAMES)


# ------------------------------------------------------------------------------------------- names

AWKWARD_NAMES = ["space ü 日本.mp4", "-x.mp4", "a;b$(c)`d`&[red]e.mp4"]
if os.name == "posix":  # other systems forbid control characters in file names
    AWKWARD_NAMES.append("new\nline.mp4")


def test_awkward_file_names(tmp_path: Path, onnx_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Spaces, unicode, a leading dash (after ``--`` or as ``./-x.mp4``), shell and rich-markup characters
    and a newline: each file is processed into a folder of its own name."""
    folder = tmp_path / "in"
    for seed, name in enumerate(AWKWARD_NAMES):
        make_clip(folder / name, seed=seed)
    monkeypatch.chdir(folder)
    run = run_cli("-o", tmp_path / "out", "-d", onnx_model, "--threads", "1", "--", "-x.mp4", *AWKWARD_NAMES[2:])
    assert run.code == 0, run.stderr
    run_dot = run_cli(f".{os.sep}-x.mp4", AWKWARD_NAMES[0], "-o", tmp_path / "out2", "-d", onnx_model, "--threads", "1")
    assert run_dot.code == 0, run_dot.stderr
    for root, names in ((tmp_path / "out", AWKWARD_NAMES[1:]), (tmp_path / "out2", AWKWARD_NAMES[:2])):
        for name in names:
            out = root / Path(name).stem
            assert summary(out)["status"] == "complete" and Path(summary(out)["input"]).name == name
            assert_valid_outputs(out, CLIP_FRAMES)
    assert "[red]e complete" in flat(run.stdout)  # shown literally, not taken as rich markup
    assert os.name != "posix" or "new\\nline complete" in flat(run.stdout)  # the newline escaped: one table line


def test_folder_of_awkward_file_names(tmp_path: Path, onnx_model: Path) -> None:
    folder = tmp_path / "in"
    for seed, name in enumerate(AWKWARD_NAMES):
        make_clip(folder / name, seed=seed)
    run = run_cli(folder, "-o", tmp_path / "out", "-d", onnx_model, "--threads", "1")
    assert run.code == 0, run.stderr
    assert sorted(p.parent.name for p in (tmp_path / "out").glob("*/summary.json")) == sorted(
        Path(name).stem for name in AWKWARD_NAMES)


def test_leading_dash_without_double_dash_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_clip(tmp_path / "-x.mp4")
    monkeypatch.chdir(tmp_path)
    run = run_cli("-x.mp4", "-o", tmp_path / "out")
    assert run.code == 2 and "No such option" in run.stderr
    assert not (tmp_path / "out").exists()


def test_start_py_with_double_dash_and_odd_names(tmp_path: Path, onnx_model: Path) -> None:
    """``python start.py -o OUT -- -x.mp4 'a;b$(c).mp4' <name with invalid UTF-8>`` as a user runs it.
    OpenCV crashes (segfault) on names that are not valid UTF-8: they must be refused with a message."""
    folder = tmp_path / "in"
    make_clip(folder / "-x.mp4")
    make_clip(folder / "a;b$(c).mp4", seed=2)
    names = ["-x.mp4", "a;b$(c).mp4"]
    raw_name = os.fsdecode(b"latin1-caf\xe9.mp4")  # invalid UTF-8 byte, as legacy file systems hold
    try:
        (folder / raw_name).write_bytes((folder / "-x.mp4").read_bytes())
        names.append(raw_name)
    except (OSError, UnicodeError):  # this file system only stores valid UTF-8 names
        raw_name = ""
    env = {**os.environ, "COLUMNS": "300", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, str(ROOT / "start.py"), "-o", str(tmp_path / "out"), "-d", str(onnx_model),
                           "--threads", "1", "--", *names], cwd=folder, env=env, capture_output=True, timeout=120,
                          check=False)
    stderr = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr and done.returncode in (0, 1), (done.returncode, stderr)
    for name in names[:2]:
        assert_valid_outputs(tmp_path / "out" / Path(name).stem, CLIP_FRAMES)
    if raw_name:
        assert done.returncode == 1
        assert "failed: latin1-caf\\udce9.mp4: the file name is not valid UTF-8" in stderr
    else:
        assert done.returncode == 0


# ---------------------------------------------------------------------------------- broken media


def truncated(data: bytes, fraction: float = 0.5) -> bytes:
    return data[: int(len(data) * fraction)]


class BrokenRun(NamedTuple):
    run: CliRun
    folder: Path
    output: Path
    cut_frames: int


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory, onnx_model: Path) -> BrokenRun:
    """One folder with a good clip and every kind of broken video, processed in one batch."""
    base = tmp_path_factory.mktemp("broken")
    folder = base / "videos"
    good = make_clip(folder / "good.mp4")
    (folder / "text.mp4").write_text("this is a shopping list, not a video\n" * 20)
    _, png = cv2.imencode(".png", np.full((120, 160, 3), 90, np.uint8))
    (folder / "png.mp4").write_bytes(png.tobytes())
    _, jpeg = cv2.imencode(".jpg", np.full((120, 160, 3), 90, np.uint8))
    (folder / "jpeg.mp4").write_bytes(jpeg.tobytes())
    (folder / "zero.mp4").write_bytes(b"")
    (folder / "cut-mp4.mp4").write_bytes(truncated(good.read_bytes()))  # mp4: the index (moov) is at the end
    full_avi = make_clip(base / "full.avi", frames=40)  # AVI: frames stay decodable up to the cut
    (folder / "cut-avi.avi").write_bytes(truncated(full_avi.read_bytes()))
    capture = REAL_CAPTURE(str(folder / "cut-avi.avi"))
    cut_frames = 0
    while capture.read()[0]:
        cut_frames += 1
    assert 0 < cut_frames < 40  # precondition: a real mid-stream cut
    writer = cv2.VideoWriter(str(folder / "noframes.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (160, 120))
    writer.release()  # a valid container without a single frame
    regular = make_clip(base / "ok.avi", frames=10).read_bytes()
    (folder / "absurd-fps.avi").write_bytes(_with_avi_rate(regular, 1_000_000))
    (folder / "zero-fps.avi").write_bytes(_with_avi_rate(regular, 0))  # OpenCV refuses to write fps 0 itself
    output = base / "out"
    run = run_cli(folder, "-o", output, "-d", onnx_model, "--threads", "1")
    return BrokenRun(run, folder, output, cut_frames)


def _with_avi_rate(data: bytes, rate: int) -> bytes:
    """An AVI whose stream header claims ``rate`` frames per second."""
    edited = bytearray(data)
    header = edited.find(b"strh")
    offset = header + 8 + 4 + 4 + 4 + 2 + 2 + 4  # fccType, fccHandler, dwFlags, wPriority, wLanguage, dwInitialFrames
    edited[offset:offset + 8] = struct.pack("<II", 1, rate)  # dwScale, dwRate
    avih = edited.find(b"avih")
    edited[avih + 8:avih + 12] = struct.pack("<I", 1)  # dwMicroSecPerFrame
    return bytes(edited)


BROKEN_CASES = {
    "text.mp4": "not a readable video (unknown format or damaged file)",
    "png.mp4": "not a video: the file is a PNG image",
    "jpeg.mp4": "not a video: the file is a JPEG image",
    "zero.mp4": "empty file (0 bytes)",
    "cut-mp4.mp4": "not a readable video (unknown format or damaged file)",
    "noframes.avi": "no decodable frame (damaged file or unsupported codec)",
}


@pytest.mark.parametrize("name", sorted(BROKEN_CASES))
def test_broken_video_gets_one_clear_line(broken_run: BrokenRun, name: str) -> None:
    path = broken_run.folder / name
    assert broken_run.run.line(name) == f"failed: {path}: {BROKEN_CASES[name]}"
    assert BROKEN_CASES[name] in flat(broken_run.run.stdout)  # the summary table lists it
    if name != "noframes.avi":  # refused before anything is written
        assert not (broken_run.output / Path(name).stem).exists()


def test_broken_videos_do_not_stop_the_batch(broken_run: BrokenRun) -> None:
    assert broken_run.run.code == 1
    assert summary(broken_run.output / "good")["status"] == "complete"
    assert_valid_outputs(broken_run.output / "good", CLIP_FRAMES)
    statuses = re.findall(r"\b(complete|incomplete|failed)\b", broken_run.run.stdout)
    assert statuses.count("failed") == len(BROKEN_CASES) and statuses.count("incomplete") == 1


def test_truncated_video_keeps_the_decoded_frames(broken_run: BrokenRun) -> None:
    """Cut mid-stream: the frames before the cut are processed, outputs are valid, status incomplete."""
    out = broken_run.output / "cut-avi"
    line = broken_run.run.line("cut-avi.avi")
    assert line.startswith(f"incomplete: {broken_run.folder / 'cut-avi.avi'}: decoding stopped after "
                           f"{broken_run.cut_frames} of the 40 frames")
    assert summary(out)["status"] == "incomplete"
    assert_valid_outputs(out, broken_run.cut_frames)


@pytest.mark.parametrize("name", ["absurd-fps", "zero-fps"])
def test_container_with_absurd_frame_rate_is_processed_at_the_default_rate(broken_run: BrokenRun, name: str) -> None:
    """A real AVI claiming 1,000,000 or 0 fps: processed at 25 fps (ours or FFmpeg's fallback)."""
    out = broken_run.output / name
    assert summary(out)["status"] == "complete" and summary(out)["input_fps"] == 25.0
    assert_valid_outputs(out, 10)
    assert video_info(out / "annotated.mp4")[3] == pytest.approx(25.0)


# -------------------------------------------------------------- containers that report nonsense

NAN = float("nan")
# name: (reported fps, reported frame count, frames delivered, status, fps used)
REPORTS = {
    "fps-zero.mp4": (0.0, 12, 12, "complete", 25.0),
    "fps-nan.mp4": (NAN, 12, 12, "complete", 25.0),
    "fps-absurd.mp4": (90000.0, 12, 12, "complete", 25.0),
    "count-nan.mp4": (30.0, NAN, 12, "complete", 30.0),
    "count-infinite.mp4": (30.0, float("inf"), 12, "complete", 30.0),
    "count-negative.mp4": (30.0, -9.2e18, 12, "complete", 30.0),  # what FFmpeg reports for a lone image
    "count-absurd.mp4": (30.0, 1e12, 12, "complete", 30.0),
    "count-zero.mp4": (30.0, 0.0, 12, "complete", 30.0),
    "count-too-small.mp4": (30.0, 3.0, 12, "complete", 30.0),
    "count-too-large.mp4": (30.0, 200.0, 12, "incomplete", 30.0),
}


@pytest.fixture(scope="module")
def report_run(tmp_path_factory: pytest.TempPathFactory, onnx_model: Path) -> tuple[CliRun, Path]:
    base = tmp_path_factory.mktemp("reports")
    frames = [np.full((96, 128, 3), 40 + 10 * i, np.uint8) for i in range(12)]
    with pytest.MonkeyPatch.context() as monkeypatch:
        captures = {name: FakeCapture(frames[:delivered], fps=fps, count=count)
                    for name, (fps, count, delivered, _, _) in REPORTS.items()}
        fake_videos(monkeypatch, base / "in", captures)
        run = run_cli(base / "in", "-o", base / "out", "-d", onnx_model, "--threads", "1")
    return run, base / "out"


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_container_reporting_nonsense(report_run: tuple[CliRun, Path], name: str) -> None:
    run, output = report_run
    _, _, delivered, status, fps = REPORTS[name]
    out = output / Path(name).stem
    assert summary(out)["status"] == status and summary(out)["input_fps"] == fps
    assert_valid_outputs(out, delivered)
    assert video_info(out / "annotated.mp4")[3] == pytest.approx(fps)
    if status == "incomplete":
        assert "decoding stopped after 12 of the 200 frames" in run.line(name)
    else:
        assert name not in run.stderr


def test_variable_frame_rate_video(tmp_path: Path, onnx_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Irregular frame timestamps (VFR) are kept: every decoded frame is written once, at its own time,
    in annotated.mp4 and tracks.jsonl. Times that repeat, go backwards or come closer than 1/240 s
    (broken containers) become the previous time plus one frame period of the average rate."""
    frames = [np.full((96, 128, 3), 10 * i, np.uint8) for i in range(15)]
    times = [0.0, 10.0, 95.0, 100.0, 180.0, 181.0, 300.0, 333.0, 320.0, 500.0, 520.0, 610.0, 700.0, 700.0, 820.0]
    fake_videos(monkeypatch, tmp_path / "in", {"vfr.mp4": FakeCapture(frames, fps=18.3, times_ms=times)})
    run = run_cli(tmp_path / "in" / "vfr.mp4", "-o", tmp_path / "out", "-d", onnx_model, "--threads", "1")
    assert run.code == 0, run.stderr
    out = tmp_path / "out" / "vfr"
    assert_valid_outputs(out, 15)
    period = 1000 / 18.3
    expected = [0.0, 10.0, 95.0, 100.0, 180.0, 180.0 + period, 300.0, 333.0, 333.0 + period, 500.0, 520.0, 610.0,
                700.0, 700.0 + period, 820.0]
    records = [json.loads(line) for line in (out / "tracks.jsonl").read_text().splitlines()]
    assert [r["time"] for r in records] == pytest.approx([t / 1000 for t in expected], abs=1e-4)
    with av.open(str(out / "annotated.mp4")) as container:
        written = [float(frame.pts * frame.time_base) for frame in container.decode(video=0)]
    assert written == pytest.approx([t / 1000 for t in expected], abs=1e-4)


# ---------------------------------------------------------------------------------- odd frames

# name: (frame shape, frames, encoded (width, height) of annotated.mp4: mp4v needs even sizes)
SHAPES = {
    "one-pixel.mp4": ((1, 1, 3), 4, (2, 2)),
    "odd-161x97.mp4": ((97, 161, 3), 6, (162, 98)),
    "gray-2d.mp4": ((97, 161), 6, (162, 98)),
    "gray-1ch.mp4": ((120, 160, 1), 6, (160, 120)),
    "bgra.mp4": ((120, 160, 4), 6, (160, 120)),
    "8k.mp4": ((4320, 7680, 3), 1, (7680, 4320)),
}


@pytest.fixture(scope="module")
def shape_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[CliRun, Path]:
    import detectors

    base = tmp_path_factory.mktemp("shapes")
    rng = np.random.default_rng(3)
    captures = {}
    for name, (shape, count, _) in SHAPES.items():
        frame = rng.integers(0, 255, shape, dtype=np.uint8) if np.prod(shape) < 1e6 else np.full(shape, 90, np.uint8)
        captures[name] = FakeCapture([frame] * count)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(detectors, "load_detector", lambda *args, **kwargs: FixedBox())
        fake_videos(monkeypatch, base / "in", captures)
        run = run_cli(base / "in", "-o", base / "out", "--crops", "all", "--crop-every", "2")
    return run, base / "out"


def test_odd_frames_run_through(shape_run: tuple[CliRun, Path]) -> None:
    run, _ = shape_run
    assert run.code == 0, run.stderr


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_odd_frame_sizes_and_channels(shape_run: tuple[CliRun, Path], name: str) -> None:
    """1x1, odd sizes, 8K, grayscale and BGRA frames: converted to BGR at the source, every frame
    written (odd sizes padded by one pixel, never cut), tracks and crops written."""
    _, output = shape_run
    shape, count, encoded = SHAPES[name]
    out = output / Path(name).stem
    assert summary(out)["status"] == "complete"
    assert_valid_outputs(out, count)
    assert video_info(out / "annotated.mp4")[1:3] == encoded
    if min(shape[:2]) >= 90:  # the fixed box is a real face-sized box: a track and its crops
        assert summary(out)["tracks"] == 1
        best = cv2.imread(str(out / "faces" / "1" / "best.jpg"))
        assert best is not None and best.ndim == 3


def test_sources_convert_frames_to_bgr(tmp_path: Path) -> None:
    from apps.sources import LiveSource, VideoFileSource

    frames = [np.zeros((5, 7), np.uint8), np.zeros((5, 7, 1), np.uint8), np.zeros((5, 7, 4), np.uint8),
              np.zeros((5, 7, 3), np.uint8)]
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00fake")
    assert [f.shape for f in VideoFileSource(path, lambda name: FakeCapture(frames))] == [(5, 7, 3)] * 4
    live = LiveSource(0, capture_factory=lambda device: FakeCapture(frames[1:2]), open_timeout=5.0)
    try:
        from apps.sources import SourceError

        received = []
        with pytest.raises(SourceError, match="stopped delivering frames"):
            for frame in live:
                received.append(frame.shape)
        assert received == [(5, 7, 3)]
    finally:
        live.close()


# -------------------------------------------------------------------------------- output folders


def test_output_path_is_an_existing_file(tmp_path: Path, onnx_model: Path) -> None:
    first, second = make_clip(tmp_path / "a.mp4"), make_clip(tmp_path / "b.mp4", seed=2)
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    run = run_cli(first, second, "-o", blocker, "-d", onnx_model, "--threads", "1")
    assert run.code == 1
    assert run.line("a.mp4") == f"failed: {first}: cannot create output folder {blocker / 'a'}: Not a directory"
    assert run.line("b.mp4") == f"failed: {second}: cannot create output folder {blocker / 'b'}: Not a directory"
    assert blocker.read_text() == "a file where the output folder should be"


def test_output_folder_not_writable_simulated(tmp_path: Path, onnx_model: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = make_clip(tmp_path / "a.mp4"), make_clip(tmp_path / "b.mp4", seed=2)
    output = tmp_path / "out"
    real_mkdir = pathlib.Path.mkdir

    def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        if self == output / "a":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    run = run_cli(first, second, "-o", output, "-d", onnx_model, "--threads", "1")
    assert run.code == 1
    assert run.line("a.mp4") == f"failed: {first}: cannot create output folder {output / 'a'}: Permission denied"
    assert_valid_outputs(output / "b", CLIP_FRAMES)


@pytest.mark.parametrize("where", ["inside", "same"])
def test_output_folder_inside_the_input_folder(tmp_path: Path, onnx_model: Path, where: str) -> None:
    """Run twice on the same folder with -o inside it (or equal to it): the second run never takes the
    annotated.mp4 files of the first as inputs."""
    folder = tmp_path / "videos"
    make_clip(folder / "a.mp4")
    make_clip(folder / "b.mp4", seed=2)
    output = folder / "facepics" if where == "inside" else folder
    for _ in range(2):
        run = run_cli(folder, "--recursive", "-o", output, "-d", onnx_model, "--threads", "1")
        assert run.code == 0, run.stderr
        assert "annotated" not in run.stdout
    assert sorted(p.relative_to(output).as_posix() for p in output.rglob("summary.json")) == [
        "a/summary.json", "b/summary.json"]
    for name in ("a", "b"):
        assert Path(summary(output / name)["input"]).name == f"{name}.mp4"


def test_two_inputs_with_the_same_name_in_different_folders(tmp_path: Path, onnx_model: Path) -> None:
    first = make_clip(tmp_path / "day1" / "clip.mp4", seed=1)
    second = make_clip(tmp_path / "day2" / "clip.mp4", seed=2)
    run = run_cli(first, second, tmp_path / "day1", tmp_path / "day2", "-o", tmp_path / "out", "-d", onnx_model,
                  "--threads", "1")
    assert run.code == 0, run.stderr
    inputs = sorted((summary(p.parent)["input"], p.parent.name) for p in (tmp_path / "out").glob("*/summary.json"))
    assert len(inputs) == 4 and len({name for _, name in inputs}) == 4  # four distinct output folders
    assert sorted(Path(i).parent.name for i, _ in inputs) == ["day1", "day1", "day2", "day2"]


# --------------------------------------------------------------------------------- detector files


def _identity_onnx(path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)]), str(path))


@pytest.mark.parametrize("kind", ["missing", "corrupt", "not-facetrack", "folder", "checkpoint"])
def test_unusable_detector_stops_before_any_video_is_touched(tmp_path: Path, kind: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import apps.batch

    clip = make_clip(tmp_path / "in" / "clip.mp4")
    model = tmp_path / "model.onnx"
    if kind == "missing":
        expected = f"error: model file not found: {model}"
    elif kind == "corrupt":
        model.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
        expected = f"error: {model} is not a valid ONNX model: "
    elif kind == "not-facetrack":
        _identity_onnx(model)
        expected = f"error: {model} is an ONNX model but not a FaceTrack face detector (metadata missing)"
    elif kind == "folder":
        model.mkdir()
        expected = f"error: {model} is not a model file (it is a folder or a device)"
    else:
        torch = pytest.importorskip("torch")
        model = tmp_path / "best.pt"
        torch.save({"model": {"w": torch.zeros(2)}}, model)
        expected = f"error: {model} is not a valid ONNX model: "
    opened: list[Any] = []
    monkeypatch.setattr(apps.batch, "VideoFileSource", lambda *args, **kwargs: opened.append(args))
    run = run_cli(clip, "-o", tmp_path / "out", "-d", model)
    assert run.code == 2
    assert run.line("error:").startswith(expected)
    assert opened == [] and not (tmp_path / "out").exists()


def _is_torch_load(node: ast.Call) -> bool:
    func = node.func
    return isinstance(func, ast.Attribute) and func.attr == "load" and isinstance(func.value, ast.Name) \
        and func.value.id == "torch"


def test_every_torch_load_uses_weights_only() -> None:
    """Checkpoints are pickles: ``torch.load`` must never run arbitrary code (weights_only=True)."""
    skipped_dirs = {".git", ".venv", ".venv-ci", "build", "dist", "__pycache__", "node_modules", ".mypy_cache"}
    calls, unsafe = 0, []
    for path in ROOT.rglob("*.py"):
        if skipped_dirs & set(path.relative_to(ROOT).parts) or "site-packages" in path.parts:
            continue
        source = path.read_text(encoding="utf-8", errors="replace")
        if "torch.load" not in source:
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:  # fall back to the text: every call must name weights_only=True
            for match in re.finditer(r"torch\.load\(([^)]*)\)", source):
                calls += 1
                if not re.search(r"weights_only\s*=\s*True", match.group(1)):
                    unsafe.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _is_torch_load(node):
                calls += 1
                flags = [k.value for k in node.keywords if k.arg == "weights_only"]
                if not (len(flags) == 1 and isinstance(flags[0], ast.Constant) and flags[0].value is True):
                    unsafe.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert calls > 0  # the scan does find the training code's checkpoint loading
    assert unsafe == []

