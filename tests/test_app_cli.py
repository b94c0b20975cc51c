"""The command line (apps.cli.main, start.py), batches (apps.batch) and graceful stop (apps.interrupts).

CLI runs go through ``main([...])`` in-process with a randomly initialised FaceBoxes exported to ONNX
(random weights: used for formats and exit codes only, never for detection quality).
"""
from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np
import pytest
from cli_helpers import CliRun, run_cli
from rich.console import Console

from apps.batch import process_batch, summary_table
from apps.discovery import VideoInput
from apps.interrupts import StopSignals
from apps.options import TrackingOptions
from benchmarks.synthetic import ClipSpec, render_clip, synthetic_sprites, write_clip

ROOT = Path(__file__).resolve().parents[1]
CLIP_FRAMES = 20
CLIP_SPEC = ClipSpec(width=160, height=120, fps=25.0, frames=CLIP_FRAMES, faces=2, seed=6, min_size=30, max_size=44,
                     allow_exit=False, occluder=False)


def flat(text: str) -> str:
    """Text with runs of whitespace collapsed (rich wraps long lines)."""
    return re.sub(r"\s+", " ", text)


def write_test_clip(path: Path, seed: int = 6) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_clip(path, ClipSpec(**{**CLIP_SPEC.__dict__, "seed": seed}), synthetic_sprites(2, seed))
    return path


def count_frames(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    return frames


# ------------------------------------------------------------------------------------------- help


def test_start_py_help_in_subprocesses() -> None:
    """``python start.py --help`` and ``python start.py track --help`` as a user runs them (the other
    sub-commands' help is checked in-process below, to keep the run short)."""
    expected = {
        "": ["track", "detect", "evaluate", "train", "export"],
        "track": ["--webcam", "--stream", "--detect-every", "--crops", "--output", "--recursive"],
    }
    env = {**os.environ, "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1"}
    processes = {
        name: subprocess.Popen([sys.executable, "start.py", *name.split(), "--help"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in expected
    }
    for name, process in processes.items():
        try:
            stdout, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert process.returncode == 0, (name, stderr)
        assert "Usage" in stdout and "Traceback" not in stderr
        for option in expected[name]:
            assert option in stdout, (name, option)


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("track", ["--webcam", "--detect-every", "--crops", "--max-age"]),
        ("detect", ["--output", "--draw", "--threshold"]),
        ("evaluate", ["--subset", "--upscale"]),
        ("train", ["--run-dir", "--epochs", "--train-set"]),
        ("export", ["--output"]),
    ],
)
def test_sub_command_help_in_process(command: str, options: list[str]) -> None:
    result = run_cli(*[command, "--help"])
    assert result.code == 0
    assert "Usage" in result.stdout and command in result.stdout
    for option in options:
        assert option in result.stdout


def test_short_help_flag() -> None:
    assert run_cli(*["-h"]).code == 0


# --------------------------------------------------------------------------------------- messages


def test_nonexistent_input_is_reported_and_nothing_is_created(tmp_path: Path) -> None:
    result = run_cli(*["/nonexistent/video-folder", "-o", tmp_path / "out"])
    assert "/nonexistent/video-folder" in flat(result.stderr) and "no such file or folder" in flat(result.stderr)
    assert not (tmp_path / "out").exists()


def test_no_input_at_all_is_reported() -> None:
    result = run_cli(*["track"])
    assert "give video files or folders" in flat(result.stderr)


def test_webcam_and_stream_together_are_refused(tmp_path: Path) -> None:
    result = run_cli(*["--webcam", "0", "--stream", "rtsp://x/y", "-o", tmp_path / "out"])
    assert "either --webcam or --stream" in flat(result.stderr)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["missing", "corrupt", "not-facetrack", "unknown-name"])
