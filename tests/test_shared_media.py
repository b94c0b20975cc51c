"""The README's batch claim on the shared real clips, at default settings (skipped without ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import run_cli

SHARED_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
#: The one-person clips whose single face must stay one track for the whole clip (asl-help: two).
ONE_PERSON = ["asl-school", "asl-thanks", "carphone-qcif", *(f"studio-{n}" for n in range(1, 6)),
              *(f"talking-d{n}" for n in (3, 6, 10, 11, 14, 19, 20))]


@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is not available")
def test_every_shared_clip_completes_without_false_cuts_and_one_person_stays_one_track(tmp_path: Path) -> None:
    run = run_cli(SHARED_MEDIA, "-o", tmp_path, "--no-report", "--no-video")
    assert run.code == 0, run.stderr
    summaries = {path.parent.name: json.loads(path.read_text()) for path in tmp_path.glob("*/summary.json")}
    assert len(summaries) == 17
    assert all(summary["status"] == "complete" for summary in summaries.values())
    assert all(summary["shots"] == [1] for summary in summaries.values())  # no clip has a cut
    assert {name: summaries[name]["tracks"] for name in ONE_PERSON} == dict.fromkeys(ONE_PERSON, 1)
