"""The threaded capture -> detect+track -> write pipeline (apps.pipeline) and one video through it
into its output folder (apps.video_job.track_source).

Detectors here are plain Python callables, so every expectation is exact: frames carry their own
index in two pixels, and the oracle detector returns the ground truth of benchmarks.synthetic.
"""
from __future__ import annotations

import itertools
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from cli_helpers import call_with_timeout

from apps.options import CropMode, TrackingOptions
from apps.pipeline import Finalised, FrameProcessor, Pipeline, ProcessedFrame
from apps.sources import VideoFileSource
from benchmarks.synthetic import ClipSpec, GroundTruthBox, synthetic_sprites, write_clip
from apps.video_job import VideoResult, track_source
from tracker import FaceTracker, TrackerConfig

WIDTH, HEIGHT = 160, 120
FACE_BOX = [40.0, 30.0, 90.0, 90.0, 0.9]
SAFETY_SECONDS = 30.0  # join timeout of the helper threads: a safety net against hangs only


# ----------------------------------------------------------------------------------------- helpers


def indexed_frame(index: int) -> np.ndarray:
    """A small frame that carries its own index in pixel (0, 0)."""
    frame = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
    frame[0, 0, 0], frame[0, 0, 1] = index % 256, index // 256
    return frame


def frame_index(frame: np.ndarray) -> int:
    return int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1])


class RecordingDetector:
    """Returns one fixed face and records the index of every frame it is called on."""

    def __init__(self, delay: float = 0.0, fail_at: int | None = None, error: BaseException | None = None) -> None:
        self.indices: list[int] = []
        self.delay = delay
        self.fail_at = fail_at
        self.error = error or RuntimeError("detector exploded")

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        index = frame_index(frame)
        self.indices.append(index)
        if self.delay:
            time.sleep(self.delay)
        if self.fail_at is not None and index >= self.fail_at:
            raise self.error
        return np.array([FACE_BOX], np.float32)


class CountingSource:
    """An iterable of indexed frames that counts how many were pulled (``limit`` None: endless)."""

    def __init__(self, limit: int | None, delay: float = 0.0, fail_at: int | None = None) -> None:
        self.limit = limit
        self.delay = delay
        self.fail_at = fail_at
        self.pulled = 0
        self.error = OSError("camera unplugged")

    def __iter__(self) -> Iterator[np.ndarray]:
        index = 0
        while self.limit is None or index < self.limit:
            if self.fail_at is not None and index == self.fail_at:
                raise self.error
            if self.delay:
                time.sleep(self.delay)
            self.pulled += 1
            yield indexed_frame(index)
            index += 1


def pipeline_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("facetrack-")]


def wait_no_pipeline_threads(timeout: float = 10.0) -> list[threading.Thread]:
    """The pipeline threads still alive after waiting up to ``timeout`` seconds (safety net)."""
    deadline = time.monotonic() + timeout
    while pipeline_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    return pipeline_threads()


def run_in_thread(function: Callable[[], Any], timeout: float = SAFETY_SECONDS) -> tuple[Any, BaseException | None]:
    """Run ``function`` in a helper thread; fail the test if it hangs. Returns (result, exception)."""
    return call_with_timeout(function, timeout)


def consume(
    pipeline: Pipeline, on_item: Callable[[ProcessedFrame | Finalised], None] | None = None
) -> tuple[list[ProcessedFrame | Finalised], BaseException | None]:
    """Iterate ``pipeline.results()`` on a helper thread; return the items and the exception raised."""
    items: list[ProcessedFrame | Finalised] = []

    def loop() -> None:
        for item in pipeline.results():
            items.append(item)
            if on_item is not None:
                on_item(item)

    _, error = run_in_thread(loop)
    return items, error


def frames_of(items: Iterable[object]) -> list[ProcessedFrame]:
    return [item for item in items if isinstance(item, ProcessedFrame)]


def make_pipeline(frames: Iterable[np.ndarray], detect: Callable, detect_every: int = 1, **kwargs: Any) -> Pipeline:
    return Pipeline(frames, FrameProcessor(detect, FaceTracker(fps=25.0), detect_every), **kwargs)


