"""The README's batch claim and the report on the shared real clips, at default settings (skipped
without ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from chromium_helpers import find_chromium, render
from cli_helpers import run_cli
from test_report import Page, resolve

SHARED_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
#: The one-person clips whose single face must stay one track for the whole clip (asl-help: two).
ONE_PERSON = ["asl-school", "asl-thanks", "carphone-qcif", *(f"studio-{n}" for n in range(1, 6)),
              *(f"talking-d{n}" for n in (3, 6, 10, 11, 14, 19, 20))]


@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is not available")
def test_shared_clips_complete_without_false_cuts_one_person_stays_one_track_and_the_report_resolves(tmp_path: Path) -> None:
    run = run_cli(SHARED_MEDIA, "-o", tmp_path)
    assert run.code == 0, run.stderr
    summaries = {path.parent.name: json.loads(path.read_text()) for path in tmp_path.glob("*/summary.json")}
    assert len(summaries) == 17
    assert all(summary["status"] == "complete" for summary in summaries.values())
    assert all(summary["shots"] == [1] for summary in summaries.values())  # no clip has a cut
    assert {name: summaries[name]["tracks"] for name in ONE_PERSON} == dict.fromkeys(ONE_PERSON, 1)

    page = Page((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert not [link for _, link in page.links if not resolve(link, tmp_path, page)]
    assert {link.split("/")[0] for tag, link in page.links if tag == "video"} == set(summaries)
    thumbs = [link for tag, link in page.links if tag == "img"]
    assert len(thumbs) == len(list(tmp_path.glob("*/faces/*/best.jpg"))) >= 17
    chromium = find_chromium()
    if chromium is not None:  # the render itself is tested in test_report; here: the real batch's page
        shown = render(chromium, (tmp_path / "index.html").as_uri())
        screenshot = cv2.imdecode(np.frombuffer(shown.png, np.uint8), cv2.IMREAD_GRAYSCALE)
        assert shown.errors == [] and screenshot.std() > 10
