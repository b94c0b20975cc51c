"""``OUTPUT/index.html``: one static page over every video of an output folder.

The page is built from the files each video leaves in ``OUTPUT/<name>/`` (``summary.json``,
``tracks.jsonl``, ``faces/<id>/best.jpg``, ``annotated.mp4``) and, when present, the batch's
``OUTPUT/people.json``. It works from ``file://`` with no network: the CSS and the timelines (SVG)
are inline, the thumbnails are small JPEGs in ``OUTPUT/.report/thumbs/`` and every link is
relative, so the folder can be zipped or served as it is. Jinja2 renders it with autoescape on,
so names that come from file names are always shown as text.

Big batches stay usable: thumbnails instead of full crops (written once, reused while the crop
is unchanged), lazily loaded images, and video players that load nothing until played when
there are many of them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import cv2
import numpy as np
from jinja2 import Environment, PackageLoader

from apps.writers import write_bytes_atomic

if TYPE_CHECKING:
    from apps.video_job import VideoResult

log = logging.getLogger("facetrack")

REPORT_NAME = "index.html"
#: Folder of the report's own files (thumbnails), next to ``index.html``.
ASSETS_DIR = ".report"
THUMB_SIDE = 72
THUMB_QUALITY = 80
#: Width of a timeline in SVG units: a gutter for the track ids, then the bars.
TIMELINE_GUTTER = 30.0
TIMELINE_WIDTH = 600.0
#: Up to this many videos the players load their first frame; beyond, nothing until played.
PRELOAD_LIMIT = 12
STATUSES = ("complete", "interrupted", "incomplete", "failed", "skipped", "unreadable")
TRACK_FILES = ("tracks.txt", "tracks.jsonl", "summary.json")


@dataclass
class TrackRow:
    """One track of a video: its times, its thumbnail and its timeline bars (SVG path data of its
    detected and of its predicted stretches, drawn as strokes on ``y = 5``)."""

    track_id: int
    first: float
    last: float
    frames: int
    thumb: str | None
    detected: str
    predicted: str


@dataclass
class VideoSection:
    """Everything the page shows about one video."""

    name: str
    anchor: str
    input: str
    status: str
    message: str = ""
    frames: int = 0
    duration: float = 0.0
    processing_fps: float = 0.0
    tracks: list[TrackRow] = field(default_factory=list)
    track_count: int = 0
    video: str | None = None
    files: list[tuple[str, str]] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)

    @property
    def status_class(self) -> str:
        """CSS class of the status (unknown statuses share one)."""
        return self.status if self.status in STATUSES else "other"


@dataclass(frozen=True)
class PersonCrop:
    """One track of a person: where it is and its thumbnail."""

    video: str
    anchor: str | None
    track_id: int
    frames: int
    thumb: str | None


@dataclass(frozen=True)
class PersonRow:
    """One person of ``people.json`` with the crops of their tracks."""

    name: str
    known: bool
    crops: list[PersonCrop]


@dataclass(frozen=True)
class Sighting:
    """A track in one frame of ``tracks.jsonl``."""

    frame: int
    time: float
    detected: bool


def write_report(root: Path, results: Iterable[VideoResult] = ()) -> Path:
    """Write ``root/index.html`` over every video folder below ``root`` and return its path.

    ``results`` are this run's outcomes: those without a ``summary.json`` on disk (an input that
    could not be opened, a missing path) are shown from the result itself. A video whose files
    cannot be read is shown as ``unreadable`` with a warning; errors writing the page are raised.
    """
    sections = {section.name: section for section in _sections_on_disk(root)}
    for result in results:
        section = _section_of_result(root, result)
        sections.setdefault(section.name, section)
    videos = sorted(sections.values(), key=lambda section: section.name)
    page = _environment().get_template("report.html.j2").render(
        videos=videos,
        people=_people(root, {video.name: video.anchor for video in videos}),
        counts=Counter(video.status for video in videos),
        track_total=sum(video.track_count for video in videos),
        preload="metadata" if len(videos) <= PRELOAD_LIMIT else "none",
        written=time.strftime("%Y-%m-%d %H:%M"),
        timeline=(TIMELINE_GUTTER, TIMELINE_WIDTH),
    )
    path = root / REPORT_NAME
    write_bytes_atomic(path, page.encode("utf-8"))
    return path


@lru_cache(maxsize=1)
def _environment() -> Environment:
    environment = Environment(loader=PackageLoader("apps", "templates"), autoescape=True, trim_blocks=True,
                              lstrip_blocks=True)
    environment.filters["clock"] = clock
    environment.filters["counted"] = counted
    return environment


def counted(number: int, noun: str) -> str:
    """``1 track``, ``3 tracks``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def clock(seconds: float) -> str:
    """``m:ss.s`` (or ``h:mm:ss.s``) for a time in seconds."""
    minutes, rest = divmod(max(seconds, 0.0), 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:04.1f}" if hours else f"{minutes}:{rest:04.1f}"