@pytest.fixture(autouse=True)
def no_leftover_pipeline_threads() -> Iterator[None]:
    yield
    assert wait_no_pipeline_threads() == [], "pipeline threads outlived the test"


# ------------------------------------------------------------------------------------------ pipeline


@pytest.mark.parametrize("detect_every", [1, 2, 3, 4, 5])
def test_file_mode_keeps_every_frame_in_order(detect_every: int) -> None:
    count = 23
    detector = RecordingDetector()
    pipeline = make_pipeline([indexed_frame(i) for i in range(count)], detector, detect_every)
    items, error = consume(pipeline)
    assert error is None
    processed = frames_of(items)
    assert [item.index for item in processed] == list(range(count))
    assert [frame_index(item.frame) for item in processed] == list(range(count))  # each frame with its index
    assert isinstance(items[-1], Finalised) and sum(isinstance(item, Finalised) for item in items) == 1
    assert detector.indices == list(range(0, count, detect_every))
    assert len(detector.indices) == math.ceil(count / detect_every)
    assert [item.detections for item in processed] == [1 if i % detect_every == 0 else None for i in range(count)]
    stats = pipeline.stats
    assert (stats.frames_read, stats.frames_written, stats.frames_dropped) == (count, count, 0)
    assert stats.detector_runs == math.ceil(count / detect_every)
    assert stats.faces_detected == math.ceil(count / detect_every)
    assert stats.errors == []
    # The fixed face is one track, finalised at the end of the video.
    assert [track.track_id for track in items[-1].finished] == [1]
    assert {face.track_id for item in processed[detect_every * 2:] for face in item.faces} == {1}


def test_empty_source_gives_only_the_finalised_item() -> None:
    detector = RecordingDetector()
    pipeline = make_pipeline([], detector)
    items, error = consume(pipeline)
    assert error is None
    assert len(items) == 1 and isinstance(items[0], Finalised) and items[0].finished == []
    assert detector.indices == [] and pipeline.stats.frames_read == 0


def test_detect_every_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FrameProcessor(RecordingDetector(), FaceTracker(), detect_every=0)


@pytest.mark.parametrize("queue_size", [2, 5])
def test_source_is_not_read_far_ahead_of_a_slow_consumer(queue_size: int) -> None:
    source = CountingSource(40)
    pipeline = make_pipeline(source, RecordingDetector(), queue_size=queue_size)
    leads: list[int] = []
    consumed = 0

    def slow_consumer(item: object) -> None:
        nonlocal consumed
        if isinstance(item, ProcessedFrame):
            consumed += 1
            leads.append(pipeline.stats.frames_read - consumed)
            leads.append(source.pulled - consumed)
            time.sleep(0.01)

    _, error = consume(pipeline, slow_consumer)
    assert error is None and consumed == 40
    # Two bounded queues plus one frame in the hands of each of the two stages.
    assert max(leads) <= 2 * queue_size + 2
    assert max(leads) >= queue_size  # the stages did run ahead of the consumer (the check is not vacuous)


def test_live_mode_drops_stale_frames() -> None:
    count = 150
    source = CountingSource(count, delay=0.002)
    detector = RecordingDetector(delay=0.02)
    pipeline = make_pipeline(source, detector, live=True)
    items, error = consume(pipeline)
    assert error is None
    indices = [item.index for item in frames_of(items)]
    stats = pipeline.stats
    assert stats.frames_read == count
    assert stats.frames_dropped > 0
    assert len(indices) + stats.frames_dropped == count  # every frame read is either processed or dropped
    assert indices == sorted(set(indices))  # strictly increasing: never an older frame after a newer one
    assert max(b - a for a, b in itertools.pairwise(indices)) > 1  # frames were skipped
    assert [frame_index(item.frame) for item in frames_of(items)] == indices
    assert isinstance(items[-1], Finalised)


