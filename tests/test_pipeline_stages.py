"""benchmarks/pipeline_stages.py: every stage is timed on a real run, nested stages fit inside their
outer stage, and the timed methods are the original ones again afterwards."""
from __future__ import annotations

from pathlib import Path

from apps.options import TrackingOptions
from benchmarks.pipeline_stages import STAGES, format_table, stage_costs
from benchmarks.synthetic import ClipSpec, synthetic_sprites, write_clip


def test_stage_costs_of_a_run_with_scans_and_follow_windows(tmp_path: Path) -> None:
    spec = ClipSpec(width=320, height=240, frames=30, faces=2, seed=4, min_size=50, max_size=70, occluder=False)
    write_clip(tmp_path / "clip.mp4", spec, synthetic_sprites(2, 1))
    originals = [getattr(owner, name) for _, owner, name in STAGES]
    frames, process_ms, stages = stage_costs(tmp_path / "clip.mp4", tmp_path / "out", TrackingOptions(detect_every=5))
    assert frames == 30 and [getattr(owner, name) for _, owner, name in STAGES] == originals
    assert list(stages) == [label for label, _, _ in STAGES] and all(value > 0 for value in stages.values())
    assert stages["    network"] <= stages["  windows' detection"] <= stages["follow"]
    inside = ("full scans", "follow", "tracker update after a scan", "shot cuts")
    assert sum(stages[label] for label in inside) <= stages["detect+track stage (all of the above)"] <= process_ms
    assert stages["  H.264 writer"] <= stages["writing a frame"]
    assert "| whole process (all threads) |" in format_table(frames, process_ms, stages)
