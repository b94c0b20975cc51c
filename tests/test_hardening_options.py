"""Hardening, round 2 (issue 24), the rest: options a run ignores are said so, a URL given as a path
points at ``--stream``, ``-o ''`` is a usage error; ``evaluate``/``export`` errors in one line; Ctrl-C
while starting; box styles and warnings the README promises."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import FixedBox, run_cli, use_detector
from label_layouts import write_voc
from test_reliability_faults import make_clip

ROOT = Path(__file__).resolve().parents[1]
SAFETY_SECONDS = 120.0  # against hangs only

# ------------------------------------------------------------------------------ ignored options


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", frames=6)


@pytest.mark.parametrize(("args", "warning"), [
    (["--stream", "{clip}", "{clip}"], "file paths are ignored with --stream"),
    (["--stream", "{clip}", "--workers", "2"], "--workers is ignored with --stream (it applies to files)"),
    (["--stream", "{clip}", "--engine", "local"], "--engine is ignored with --stream (it applies to files)"),
    (["{clip}", "--ray-address", "auto"], "--ray-address is ignored without --engine ray"),
    (["{clip}", "--crop-every", "5"], "--crop-every is ignored without --crops all"),
    (["{clip}", "--crops", "best", "--crop-every", "5"], "--crop-every is ignored without --crops all"),
    (["{clip}", "--duration", "3"], "--duration is ignored for files (it applies to --webcam and --stream)"),
], ids=["paths", "workers", "engine", "ray-address", "crop-every", "crop-every-best", "duration"])
def test_an_ignored_option_is_one_warning_and_the_run_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              clip: Path, args: list[str], warning: str) -> None:
    use_detector(monkeypatch, FixedBox())
    arguments = [argument.format(clip=clip) for argument in args]
    run = run_cli(*arguments, "--every-frame", "--no-display", "--no-report", "-o", tmp_path / "out")
    assert run.code == 0, run.stderr
    assert run.line("warning:") == f"warning: {warning}"
    assert len(list((tmp_path / "out").glob("*/summary.json"))) == 1


def test_file_paths_with_webcam_are_one_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clip: Path) -> None:
    use_detector(monkeypatch, FixedBox())
    run = run_cli("--webcam", "97", clip, "--no-display", "--no-report", "-o", tmp_path / "out")
    assert run.code == 1  # no camera 97 here: the live run fails after the warning
    assert run.line("warning:") == "warning: file paths are ignored with --webcam"
    assert run.line("failed:").startswith("failed: webcam 97: ")


def test_options_that_apply_give_no_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clip: Path) -> None:
    use_detector(monkeypatch, FixedBox())
    run = run_cli(clip, "--crops", "all", "--crop-every", "5", "--workers", "1", "--no-report", "-o", tmp_path / "out")
    assert run.code == 0 and "warning:" not in run.stderr, run.stderr
    run = run_cli("--stream", clip, "--duration", "30", "--no-display", "--no-report", "-o", tmp_path / "live")
    assert run.code == 0 and "warning:" not in run.stderr, run.stderr


def test_an_empty_output_path_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clip: Path) -> None:
    use_detector(monkeypatch, FixedBox())
    monkeypatch.chdir(tmp_path)
    run = run_cli(clip, "-o", "")
    assert run.code == 2
    assert "Invalid value for '--output' / '-o': an empty path names no folder" in " ".join(run.stderr.split())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["rtsp://camera.local:554/live", "http://example.com/clip.mp4"])
def test_a_url_given_as_a_path_points_at_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clip: Path,
                                                url: str) -> None:
    use_detector(monkeypatch, FixedBox())
    run = run_cli(url, clip, "--no-report", "-o", tmp_path / "out")
    assert run.code == 1  # the URL is a skipped item; the file next to it is processed
    assert run.line("skipped:") == f"skipped: {Path(url)}: a URL, not a file: read it with --stream URL"
    assert (tmp_path / "out" / "clip" / "summary.json").is_file()


# ------------------------------------------------------------------------- evaluate, export: one line


@pytest.fixture
def voc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_detector(monkeypatch, FixedBox())
    return write_voc(tmp_path / "voc")


def test_evaluate_names_a_malformed_annotation(voc: Path) -> None:
    broken = voc / "annotations" / "cam1_0002.xml"
    broken.write_text("<annotation><object><name>face</name><bndbox><xmin>1")
    run = run_cli("evaluate", voc)
    assert run.code == 2
    assert run.line("error:").startswith(f"error: {broken}: not a VOC annotation (")


def test_evaluate_names_an_image_it_cannot_decode(voc: Path) -> None:
    damaged = voc / "images" / "cam2_0001.jpg"
    damaged.write_bytes(b"not a JPEG at all")
    run = run_cli("evaluate", voc)
    assert run.code == 2
    assert run.line("error:") == f"error: {damaged}: cannot decode this image (damaged, or not an image)"


@pytest.mark.parametrize("content", [b"just some notes\n", b"PK\x03\x04 not a zip", "dictionary"])
def test_export_of_a_file_that_is_not_a_checkpoint_is_one_line(tmp_path: Path, content: bytes | str) -> None:
    checkpoint = tmp_path / "best.pt"
    if content == "dictionary":
        import torch

        torch.save({"weights": torch.zeros(3)}, checkpoint)
    else:
        checkpoint.write_bytes(content)
    run = run_cli("export", checkpoint)
    assert run.code == 2
    assert run.line("error:") == (f"error: {checkpoint}: not a FaceTrack training checkpoint "
                                  "(train writes RUN_DIR/best.pt and last.pt)")
    assert not (tmp_path / "model.onnx").exists()


# ------------------------------------------------------------------------------ Ctrl-C at start-up

#: How each entry point is started: the script, and the installed command's function.
ENTRY_POINTS = {"start.py": ["start.py"],
                "facetrack": ["-c", "import sys; from apps.cli import facetrack; sys.exit(facetrack())"]}


def interrupt_when_imported(entry: str, module: str, *args: str) -> subprocess.CompletedProcess:
    """Start ``entry`` with ``-X importtime`` and send it SIGINT as soon as ``module`` appears in that
    import log (printed when an import completes, so a submodule line means its package is still
    being imported): the signal comes from outside, as a Ctrl-C does, at a known moment of start-up,
    not after a guessed delay. Interpreter start-up itself (``site``) is not covered: no Python
    code of ours runs yet."""
    process = subprocess.Popen([sys.executable, "-X", "importtime", *ENTRY_POINTS[entry], *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "COLUMNS": "200"},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.rsplit("|", 1)[-1].strip().startswith(module):
            process.send_signal(signal.SIGINT)
            break
    stdout, stderr = process.communicate(timeout=SAFETY_SECONDS)
    assert any(line.rsplit("|", 1)[-1].strip().startswith(module) for line in seen), "never imported"
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, "".join(seen) + stderr)


@pytest.mark.parametrize(("entry", "module"), [
    ("start.py", "typer"),  # right after the interpreter started: the command line's own imports
    ("start.py", "cv2"),
    ("start.py", "onnxruntime.capi"),  # inside ONNX Runtime's import (the detector is loaded)
    ("facetrack", "apps.batch"),  # the installed command, once apps.cli is imported
    ("facetrack", "onnxruntime.capi"),
])
def test_ctrl_c_while_starting_exits_130_without_a_traceback(tmp_path: Path, clip: Path, entry: str,
                                                            module: str) -> None:
    done = interrupt_when_imported(entry, module, str(clip), "-o", str(tmp_path / "out"), "--no-report")
    assert done.returncode == 130, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "Aborted" not in done.stderr


# ------------------------------------------------------------------------------ README facts


def drawn_line_width(long_side: int, detected: bool) -> int:
    """Pixels of a face box's left edge, counted across it on a frame of ``long_side`` x ``long_side * 9 / 16``."""
    import numpy as np

    from apps.drawing import draw_faces
    from tracker import TrackedFace

    height = long_side * 9 // 16
    frame = np.zeros((height, long_side, 3), np.uint8)
    box = np.array([long_side * 0.25, height * 0.25, long_side * 0.75, height * 0.75])
    draw_faces(frame, [TrackedFace(track_id=1, box=box, score=0.9, detected=detected, age_frames=1, hits=1)])
    across = frame[height // 2, : long_side // 2].max(axis=1)
    return int((across > 127).sum())


@pytest.mark.parametrize("long_side", [160, 320, 640, 960, 1280, 1920, 3840])
def test_detected_boxes_are_at_least_twice_as_thick_as_predicted_ones(long_side: int) -> None:
    predicted, detected = drawn_line_width(long_side, False), drawn_line_width(long_side, True)
    assert predicted >= 1 and detected >= 2 * predicted, (predicted, detected)


def test_mp4v_fallback_warning_keeps_its_prefix_from_worker_processes(tmp_path: Path) -> None:
    """PyAV unusable (an ``av`` that fails to import, for every process): each worker falls back to
    mp4v; the batch shows the fallback once, as the main process's own ``warning:`` line."""
    broken = tmp_path / "no-pyav" / "av"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise ImportError("PyAV hidden by the test")\n')
    clips = [make_clip(tmp_path / f"clip{n}.mp4", frames=6, seed=n) for n in (1, 2)]
    paths = os.pathsep.join([str(broken.parent), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "start.py", *map(str, clips), "--workers", "2", "--no-report",
                           "-o", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": paths, "COLUMNS": "300"}, timeout=SAFETY_SECONDS)
    assert done.returncode == 0, done.stderr
    mentions = [line for line in done.stderr.splitlines() if "H.264 output unavailable" in line]
    assert mentions == ["warning: H.264 output unavailable (PyAV is not installed (pip install av)); "
                        "writing mp4v with OpenCV, without audio"], done.stderr


def test_truncated_mp4_with_its_index_at_the_end_fails_as_the_readme_says(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    whole = make_clip(tmp_path / "whole.mp4", frames=30).read_bytes()
    assert whole.rfind(b"moov") > whole.find(b"mdat")  # the index (moov) comes after the frames
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) * 6 // 10])
    use_detector(monkeypatch, FixedBox())
    run = run_cli(cut, "--no-report", "-o", tmp_path / "out")
    assert run.code == 1
    assert run.line("failed:") == f"failed: {cut}: not a readable video (unknown format or damaged file)"


# ------------------------------------------------------------------------------ Ray and SIGTERM


def descendants(pid: int) -> list[str]:
    """Command lines of every process below ``pid`` (``ps``; Ray's workers are its raylet's children)."""
    table = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in table.splitlines() if len(line.split(None, 2)) == 3]
    found, frontier = [], {pid}
    while frontier:
        children = [row for row in rows if int(row[1]) in frontier]
        found += [row[2] for row in children]
        frontier = {int(row[0]) for row in children}
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="ps -eo and Ray's process titles")
def test_sigterm_during_a_ray_batch_exits_143_with_the_summary(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    import time

    clips = [make_clip(tmp_path / f"clip{n}.mp4", frames=400, seed=n, width=640, height=480) for n in (1, 2)]
    process = subprocess.Popen([sys.executable, "start.py", *map(str, clips), "--engine", "ray", "--ray-address",
                                "local", "--no-report", "-o", str(tmp_path / "out")], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "COLUMNS": "200"})
    deadline = time.monotonic() + SAFETY_SECONDS
    # Ray is up and the batch submitted once a worker runs a video (Ray titles it after the task).
    while not any("run_video_task" in line for line in descendants(process.pid)):
        assert process.poll() is None and time.monotonic() < deadline, "the batch never reached Ray"
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=SAFETY_SECONDS)
    assert process.returncode == 143, stderr
    assert "SIGTERM received" not in stderr and "Traceback" not in stderr
    assert "FaceTrack summary" in stdout and stdout.count("interrupted") + stdout.count("complete") == 2, stdout