@pytest.mark.parametrize("live", [False, True])
def test_detector_exception_propagates_and_threads_end(live: bool) -> None:
    error = ZeroDivisionError("bad model output")
    detector = RecordingDetector(fail_at=7, error=error)
    source = CountingSource(None if live else 500, delay=0.002 if live else 0.0)
    pipeline = make_pipeline(source, detector, live=live)
    items, raised = consume(pipeline)
    assert raised is error
    assert pipeline.stats.errors == [error]
    indices = [item.index for item in frames_of(items)]
    assert all(index < 7 for index in indices)
    if not live:
        assert indices == list(range(7))  # everything processed before the failure is delivered
    assert not any(isinstance(item, Finalised) for item in items)
    assert wait_no_pipeline_threads() == []
    if not live:
        assert source.pulled < 500  # the capture stopped reading after the failure


def test_source_exception_propagates_and_threads_end() -> None:
    source = CountingSource(None, fail_at=12)
    pipeline = make_pipeline(source, RecordingDetector())
    items, raised = consume(pipeline)
    assert raised is source.error
    indices = [item.index for item in frames_of(items)]
    assert indices == list(range(len(indices))) and len(indices) <= 12
    assert wait_no_pipeline_threads() == []


def test_consumer_exception_propagates_and_threads_end() -> None:
    source = CountingSource(None)  # endless: only the consumer's failure can end the run
    pipeline = make_pipeline(source, RecordingDetector())

    class WriterBroke(Exception):
        pass

    def failing_consumer(item: object) -> None:
        if isinstance(item, ProcessedFrame) and item.index == 5:
            raise WriterBroke("disk full")

    items, raised = consume(pipeline, failing_consumer)
    assert isinstance(raised, WriterBroke)
    assert [item.index for item in frames_of(items)] == list(range(6))
    assert wait_no_pipeline_threads() == []
    assert pipeline.stop.is_set()


def test_stop_event_mid_run_ends_promptly_with_a_finalised_item() -> None:
    stop = threading.Event()
    source = CountingSource(None)  # endless: without the stop the run would never end
    pipeline = make_pipeline(source, RecordingDetector(), stop=stop)

    def stop_at_ten(item: object) -> None:
        if isinstance(item, ProcessedFrame) and item.index == 10:
            stop.set()

    items, error = consume(pipeline, stop_at_ten)
    assert error is None
    indices = [item.index for item in frames_of(items)]
    assert indices == list(range(len(indices))) and len(indices) >= 11
    assert isinstance(items[-1], Finalised)
    assert [track.track_id for track in items[-1].finished] == [1]
    assert source.pulled <= 11 + 2 * 8 + 3  # it stopped reading the source
    assert wait_no_pipeline_threads() == []


def test_track_finishing_on_the_frame_being_processed_when_stop_arrives_is_still_reported() -> None:
    stop = threading.Event()

    def detector(frame: np.ndarray) -> np.ndarray:
        index = frame_index(frame)
        if index == 4:  # e.g. Ctrl-C arrives while the detector runs on frame 4
            stop.set()
        return np.array([FACE_BOX] if index < 4 else np.zeros((0, 5)), np.float32)

    # max_age 0: the face missed on frame 4 ends its track on frame 4.
    tracker = FaceTracker(TrackerConfig(max_age_seconds=0.0), fps=25.0)
    pipeline = Pipeline([indexed_frame(i) for i in range(20)], FrameProcessor(detector, tracker), stop=stop)
    items, error = consume(pipeline)
    assert error is None
    shown = {face.track_id for item in frames_of(items) for face in item.faces}
    assert shown == {1}
    finished = [track.track_id for item in items for track in item.finished]
    assert finished == [1]


# --------------------------------------------------------------------------------------- video job

CLIP_SPEC = ClipSpec(width=WIDTH, height=HEIGHT, fps=25.0, frames=40, faces=2, seed=5, min_size=28, max_size=40,
                     allow_exit=False, occluder=False, speed_range=(20.0, 40.0))
CLIP_FACES = 2
MOT_LINE = re.compile(r"^(\d+),(\d+),(-?\d+\.\d\d),(-?\d+\.\d\d),(\d+\.\d\d),(\d+\.\d\d),(\d\.\d{4}),-1,-1,-1$")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, list[GroundTruthBox]]]:
    path = tmp_path_factory.mktemp("clip") / "faces.mp4"
    truth = write_clip(path, CLIP_SPEC, synthetic_sprites(CLIP_FACES, 3))
    by_frame: dict[int, list[GroundTruthBox]] = {i: [] for i in range(CLIP_SPEC.frames)}
    for box in truth:
        by_frame[box.frame].append(box)
    return path, by_frame


