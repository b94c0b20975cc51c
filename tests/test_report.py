"""OUTPUT/index.html (apps/report.py): written after a batch and a live run, every link resolves,
names from files are escaped, problems are shown or warned about, and the page renders in
headless Chromium without console errors.

The batch is a real CLI run over tiny synthetic clips with awkward names (a stand-in detector that
misses a face now and then, so tracks have predicted stretches) plus a file that is not a video.
"""
from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np
import pytest
from chromium_helpers import find_chromium, render
from cli_helpers import CliRun, FixedBox, run_cli, use_detector

import apps.report
from apps.report import Sighting, _stretches, write_report
from benchmarks.synthetic import ClipSpec, synthetic_sprites, write_clip

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["a clip", "ünïcødé 顔", "<script>alert('x')&"]
CLIP = ClipSpec(width=160, height=120, fps=25.0, frames=20, faces=1, seed=3, min_size=30, max_size=44,
                allow_exit=False, occluder=False)


class FlickeringBox(FixedBox):
    """The fixed face, missed on every fourth frame (the track is predicted there)."""

    def detect(self, frame: np.ndarray) -> np.ndarray:
        boxes = super().detect(frame)
        return boxes[:0] if self.calls % 4 == 0 else boxes


class Page(HTMLParser):
    """The links, element ids and text of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.texts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(str(attributes["id"]))
        self.links += [(tag, str(attributes[name])) for name in ("href", "src") if attributes.get(name)]

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)


class Batch(NamedTuple):
    run: CliRun
    output: Path
    html: str
    page: Page


def write_clip_at(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_clip(path, CLIP, synthetic_sprites(1, CLIP.seed))
    return path


def run_with_detector(*args: object) -> CliRun:
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_detector(monkeypatch, FlickeringBox())
        return run_cli(*args)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    folder = tmp_path_factory.mktemp("report")
    for name in NAMES:
        write_clip_at(folder / "in" / f"{name}.mp4")
    (folder / "in" / "broken.mp4").write_bytes(b"not a video at all")
    run = run_with_detector(folder / "in", "-o", folder / "out")
    html = (folder / "out" / "index.html").read_text(encoding="utf-8")
    return Batch(run, folder / "out", html, Page(html))


def resolve(link: str, root: Path, page: Page) -> bool:
    """True when a link of the page points at an existing element id or file below ``root``."""
    if link.startswith("#"):
        return link[1:] in page.ids
    parts = urlsplit(link)
    assert not parts.scheme and not parts.netloc and not link.startswith("/"), f"not relative: {link}"
    return (root / unquote(parts.path)).is_file()


def test_batch_writes_the_report_and_keeps_its_exit_code(batch: Batch) -> None:
    assert batch.run.code == 1  # broken.mp4 failed: the report does not change that
    assert f"report: {batch.output / 'index.html'}" in batch.run.stdout.splitlines()
    assert all((batch.output / name / "summary.json").is_file() for name in NAMES)
    assert all(name in batch.page.text for name in [*NAMES, "broken"])
    assert 'id="people"' not in batch.html  # no people.json: no People section


def test_every_link_of_the_page_resolves(batch: Batch) -> None:
    unresolved = [link for _, link in batch.page.links if not resolve(link, batch.output, batch.page)]
    assert batch.page.links and not unresolved


def test_every_video_and_face_is_on_the_page(batch: Batch) -> None:
    videos = {unquote(link) for tag, link in batch.page.links if tag == "video"}
    assert videos == {f"{name}/annotated.mp4" for name in NAMES}
    thumbs = {link for tag, link in batch.page.links if tag == "img"}
    crops = list(batch.output.glob("*/faces/*/best.jpg"))
    assert len(crops) >= len(NAMES) and len(thumbs) == len(crops)
    for thumb in thumbs:
        height, width = cv2.imread(str(batch.output / thumb)).shape[:2]
        assert max(height, width) <= apps.report.THUMB_SIDE
    for name in NAMES:
        for file in ("tracks.txt", "tracks.jsonl", "summary.json"):
            assert ("a", f"{name}/{file}") in {(tag, unquote(link)) for tag, link in batch.page.links}


def test_names_from_files_are_shown_escaped(batch: Batch) -> None:
    assert "<script>alert" not in batch.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&amp;" in batch.html
    assert "<script>alert('x')&" in batch.page.text  # what the reader sees
    assert "ünïcødé 顔" in batch.page.text


def test_failed_video_shows_its_message(batch: Batch) -> None:
    section = batch.html.split(">broken <span", 1)[1].split("</section>", 1)[0]
    assert 'class="status failed"' in section
    assert "not a readable video" in section


def test_timeline_tells_detected_and_predicted_apart(batch: Batch) -> None:
    assert '<path class="d" d="M' in batch.html and '<path class="p" d="M' in batch.html


def test_stretches_follow_the_detected_flag_and_the_detector_schedule() -> None:
    flags = [True, True, False, False, True]
    track = [Sighting(frame, frame * 0.5, detected) for frame, detected in enumerate(flags, start=1)]
    assert _stretches(track, 0.5, 1) == [(0.5, 1.5, True), (1.5, 2.5, False), (2.5, 3.0, True)]
    # every other frame detected by schedule (detect_every 2): one detected stretch, then a lost frame
    assert _stretches(track, 0.5, 2) == [(0.5, 2.0, True), (2.0, 2.5, False), (2.5, 3.0, True)]
    gap = [Sighting(1, 0.0, True), Sighting(5, 2.0, True)]  # not seen in between: two stretches
    assert _stretches(gap, 0.5, 1) == [(0.0, 0.5, True), (2.0, 2.5, True)]


def test_no_report_writes_none(tmp_path: Path) -> None:
    run = run_with_detector(write_clip_at(tmp_path / "in" / "clip.mp4"), "--no-report", "-o", tmp_path / "out")
    assert run.code == 0 and "report:" not in run.stdout
    assert (tmp_path / "out" / "clip" / "summary.json").is_file()
    assert not (tmp_path / "out" / "index.html").exists() and not (tmp_path / "out" / ".report").exists()


def test_live_run_writes_the_report(tmp_path: Path) -> None:
    clip = write_clip_at(tmp_path / "clip.mp4")
    run = run_with_detector("--stream", clip, "--every-frame", "--no-display", "-o", tmp_path / "out")
    assert run.code == 0, run.stderr
    (folder,) = [path for path in (tmp_path / "out").iterdir() if path.name.startswith("stream-")]
    page = Page((tmp_path / "out" / "index.html").read_text(encoding="utf-8"))
    assert folder.name in page.text and ("video", f"{folder.name}/annotated.mp4") in page.links


def test_corrupt_summary_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "out" / "old").mkdir(parents=True)
    (tmp_path / "out" / "old" / "summary.json").write_text('{"status": "compl')
    run = run_with_detector(write_clip_at(tmp_path / "in" / "clip.mp4"), "-o", tmp_path / "out")
    assert run.code == 0
    run.line("warning: report: old: cannot read its outputs")
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert 'class="status unreadable"' in html and ">clip</a>" in html


def test_report_that_fails_is_one_warning_and_keeps_the_results(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(root: Path, results: object) -> Path:
        raise OSError("disk on fire")

    monkeypatch.setattr(apps.report, "write_report", broken)
    run = run_with_detector(write_clip_at(tmp_path / "in" / "clip.mp4"), "-o", tmp_path / "out")
    assert run.code == 0
    assert run.line("report") == "warning: no report: disk on fire"
    assert json.loads((tmp_path / "out" / "clip" / "summary.json").read_text())["status"] == "complete"


def test_people_section_links_each_track_to_its_video(batch: Batch, tmp_path: Path) -> None:
    output = tmp_path / "out"
    shutil.copytree(batch.output, output)
    tracks = [{"video": name, "id": 1, "frames": 15, "best_crop": f"{name}/faces/1/best.jpg"} for name in NAMES]
    people = {"people": [{"person": "Ada <b>", "known": True, "tracks": tracks[:2]},
                         {"person": "unknown-1", "known": False,
                          "tracks": [*tracks[2:], {"video": "gone", "id": 4, "frames": 3, "best_crop": "../x.jpg"}]}]}
    (output / "people.json").write_text(json.dumps(people), encoding="utf-8")
    html = write_report(output).read_text(encoding="utf-8")
    page = Page(html)
    people_part = html.split('id="people"', 1)[1].split("</section>", 1)[0]
    assert "Ada &lt;b&gt;" in people_part and "unknown-1" in people_part
    assert people_part.count("<img") == len(NAMES)  # the crop outside OUTPUT gets none
    assert people_part.count('href="#v-') == len(NAMES)  # "gone" is not a video of this folder
    assert all(resolve(link, output, page) for _, link in page.links)


@pytest.fixture(scope="module")
def chromium() -> Iterator[str]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("chromium not found (Debian: apt-get install chromium; .ci/run installs it when apt works)")
    yield executable


def test_page_renders_in_headless_chromium_without_console_errors(batch: Batch, chromium: str) -> None:
    shown = render(chromium, (batch.output / "index.html").as_uri())
    assert shown.errors == []
    screenshot = cv2.imdecode(np.frombuffer(shown.png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert screenshot.shape == (900, 1280)
    assert screenshot.std() > 10, "blank screenshot"
    assert (screenshot < 128).mean() > 0.01  # text, bars and the video's first frame


def test_report_size_benchmark_runs() -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.report_size import measure

    row = measure(videos=3, frames=20, tracks=2, chromium=False)
    assert row["videos"] == 3 and row["tracks"] == 6 and 0 < row["html_kb"] < 50