def test_bad_detector_is_reported_before_any_output_is_created(tmp_path: Path, kind: str) -> None:
    clip = write_test_clip(tmp_path / "in" / "clip.mp4")
    cv2.imwrite(str(tmp_path / "in" / "face.png"), np.full((120, 160, 3), 128, np.uint8))
    if kind == "missing":
        detector, message = str(tmp_path / "missing.onnx"), "model file not found"
    elif kind == "corrupt":
        detector, message = str(tmp_path / "corrupt.onnx"), "not a valid ONNX model"
        Path(detector).write_bytes(b"\x08\x07garbage, not protobuf" * 50)
    elif kind == "not-facetrack":
        onnx = pytest.importorskip("onnx")
        detector, message = str(tmp_path / "identity.onnx"), "not a FaceTrack face detector"
        graph = onnx.helper.make_graph(
            [onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
            [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
            [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
        onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)]), detector)
    else:
        detector, message = "superface", "unknown detector"
    for args in (["track", clip, "-o", tmp_path / "out", "--detector", detector],
                 ["detect", tmp_path / "in", "-o", tmp_path / "wider", "--detector", detector]):
        result = run_cli(*args)
        assert message in flat(result.stderr), result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "wider").exists()


# --------------------------------------------------------------------- a folder: one good, one bad


class FolderRun(NamedTuple):
    run: CliRun
    folder: Path
    output: Path
    good_name: str


@pytest.fixture(scope="module")
def folder_run(onnx_model: Path, tmp_path_factory: pytest.TempPathFactory) -> FolderRun:
    base = tmp_path_factory.mktemp("folder-run")
    folder = base / "videos"
    good_name = "good clip ü"
    write_test_clip(folder / f"{good_name}.mp4")
    (folder / "bad.mp4").write_text("definitely not a video\n" * 30)
    (folder / "readme.txt").write_text("ignored")
    output = base / "out"
    run = run_cli(*[folder, "-o", output, "--detector", onnx_model, "--threshold", "0.99", "--threads", "1"])
    return FolderRun(run, folder, output, good_name)


def test_folder_with_a_bad_file_processes_the_good_one(folder_run: FolderRun) -> None:
    out = folder_run.output / folder_run.good_name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["frames"] == CLIP_FRAMES
    assert summary["detector"] == "faceboxes-small" and summary["threshold"] == 0.99
    assert count_frames(out / "annotated.mp4") == CLIP_FRAMES
    assert len((out / "tracks.jsonl").read_text().splitlines()) == CLIP_FRAMES
    assert (out / "tracks.txt").is_file()
    assert not [p for p in folder_run.output.rglob("*") if ".partial" in p.name]
    assert not (folder_run.output / "bad" / "summary.json").exists()


def test_folder_run_reports_the_bad_file_and_prints_the_summary_table(folder_run: FolderRun) -> None:
    stderr, stdout = flat(folder_run.run.stderr), flat(folder_run.run.stdout)
    assert "bad.mp4" in stderr and "not a readable video" in stderr
    assert "Traceback" not in stderr
    assert "FaceTrack summary" in stdout
    assert "complete" in stdout and "failed" in stdout
    assert "bad failed" in stdout and folder_run.good_name in stdout  # inputs named as their output folders
    assert "readme" not in stdout


def test_folder_with_a_bad_file_exits_with_1(folder_run: FolderRun) -> None:
    assert folder_run.run.code == 1


# ----------------------------------------------------------------------------------------- detect


class DetectRun(NamedTuple):
    run: CliRun
    images: Path
    output: Path