class OracleDetector:
    """Ground-truth boxes of the frame it is called on (frames come in order, every ``every``-th)."""

    def __init__(self, truth: dict[int, list[GroundTruthBox]], every: int = 1, fail_at: int | None = None,
                 on_call: Callable[[int], None] | None = None, hide_after: dict[int, int] | None = None) -> None:
        self.truth = truth
        self.hide_after = hide_after or {}  # face id -> last frame on which it is detected
        self.every = every
        self.fail_at = fail_at
        self.on_call = on_call
        self.calls = 0
        self.boxes_returned = 0

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        assert frame.shape == (HEIGHT, WIDTH, 3)
        index = self.calls * self.every
        self.calls += 1
        if self.on_call is not None:
            self.on_call(index)
        if self.fail_at is not None and index >= self.fail_at:
            raise RuntimeError(f"detector exploded on frame {index}")
        rows = [[*box.box, 0.95] for box in self.truth.get(index, [])
                if not box.ignored and index <= self.hide_after.get(box.face_id, index)]
        self.boxes_returned += len(rows)
        return np.array(rows, np.float32).reshape(-1, 5)


def run_job(clip_path: Path, folder: Path, detect: Callable, options: TrackingOptions | None = None,
            **kwargs: Any) -> VideoResult:
    source = VideoFileSource(clip_path)
    try:
        result, error = run_in_thread(
            # the oracle detectors here stand for a full scan of every frame
            lambda: track_source(source, source.info, folder, detect, options or TrackingOptions(detect_every=1),
                                 **kwargs)
        )
    finally:
        source.close()
    assert error is None, f"track_source raised {error!r}"
    return result


