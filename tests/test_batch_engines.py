"""A batch in several local processes (--workers) and on Ray (--engine ray): same outputs as one
process, failures reported per video, stop honoured. Uses the shipped FaceBoxes model and clips cut
from the project's demo video (real faces, so the track files are not empty)."""
from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import cv2
import pytest
from cli_helpers import run_cli

import apps.parallel as parallel
from apps.detector_spec import DetectorSpec, prepare_for_tracking
from apps.discovery import VideoInput
from apps.options import TrackingOptions
from apps.parallel import BatchJob, default_workers, process_batch_in_processes
from tracker import TrackerConfig

DEMO = Path(__file__).resolve().parents[1] / "media" / "demo.mp4"
TRACK_FILES = ("tracks.txt", "tracks.jsonl")


def cut(source: Path, target: Path, start: int, count: int) -> Path:
    """Frames ``start`` .. ``start + count - 1`` of ``source`` as a new mp4."""
    capture = cv2.VideoCapture(str(source))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    target.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    for _ in range(count):
        ok, frame = capture.read()
        assert ok
        if writer is None:
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (frame.shape[1], frame.shape[0]))
        writer.write(frame)
    writer.release()
    capture.release()
    return target


@pytest.fixture(scope="module")
def batch_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three short clips with faces and one damaged file."""
    folder = tmp_path_factory.mktemp("batch")
    cut(DEMO, folder / "a.mp4", 0, 30)
    cut(DEMO, folder / "b.mp4", 90, 25)
    cut(DEMO, folder / "c.mp4", 150, 20)
    (folder / "d.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    return folder


@pytest.fixture(scope="module")
def one_process(batch_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference outputs: the batch with --workers 1."""
    out = tmp_path_factory.mktemp("workers1")
    run = run_cli(batch_folder, "-o", out, "--workers", "1", "--no-video")
    assert run.code == 1  # d.mp4 is damaged
    return out


def track_files(out: Path) -> dict[str, bytes]:
    return {f"{clip}/{name}": (out / clip / name).read_bytes() for clip in "abc" for name in TRACK_FILES}


def assert_same_outputs(out: Path, reference: Path) -> None:
    files = track_files(out)
    assert files == track_files(reference)
    assert all(files[f"{clip}/tracks.txt"] for clip in "abc")  # faces were tracked: not trivially equal
    for clip in "abc":
        summary = json.loads((out / clip / "summary.json").read_text())
        assert summary["status"] == "complete" and summary["output_dir"] == str(out / clip)
    assert not [path for path in out.rglob("*") if ".partial" in path.name]


def test_two_workers_give_the_same_track_files_and_report_the_damaged_video(
    batch_folder: Path, one_process: Path, tmp_path: Path
) -> None:
    run = run_cli(batch_folder, "-o", tmp_path, "--workers", "2", "--no-video")
    assert run.code == 1
    assert run.line("d.mp4").startswith(f"failed: {batch_folder / 'd.mp4'}: ")
    assert_same_outputs(tmp_path, one_process)
    rows = {line.split()[0] for line in run.stdout.splitlines() if line.strip()}
    assert {"a", "b", "c", "d"} <= rows, run.stdout  # the summary table lists the inputs by their output names


@pytest.mark.parametrize(("cores", "videos", "expected"), [(2, 8, 2), (2, 1, 1), (8, 8, 4), (8, 2, 2), (1, 5, 1), (None, 3, 1)])
def test_default_workers(monkeypatch: pytest.MonkeyPatch, cores: int | None, videos: int, expected: int) -> None:
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: cores)
    assert default_workers(videos) == expected  # the function itself: conftest replaces only the module attribute


def test_stop_before_the_start_processes_nothing(batch_folder: Path, tmp_path: Path) -> None:
    from rich.console import Console

    stop = threading.Event()
    stop.set()
    detector = DetectorSpec().load()
    high, low = prepare_for_tracking(detector)
    job = BatchJob(tmp_path, TrackingOptions(write_video=False, tracker=TrackerConfig(high_score=high, low_score=low)),
                   DetectorSpec(), {})
    videos = [VideoInput(batch_folder / f"{name}.mp4", Path(name)) for name in "abc"]
    results = process_batch_in_processes(videos, job, 2, stop, Console(quiet=True))
    assert all(result.status == "interrupted" for result in results)  # at most the ones already started
    assert not [path for path in tmp_path.rglob("*") if ".partial" in path.name]


# ---------------------------------------------------------------------------------------------- Ray


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, configure_logging=False)  # never a cluster other tests started
    yield ray
    ray.shutdown()


def test_ray_engine_gives_the_same_outputs_and_retries_a_failed_video_once(
    local_ray, batch_folder: Path, one_process: Path, tmp_path: Path
) -> None:
    run = run_cli(batch_folder, "-o", tmp_path, "--engine", "ray", "--no-video")
    assert run.code == 1
    assert run.line("d.mp4").endswith("(after a retry)")
    assert_same_outputs(tmp_path, one_process)


def test_ray_engine_without_ray_installed_says_how_to_install(
    batch_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    run = run_cli(batch_folder / "a.mp4", "-o", tmp_path, "--engine", "ray")
    assert run.code == 2 and "pip install 'facetrack[distributed]'" in run.stderr


def test_a_worker_that_dies_fails_only_its_video_with_the_reason(tmp_path: Path) -> None:
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    video = VideoInput(tmp_path / "a.mp4", Path("a"))
    died: Future = Future()
    died.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
    result = parallel._outcome(died, video, tmp_path / "out")
    assert (result.status, result.output_dir) == ("failed", str(tmp_path / "out" / "a"))
    assert "worker process died" in result.message
    crashed: Future = Future()
    crashed.set_exception(RuntimeError("session exploded"))
    assert parallel._outcome(crashed, video, tmp_path).message == "worker error: RuntimeError: session exploded"


def test_ray_engine_without_an_address_starts_its_own_instance(tmp_path: Path) -> None:
    """Never a cluster that /tmp/ray/ray_current_cluster names (a stopped `ray start` head leaves it
    behind, and ray.init() would then retry that address for minutes)."""
    pytest.importorskip("ray")
    import subprocess

    clip = tmp_path / "clip.mp4"
    cut(DEMO, clip, 0, 20)
    done = subprocess.run([sys.executable, "start.py", str(clip), "-o", str(tmp_path / "out"), "--engine", "ray",
                           "--no-video", "--no-report"], cwd=DEMO.parents[1], capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out" / "clip" / "summary.json").read_text())["status"] == "complete"