@pytest.fixture(scope="module")
def detect_run(onnx_model: Path, tmp_path_factory: pytest.TempPathFactory) -> DetectRun:
    base = tmp_path_factory.mktemp("detect-run")
    images = base / "images"
    images.mkdir()
    frames = [frame for frame, _ in render_clip(CLIP_SPEC, synthetic_sprites(2, 1))]
    cv2.imwrite(str(images / "first.jpg"), frames[0])
    cv2.imwrite(str(images / "second image.png"), frames[10])
    (images / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    (images / "notes.txt").write_text("not an image, not listed")
    output = base / "wider"
    run = run_cli(*["detect", images, "-o", output, "--detector", onnx_model, "--threshold", "0.1", "--draw",
                   "--threads", "1"])
    return DetectRun(run, images, output)


def test_detect_writes_wider_result_files_for_the_good_images(detect_run: DetectRun) -> None:
    files = sorted(p.name for p in detect_run.output.iterdir())
    assert files == ["first.faces.jpg", "first.txt", "second image.faces.jpg", "second image.txt"]
    for stem, name in (("first", "first.jpg"), ("second image", "second image.png")):
        lines = (detect_run.output / f"{stem}.txt").read_text().splitlines()
        assert lines[0] == name
        count = int(lines[1])
        assert len(lines) == 2 + count
        for line in lines[2:]:
            x, y, w, h, score = (float(value) for value in line.split())
            assert w > 0 and h > 0 and 0.1 <= score <= 1.0
            assert -1 <= x <= 160 and -1 <= y <= 120
        assert cv2.imread(str(detect_run.output / f"{stem}.faces.jpg")).shape == (120, 160, 3)


def test_detect_reports_the_corrupt_image(detect_run: DetectRun) -> None:
    stderr = flat(detect_run.run.stderr)
    assert "broken.jpg" in stderr and "not a readable image" in stderr
    assert "2 images" in stderr and "1 failed" in stderr


def test_detect_with_a_corrupt_image_exits_with_1(detect_run: DetectRun) -> None:
    assert detect_run.run.code == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["/nonexistent"], 1),
        (["track"], 2),
        (["--webcam", "0", "--stream", "rtsp://x/y"], 2),
        (["detect", "/nonexistent.jpg", "-o", "unused"], 2),
        ([str(ROOT / "media"), "--detector", "/nonexistent/model.onnx"], 2),
    ],
)
def test_exit_codes(args: list[str], code: int, tmp_path: Path) -> None:
    assert run_cli(*(args + ["-o", tmp_path / "out"] if args[0] != "detect" else args)).code == code


@pytest.mark.parametrize("args", [["track", "x.mp4", "--bogus"], ["track", "x.mp4", "--detect-every", "0"],
                                  ["detect"]])
def test_usage_errors_give_a_message_and_exit_code_2(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.code == 2 and "Traceback" not in result.stderr


# ------------------------------------------------------------------------------------ demo (real)


DEMO = ROOT / "media" / "demo.mp4"


def people_in_view(truth: Path) -> int:
    """Faces of a MOTChallenge ground-truth file with at least one box to evaluate (flag 1): the
    people a tracker can be asked to find (the others are never more than 30 % visible)."""
    rows = [line.split(",") for line in truth.read_text().splitlines()]
    return len({row[1] for row in rows if row[6] == "1"})


# media/make_demo_clip.py renders four faces, but face 1 stays mostly hidden behind the nearer faces
# and the bar (flag 0 in all 200 frames of media/demo_gt.txt): three people are there to be found.
DEMO_PEOPLE = 3


def demo_summary(output: Path, *options: Any) -> dict[str, Any]:
    """Track media/demo.mp4 into ``output`` with ``options``; assert exit 0 and return summary.json."""
    run = run_cli(DEMO, "-o", output, "--threads", "2", *options)
    assert run.code == 0, run.stderr
    return json.loads((output / "demo" / "summary.json").read_text())


def test_demo_has_the_people_its_ground_truth_says() -> None:
    assert people_in_view(ROOT / "media" / "demo_gt.txt") == DEMO_PEOPLE


@pytest.mark.skipif(not (ROOT / "detectors" / "weights" / "faceboxes.onnx").is_file(),
                    reason="detectors/weights/faceboxes.onnx is not installed")
def test_demo_clip_with_the_default_detector_gives_one_track_per_person(tmp_path: Path) -> None:
    summary = demo_summary(tmp_path)
    assert summary["status"] == "complete" and summary["frames"] == 200
    assert summary["tracks"] == DEMO_PEOPLE


@pytest.mark.skipif(not (ROOT / "detectors" / "weights" / "ainnoface.onnx").is_file(),
                    reason="detectors/weights/ainnoface.onnx is not installed")
def test_demo_clip_with_ainnoface_in_accurate_mode(tmp_path: Path) -> None:
    summary = demo_summary(tmp_path, "--detector", "ainnoface", "--accurate", "--detect-every", "10")
    assert summary["status"] == "complete" and summary["frames"] == 200
    assert summary["detector_runs"] == 20 and summary["tracks"] == DEMO_PEOPLE


# ------------------------------------------------------------------------------- stop by signal


class FakeLoaded:
    """Stands in for a loaded ONNX detector: sends SIGTERM to this process on frame ``signal_at``."""

    name = "fake-signal-detector"
    providers = ("CPUExecutionProvider",)
    score_threshold = 0.5
    recommended_low_threshold = 0.25

    def __init__(self, signal_at: int) -> None:
        self.signal_at = signal_at
        self.calls = 0

    def detect(self, frame: np.ndarray) -> np.ndarray:
        if self.calls == self.signal_at:
            os.kill(os.getpid(), signal.SIGTERM)
        self.calls += 1
        return np.array([[40, 30, 90, 90, 0.9]], np.float32)


@pytest.fixture
def sigterm_safety_net():
    """A harmless SIGTERM handler, so a signal that StopSignals failed to catch cannot kill pytest."""
    caught: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda number, frame: caught.append(number))
    try:
        yield caught
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture
def sigterm_run(tmp_path: Path, monkeypatch, sigterm_safety_net) -> tuple[CliRun, Path]:
    import detectors

    clip = tmp_path / "long.mp4"
    write_clip(clip, ClipSpec(**{**CLIP_SPEC.__dict__, "frames": 60}), synthetic_sprites(2, 0))
    loaded = FakeLoaded(signal_at=5)
    monkeypatch.setattr(detectors, "load_detector", lambda *args, **kwargs: loaded)
    run = run_cli(*[clip, "-o", tmp_path / "out"])
    assert sigterm_safety_net == []  # StopSignals handled it
    return run, tmp_path / "out" / "long"