def read_video(path: Path) -> tuple[int, int, int, float]:
    """(frames decoded, width, height, fps) of a video file."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"{path} is not readable"
    fps = capture.get(cv2.CAP_PROP_FPS)
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    frames = 0
    while True:
        ok, _ = capture.read()
        if not ok:
            break
        frames += 1
    capture.release()
    return frames, width, height, fps


def read_mot(path: Path) -> list[tuple[int, int, float, float, float, float, float]]:
    rows = []
    for line in path.read_text().splitlines():
        match = MOT_LINE.match(line)
        assert match, f"not a MOT line: {line!r}"
        frame, track, x, y, w, h, score = match.groups()
        rows.append((int(frame), int(track), float(x), float(y), float(w), float(h), float(score)))
    return rows


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_no_partial_files(folder: Path) -> None:
    leftovers = [p for p in folder.rglob("*") if ".partial" in p.name]
    assert leftovers == []


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


SUMMARY_KEYS = {"input", "output_dir", "status", "message", "frames", "duration_seconds", "input_fps",
                "processing_fps", "wall_seconds", "detector_runs", "faces_detected", "tracks", "crops_saved",
                "frames_dropped", "options"}


def test_track_source_writes_every_output(clip, tmp_path: Path) -> None:
    path, truth = clip
    count = CLIP_SPEC.frames
    folder = tmp_path / "out"
    detector = OracleDetector(truth)
    seen: list[int] = []
    result = run_job(path, folder, detector, on_frame=seen.append, extra_summary={"detector": "oracle"})

    assert result.status == "complete" and result.ok and result.message == ""
    assert seen == list(range(count))
    assert (result.frames, result.detector_runs, result.input_fps) == (count, count, 25.0)
    assert result.faces_detected == detector.boxes_returned > 0
    assert result.duration_seconds == pytest.approx(count / 25.0)

    # annotated.mp4: every input frame, same size and frame rate
    assert read_video(folder / "annotated.mp4") == (count, WIDTH, HEIGHT, pytest.approx(25.0, abs=0.01))

    # tracks.txt: MOT lines, frames 1..N, one line per (frame, id), boxes on the faces
    rows = read_mot(folder / "tracks.txt")
    assert rows, "no track lines"
    frames = [row[0] for row in rows]
    assert frames == sorted(frames) and 1 <= min(frames) and max(frames) == count
    assert len({(row[0], row[1]) for row in rows}) == len(rows)
    ids = {row[1] for row in rows}
    assert ids == set(range(1, CLIP_FACES + 1))
    for frame, _, x, y, w, h, score in rows:
        assert score == pytest.approx(0.95)
        best = max(iou((x, y, x + w, y + h), gt.box) for gt in truth[frame - 1])
        assert best > 0.5

    # tracks.jsonl: one object per frame, the same faces as tracks.txt
    records = read_jsonl(folder / "tracks.jsonl")
    assert [record["frame"] for record in records] == list(range(1, count + 1))
    assert [record["time"] for record in records] == [round(i / 25.0, 4) for i in range(count)]
    faces = [(r["frame"], face["id"]) for r in records for face in r["faces"]]
    assert faces == [(row[0], row[1]) for row in rows]
    for record in records:
        assert set(record) == {"frame", "time", "shot", "faces"} and record["shot"] == 0
        for face in record["faces"]:
            assert set(face) == {"id", "box", "score", "detected"}
            assert len(face["box"]) == 4 and face["detected"] is True

    # summary.json: the result, the options and the extra fields
    summary = json.loads((folder / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary) and summary["detector"] == "oracle"
    assert summary["status"] == "complete" and summary["frames"] == count and summary["tracks"] == len(ids)
    assert summary["options"]["detect_every"] == 1 and summary["options"]["crops"] == "best"

    # faces/<id>/best.jpg for every confirmed track, nothing else
    crops = sorted(p.relative_to(folder / "faces").as_posix() for p in (folder / "faces").rglob("*.jpg"))
    assert crops == sorted(f"{track_id}/best.jpg" for track_id in ids)
    for track_id in ids:
        assert cv2.imread(str(folder / "faces" / str(track_id) / "best.jpg")) is not None
    assert summary["crops_saved"] == result.crops_saved == len(ids)
    assert_no_partial_files(folder)


def test_track_ending_mid_video_gets_its_best_crop(clip, tmp_path: Path) -> None:
    path, truth = clip
    folder = tmp_path / "out"
    options = TrackingOptions(detect_every=1, tracker=TrackerConfig(max_age_seconds=0.2))  # forgotten 5 frames after its last detection
    result = run_job(path, folder, OracleDetector(truth, hide_after={2: 15}), options)
    assert result.ok and result.tracks == 2
    last_frame: dict[int, int] = {}
    for frame, track_id, *_ in read_mot(folder / "tracks.txt"):
        last_frame[track_id] = frame
    assert min(last_frame.values()) <= 16 + 3  # one track ended long before the end of the video
    assert max(last_frame.values()) == CLIP_SPEC.frames
    for track_id in last_frame:
        assert (folder / "faces" / str(track_id) / "best.jpg").is_file()


def test_detect_every_three_on_a_video_file(clip, tmp_path: Path) -> None:
    path, truth = clip
    count = CLIP_SPEC.frames
    detector = OracleDetector(truth, every=3)
    result = run_job(path, tmp_path / "out", detector, TrackingOptions(detect_every=3))
    assert result.status == "complete" and result.frames == count
    assert detector.calls == result.detector_runs == math.ceil(count / 3)
    records = read_jsonl(tmp_path / "out" / "tracks.jsonl")
    assert len(records) == count
    for record in records:
        for face in record["faces"]:
            assert face["detected"] is ((record["frame"] - 1) % 3 == 0)


def test_crops_all_writes_periodic_crops(clip, tmp_path: Path) -> None:
    path, truth = clip
    folder = tmp_path / "out"
    result = run_job(path, folder, OracleDetector(truth), TrackingOptions(detect_every=1, crops=CropMode.all, crop_every=10))
    assert result.ok
    ids = {row[1] for row in read_mot(folder / "tracks.txt")}
    total = 0
    for track_id in ids:
        names = sorted(p.name for p in (folder / "faces" / str(track_id)).glob("frame_*.jpg"))
        numbers = [int(name[len("frame_"):-len(".jpg")]) for name in names]
        assert len(numbers) >= 3, names  # a track visible for ~38 frames gets a crop every 10 frames
        assert all(b - a >= 10 for a, b in itertools.pairwise(numbers))
        assert all(re.fullmatch(r"frame_\d{6}\.jpg", name) for name in names)
        assert (folder / "faces" / str(track_id) / "best.jpg").is_file()
        total += len(numbers) + 1
    assert result.crops_saved == total
    assert_no_partial_files(folder)


def test_crops_none_writes_no_crops(clip, tmp_path: Path) -> None:
    path, truth = clip
    folder = tmp_path / "out"
    result = run_job(path, folder, OracleDetector(truth), TrackingOptions(detect_every=1, crops=CropMode.none))
    assert result.ok and result.tracks == CLIP_FACES
    assert list(folder.rglob("*.jpg")) == [] and result.crops_saved == 0
    assert (folder / "annotated.mp4").is_file() and (folder / "summary.json").is_file()


def test_no_video_option_skips_annotated_video(clip, tmp_path: Path) -> None:
    path, truth = clip
    folder = tmp_path / "out"
    result = run_job(path, folder, OracleDetector(truth), TrackingOptions(detect_every=1, write_video=False))
    assert result.ok
    assert not (folder / "annotated.mp4").exists()
    assert len(read_jsonl(folder / "tracks.jsonl")) == CLIP_SPEC.frames
    assert_no_partial_files(folder)


def test_detector_failure_mid_video_gives_failed_result_and_valid_outputs(clip, tmp_path: Path) -> None:
    path, truth = clip
    folder = tmp_path / "out"
    result = run_job(path, folder, OracleDetector(truth, fail_at=15))
    assert result.status == "failed" and not result.ok
    assert "RuntimeError" in result.message and "detector exploded on frame 15" in result.message
    assert result.frames == 15
    assert read_video(folder / "annotated.mp4")[:3] == (15, WIDTH, HEIGHT)
    assert [r["frame"] for r in read_jsonl(folder / "tracks.jsonl")] == list(range(1, 16))
    assert max(row[0] for row in read_mot(folder / "tracks.txt")) <= 15
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "failed" and "detector exploded" in summary["message"] and summary["frames"] == 15
    assert_no_partial_files(folder)
    assert wait_no_pipeline_threads() == []


def test_writer_failure_gives_failed_result_and_closed_outputs(clip, tmp_path: Path, monkeypatch) -> None:
    from apps.video_writers import H264VideoWriter
    from apps.writers import OutputWriteError

    original = H264VideoWriter.write

    def write(self: H264VideoWriter, frame: np.ndarray, timestamp: float) -> None:
        if self.frames == 8:
            raise OutputWriteError("cannot write annotated.mp4: No space left on device")
        original(self, frame, timestamp)

    monkeypatch.setattr(H264VideoWriter, "write", write)
    path, truth = clip
    folder = tmp_path / "out"
    result = run_job(path, folder, OracleDetector(truth))
    assert result.status == "failed" and "No space left on device" in result.message
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert read_video(folder / "annotated.mp4")[0] == 8
    assert_no_partial_files(folder)
    assert wait_no_pipeline_threads() == []


def test_stop_event_during_the_run_gives_interrupted_and_valid_outputs(clip, tmp_path: Path) -> None:
    path, truth = clip
    count = CLIP_SPEC.frames
    folder = tmp_path / "out"
    stop = threading.Event()

    def stop_at_ten(index: int) -> None:
        if index == 10:
            stop.set()

    result = run_job(path, folder, OracleDetector(truth), stop=stop, on_frame=stop_at_ten)
    assert result.status == "interrupted" and result.message
    assert 11 <= result.frames < count
    assert read_video(folder / "annotated.mp4")[:3] == (result.frames, WIDTH, HEIGHT)
    records = read_jsonl(folder / "tracks.jsonl")
    assert [r["frame"] for r in records] == list(range(1, result.frames + 1))
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["frames"] == result.frames
    ids = {row[1] for row in read_mot(folder / "tracks.txt")}
    assert ids and all((folder / "faces" / str(i) / "best.jpg").is_file() for i in ids)  # live tracks finalised
    assert_no_partial_files(folder)
