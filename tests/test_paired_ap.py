"""benchmarks/paired_ap.py: a paired bootstrap that finds no difference between equal detections, sees a
found face, and runs each checkout's detectors in its own process."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import paired_ap  # noqa: E402
from detectors.datasets import read_face_folder  # noqa: E402
from tests.label_layouts import FACES, write_voc  # noqa: E402


def _labelled(tmp_path: Path) -> list:
    return read_face_folder(write_voc(tmp_path / "voc"))


def _perfect(samples: list) -> list[np.ndarray]:
    """Every labelled face found once, at descending scores."""
    return [np.column_stack([sample.boxes, np.linspace(0.9, 0.5, len(sample.boxes))]).astype(np.float32)
            if len(sample.boxes) else np.zeros((0, 5), np.float32) for sample in samples]


def test_equal_detections_differ_by_nothing_in_every_draw(tmp_path: Path) -> None:
    samples = _labelled(tmp_path)
    found = _perfect(samples)
    for bucket, (before, after, difference, low, high) in paired_ap.paired_bootstrap(samples, found, found, 50).items():
        if np.isfinite(before):
            assert before == after and difference == low == high == 0.0, bucket


def test_a_face_only_the_candidate_finds_is_a_gain_the_interval_does_not_hide(tmp_path: Path) -> None:
    samples = _labelled(tmp_path)
    candidate = _perfect(samples)
    baseline = [faces.copy() for faces in candidate]
    image = next(index for index, sample in enumerate(samples) if sample.stem == "cam1_0001")
    baseline[image] = baseline[image][1:]  # the 80 px face of cam1_0001 missed
    results = paired_ap.paired_bootstrap(samples, baseline, candidate, 200)
    before, after, difference, low, high = results[">=64"]
    assert after == 1.0 and before < 1.0 and difference > 0
    assert low >= 0.0 and high > 0.0  # never below the baseline; above it in the draws that hold that image
    assert "| >=64 |" in paired_ap.table("fake", results)


def test_the_command_compares_two_checkouts_each_in_its_own_process(tmp_path: Path, capsys) -> None:
    data = write_voc(tmp_path / "voc")
    assert paired_ap.main([str(ROOT), str(ROOT), str(data), "--detectors", "faceboxes", "--resamples", "20"]) == 0
    out = capsys.readouterr().out
    assert f"{len(FACES)} images of {data}" in out
    rows = [line for line in out.splitlines() if line.startswith("| >=") or line.startswith("| 32") or line.startswith("| 16")]
    assert rows and all("| +0.0000 | [+0.0000, +0.0000] |" in row for row in rows if "nan" not in row)
    assert paired_ap.main([str(tmp_path), str(ROOT), str(data)]) == 2


def test_the_detection_step_refuses_to_run_without_its_score_floor(tmp_path: Path, capsys) -> None:
    data = write_voc(tmp_path / "voc")
    with pytest.raises(SystemExit) as exit_:
        paired_ap.main([str(ROOT), str(ROOT), str(data), "--detect-only", "--detectors", "faceboxes"])
    assert exit_.value.code == 2
    assert "--score-floor" in capsys.readouterr().err