def href(path: Path, root: Path) -> str:
    """The relative, URL-quoted link from ``root/index.html`` to ``path``."""
    return quote(path.relative_to(root).as_posix())


def _anchor(name: str) -> str:
    """A stable HTML id for a video, whatever characters its name has."""
    return "v-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:12]


# ------------------------------------------------------------------------------------ videos


def _video_folders(root: Path) -> Iterator[Path]:
    """Folders below ``root`` holding a ``summary.json`` (not looking inside them or hidden folders)."""
    for folder, subfolders, files in os.walk(root):
        if "summary.json" in files:
            subfolders.clear()
            yield Path(folder)
        else:
            subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))


def _sections_on_disk(root: Path) -> Iterator[VideoSection]:
    for folder in _video_folders(root):
        name = folder.relative_to(root).as_posix()
        try:
            yield _section_of_folder(root, folder, name)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            log.warning(f"report: {name}: cannot read its outputs ({error})")
            yield VideoSection(name=name, anchor=_anchor(name), input=name, status="unreadable",
                               message=f"cannot read the outputs of this video: {error}")


def _section_of_folder(root: Path, folder: Path, name: str) -> VideoSection:
    """The section of one video folder (raises for unreadable or malformed files)."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    section = _section_of_summary(summary, name)
    fps = float(summary.get("input_fps") or 0.0)
    sightings = _read_sightings(folder / "tracks.jsonl")
    frame_time = 1.0 / fps if fps > 0 else 0.0
    last_end = max((track[-1].time + frame_time for track in sightings.values()), default=0.0)
    section.duration = max(section.duration, last_end)
    options = summary.get("options") or {}
    # with follow windows a face is looked for on every frame, so "detected" is exact per frame
    detect_every = 1 if options.get("follow") else int(options.get("detect_every") or 1)
    section.tracks = [
        _track_row(track_id, track, frame_time, detect_every, section.duration,
                   _thumbnail(folder / "faces" / str(track_id) / "best.jpg", root))
        for track_id, track in sorted(sightings.items())
    ]
    section.track_count = max(section.track_count, len(section.tracks))
    section.ticks = _ticks(section.duration)
    if (folder / "annotated.mp4").is_file():
        section.video = href(folder / "annotated.mp4", root)
    section.files = [(file, href(folder / file, root)) for file in TRACK_FILES if (folder / file).is_file()]
    return section


def _section_of_summary(summary: dict[str, Any], name: str) -> VideoSection:
    """Name, status and numbers of a ``summary.json`` (or a result of this run)."""
    return VideoSection(
        name=name,
        anchor=_anchor(name),
        input=str(summary.get("input") or name),
        status=str(summary.get("status") or "unknown"),
        message=str(summary.get("message") or ""),
        frames=int(summary.get("frames") or 0),
        duration=float(summary.get("duration_seconds") or 0.0),
        processing_fps=float(summary.get("processing_fps") or 0.0),
        track_count=int(summary.get("tracks") or 0),
    )


def _section_of_result(root: Path, result: VideoResult) -> VideoSection:
    """A result of this run, named like its output folder when it has one below ``root``."""
    folder = Path(result.output_dir) if result.output_dir else None
    try:
        name = folder.resolve().relative_to(root.resolve()).as_posix() if folder else result.input
    except ValueError:
        name = result.input
    return _section_of_summary(asdict(result), name)


def _read_sightings(path: Path) -> dict[int, list[Sighting]]:
    """Per track id, the frames of ``tracks.jsonl`` it appears in (none when the file is missing)."""
    tracks: dict[int, list[Sighting]] = {}
    if not path.is_file():
        return tracks
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            for face in record["faces"]:
                sighting = Sighting(int(record["frame"]), float(record["time"]), bool(face["detected"]))
                tracks.setdefault(int(face["id"]), []).append(sighting)
    return tracks


def _track_row(track_id: int, track: list[Sighting], frame_time: float, detect_every: int, duration: float,
               thumb: str | None) -> TrackRow:
    stretches = _stretches(track, frame_time, detect_every)
    return TrackRow(track_id=track_id, first=track[0].time, last=track[-1].time, frames=len(track), thumb=thumb,
                    detected=_bars(stretches, True, duration), predicted=_bars(stretches, False, duration))


def _stretches(track: list[Sighting], frame_time: float, detect_every: int) -> list[tuple[float, float, bool]]:
    """Maximal runs of consecutive frames in one state: ``detected`` while the track was detected in
    the last ``detect_every`` frames (the frames between two scheduled detector runs count as
    detected), predicted when it was kept by the Kalman prediction alone."""
    runs: list[list[Any]] = []
    last_detection: int | None = None
    previous_frame: int | None = None
    for sighting in track:
        if sighting.detected:
            last_detection = sighting.frame
        state = last_detection is not None and sighting.frame - last_detection < detect_every
        if runs and previous_frame == sighting.frame - 1 and runs[-1][2] == state:
            runs[-1][1] = sighting.time + frame_time
        else:
            runs.append([sighting.time, sighting.time + frame_time, state])
        previous_frame = sighting.frame
    return [(start, end, state) for start, end, state in runs]


def _bars(stretches: list[tuple[float, float, bool]], detected: bool, duration: float) -> str:
    """SVG path data of the stretches in state ``detected``: one horizontal stroke each (at least half
    a unit wide, so one-frame stretches stay visible). Strokes keep the page small: a few bytes a bar."""
    scale = (TIMELINE_WIDTH - TIMELINE_GUTTER) / duration if duration > 0 else 0.0
    return "".join(f"M{_short(TIMELINE_GUTTER + start * scale)} 5h{_short(max((end - start) * scale, 0.5))}"
                   for start, end, state in stretches if state == detected)


def _short(value: float) -> str:
    """A number with at most one decimal and no trailing zero (``12``, ``3.5``)."""
    return f"{value:.1f}".removesuffix(".0")


def _ticks(duration: float, count: int = 5) -> list[tuple[float, str]]:
    """``count`` evenly spaced time labels under a timeline: (x in SVG units, label)."""
    if duration <= 0:
        return []
    span = TIMELINE_WIDTH - TIMELINE_GUTTER
    return [(round(TIMELINE_GUTTER + span * step / (count - 1), 1), clock(duration * step / (count - 1)))
            for step in range(count)]


# -------------------------------------------------------------------------------- thumbnails


def _thumbnail(crop: Path, root: Path) -> str | None:
    """The link to a small copy of ``crop`` in ``root/.report/thumbs`` (written when missing or older
    than the crop); None when there is no crop or it cannot be read."""
    if not crop.is_file():
        return None
    key = hashlib.sha1(crop.relative_to(root).as_posix().encode("utf-8")).hexdigest()[:16]
    thumb = root / ASSETS_DIR / "thumbs" / f"{key}.jpg"
    if not thumb.is_file() or thumb.stat().st_mtime < crop.stat().st_mtime:
        image = cv2.imdecode(np.fromfile(crop, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            log.warning(f"report: {crop.relative_to(root).as_posix()}: not a readable image")
            return None
        thumb.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(thumb, _encode_thumbnail(image))
    return href(thumb, root)


def _encode_thumbnail(image: np.ndarray) -> bytes:
    """``image`` scaled to fit ``THUMB_SIDE`` (never enlarged), as JPEG bytes."""
    scale = min(1.0, THUMB_SIDE / max(image.shape[:2]))
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1.0 else image
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, THUMB_QUALITY])
    if not ok:
        raise ValueError("cannot encode a thumbnail")
    return encoded.tobytes()


# ------------------------------------------------------------------------------------ people


def _people(root: Path, anchors: dict[str, str]) -> list[PersonRow] | None:
    """The rows of ``root/people.json`` (None when it is absent or unreadable)."""
    path = root / "people.json"
    if not path.is_file():
        return None
    try:
        people = json.loads(path.read_text(encoding="utf-8"))["people"]
        return [_person_row(root, person, anchors) for person in people]
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        log.warning(f"report: people.json: cannot read it ({error}); the report has no People section")
        return None


def _person_row(root: Path, person: dict[str, Any], anchors: dict[str, str]) -> PersonRow:
    crops = []
    for track in person["tracks"]:
        video = str(track["video"])
        crop = (root / str(track["best_crop"])).resolve() if track.get("best_crop") else None
        inside = crop is not None and crop.is_relative_to(root.resolve())
        crops.append(PersonCrop(video=video, anchor=anchors.get(video), track_id=int(track["id"]),
                                frames=int(track.get("frames") or 0),
                                thumb=_thumbnail(crop, root.resolve()) if inside else None))
    return PersonRow(name=str(person["person"]), known=bool(person.get("known")), crops=crops)
