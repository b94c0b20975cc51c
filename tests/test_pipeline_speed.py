"""benchmarks/pipeline_speed.py: its pipeline rows run start.py's pipeline with the tracker scores start.py
gives the model, and report every frame of the video."""
from __future__ import annotations

from pathlib import Path

import pytest

import benchmarks.pipeline_speed as pipeline_speed
from apps.detector_spec import prepare_for_tracking
from apps.options import TrackingOptions
from benchmarks.synthetic import ClipSpec, synthetic_sprites, write_clip
from detectors import load_detector


def test_pipeline_rows_track_with_the_scores_start_py_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = ClipSpec(width=320, height=240, frames=20, faces=2, seed=4, min_size=50, max_size=70, occluder=False)
    write_clip(tmp_path / "clip.mp4", spec, synthetic_sprites(2, 1))
    seen: list[TrackingOptions] = []
    real_track_source = pipeline_speed.track_source

    def recording_track_source(source, info, output, detect, options, stop):  # noqa: ANN001, ANN202
        seen.append(options)
        return real_track_source(source, info, output, detect, options, stop=stop)

    monkeypatch.setattr(pipeline_speed, "track_source", recording_track_source)
    frames, fps, _ = pipeline_speed.pipeline_fps(tmp_path / "clip.mp4", tmp_path / "out", "faceboxes",
                                                 TrackingOptions(detect_every=5), threads=1, max_side=1024)
    high, low = prepare_for_tracking(load_detector("faceboxes"))
    assert frames == 20 and fps > 0
    assert (seen[0].tracker.high_score, seen[0].tracker.low_score) == (high, low) != (0.5, 0.1)  # not the bare defaults
    assert seen[0].detect_every == 5


def test_pipeline_runs_list_the_defaults_first_then_each_schedule() -> None:
    args = pipeline_speed.argparse.Namespace(detector="faceboxes", detect_every=[1, 3], follow_every=[10])
    runs = pipeline_speed.pipeline_runs(args, pipeline_speed.VideoSettings())
    assert [name for name, _, _ in runs][0].startswith("pipeline defaults")
    assert [(options.detect_every, options.follow) for _, _, options in runs] == [
        (TrackingOptions().detect_every, True), (1, False), (3, False), (10, True)]