def test_sigterm_during_a_run_finishes_the_outputs(sigterm_run: tuple[CliRun, Path]) -> None:
    run, out = sigterm_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert 5 <= summary["frames"] < 60
    assert count_frames(out / "annotated.mp4") == summary["frames"]
    assert "interrupted" in run.stdout
    assert "Stopping" in run.stderr


def test_sigterm_during_a_run_exits_with_143(sigterm_run: tuple[CliRun, Path]) -> None:
    assert sigterm_run[0].code == 143


# ------------------------------------------------------------------------------------- interrupts


@pytest.mark.parametrize(("number", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_stop_signals_turn_a_signal_into_the_stop_event(number: int, code: int, capsys) -> None:
    caught: list[int] = []

    def safety(signum: int, frame: Any) -> None:
        caught.append(signum)

    previous = signal.signal(number, safety)
    try:
        with StopSignals() as signals:
            assert signal.getsignal(number) is not safety  # installed
            assert signals.exit_code is None and not signals.event.is_set()
            os.kill(os.getpid(), number)
            assert signals.event.wait(5.0)
        assert signals.exit_code == code and signals.signal_number == number
        assert caught == []
        assert signal.getsignal(number) is safety  # restored
        assert "Stopping" in capsys.readouterr().err
    finally:
        signal.signal(number, previous)


def test_stop_signals_outside_the_main_thread_only_provide_the_event() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    seen: dict[str, Any] = {}

    def worker() -> None:
        with StopSignals() as signals:
            seen["during"] = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
            seen["event"] = signals.event
        seen["code"] = signals.exit_code

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert seen["during"] == before and seen["code"] is None and not seen["event"].is_set()
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_second_signal_exits_at_once_with_the_signal_code() -> None:
    script = (
        "import os, signal, sys, time\n"
        "from apps.interrupts import StopSignals\n"
        "with StopSignals() as s:\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    s.event.wait(5)\n"
        "    print('first handled', flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(10)\n"
        "print('not reached')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 143
    assert "first handled" in done.stdout and "not reached" not in done.stdout
    assert "Stopping immediately" in done.stderr


# ------------------------------------------------------------------------------------------ batch


def test_batch_reports_a_bad_video_and_processes_the_others(tmp_path: Path) -> None:
    good = write_test_clip(tmp_path / "in" / "good.mp4")
    bad = tmp_path / "in" / "bad.mp4"
    bad.write_bytes(b"")

    def detect(frame: np.ndarray) -> np.ndarray:
        return np.zeros((0, 5), np.float32)

    console = Console(file=io.StringIO(), width=200)
    stop = threading.Event()
    videos = [VideoInput(bad, Path("bad")), VideoInput(good, Path("good"))]
    results = process_batch(videos, tmp_path / "out", detect, TrackingOptions(), stop, console, {"detector": "none"})
    assert [result.status for result in results] == ["failed", "complete"], [r.message for r in results]
    assert "empty file" in results[0].message
    assert json.loads((tmp_path / "out" / "good" / "summary.json").read_text())["detector"] == "none"
    table = Console(file=io.StringIO(), width=250)
    table.print(summary_table(results, tmp_path / "out"))
    text = table.file.getvalue()
    assert "FaceTrack summary" in text and "failed" in text and "empty file" in text and "complete" in text


def test_batch_continues_after_a_video_whose_detector_fails(tmp_path: Path) -> None:
    first = write_test_clip(tmp_path / "in" / "a.mp4", seed=1)
    second = write_test_clip(tmp_path / "in" / "b.mp4", seed=2)
    calls = [0]

    def detect(frame: np.ndarray) -> np.ndarray:
        calls[0] += 1
        if calls[0] == 5:  # only once, on the first video
            raise RuntimeError("detector exploded")
        return np.zeros((0, 5), np.float32)

    stop = threading.Event()
    videos = [VideoInput(first, Path("a")), VideoInput(second, Path("b"))]
    results = process_batch(videos, tmp_path / "out", detect, TrackingOptions(detect_every=1), stop,
                            Console(file=io.StringIO()), None)
    assert [result.status for result in results[:1]] == ["failed"]
    assert [result.status for result in results] == ["failed", "complete"], [r.message for r in results]


@pytest.fixture
def undecodable_clip(tmp_path: Path) -> Path:
    """An mp4 whose container is intact (it opens, reports its frames) but whose frame data is zeroed."""
    from apps.sources import VideoFileSource

    path = write_test_clip(tmp_path / "in" / "zeroed.mp4")
    data = bytearray(path.read_bytes())
    start, end = data.find(b"mdat") + 4, data.find(b"moov") - 4
    assert 0 < start < end
    data[start:end] = bytes(end - start)
    path.write_bytes(bytes(data))
    source = VideoFileSource(path)  # precondition: it opens ...
    assert source.info.frame_count == CLIP_FRAMES
    assert list(source) == []  # ... and not one frame decodes
    return path


def test_video_without_a_decodable_frame_is_not_reported_complete(undecodable_clip: Path, tmp_path: Path) -> None:
    results = process_batch([VideoInput(undecodable_clip, Path("zeroed"))], tmp_path / "out",
                            lambda frame: np.zeros((0, 5), np.float32), TrackingOptions(), threading.Event(),
                            Console(file=io.StringIO()), None)
    assert results[0].frames == 0
    assert results[0].status == "failed" and results[0].message


# ---------------------------------------------------------------------------------- detect (unit)


def test_detect_images_writes_result_files_and_reports_unreadable_ones(tmp_path: Path) -> None:
    from apps.detect_images import detect_images, list_images, wider_result_text

    images = tmp_path / "images"
    images.mkdir()
    cv2.imwrite(str(images / "a.jpg"), np.full((60, 80, 3), 120, np.uint8))
    (images / "empty.png").write_bytes(b"")
    (images / "skip.txt").write_text("x")
    listed = list_images(images)
    assert [p.name for p in listed] == ["a.jpg", "empty.png"]
    boxes = np.array([[10, 20, 40, 60, 0.875], [0.5, 1.5, 10.5, 11.5, 0.5]], np.float32)
    outcomes = detect_images(listed, tmp_path / "out", lambda image: boxes)
    assert [(o.path.name, o.faces, bool(o.error)) for o in outcomes] == [("a.jpg", 2, False), ("empty.png", 0, True)]
    assert (tmp_path / "out" / "a.txt").read_text() == "a.jpg\n2\n10.0 20.0 30.0 40.0 0.8750\n0.5 1.5 10.0 10.0 0.5000\n"
    assert wider_result_text("x.png", np.zeros((0, 5))) == "x.png\n0\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.txt"]


def test_detect_draw_into_the_image_folder_keeps_the_originals(tmp_path: Path) -> None:
    from apps.detect_images import detect_images

    photo = tmp_path / "a.jpg"
    cv2.imwrite(str(photo), np.full((60, 80, 3), 120, np.uint8))
    original = photo.read_bytes()
    detect_images([photo], tmp_path, lambda image: np.array([[10, 10, 50, 50, 0.9]], np.float32), draw=True)
    assert (tmp_path / "a.txt").is_file()
    assert photo.read_bytes() == original
