"""Who is who across a batch (``--identify``): ``OUTPUT/people.json`` and a person per track.

Once every video is done, the tracks of the videos this run completed (their ``identity.json``,
:mod:`apps.track_descriptors`) are grouped tightly and each group is named after the nearest gallery
person (``--known-faces``), and the tracks left unnamed are grouped across all videos into ``unknown-1``,
``unknown-2``... numbered in order of first appearance (video order, then frame): see
:func:`apps.grouping.label_tracks`; two tracks seen at the same time in one video are never one person.
Written::

    people.json               {"people": [{"person", "known", "tracks": [{"video", "id", "frames", "best_crop"}]}]}
    <video>/tracks.jsonl      every face gains "person" (the name, or null)
    <video>/summary.json      gains "track_people": [{"id", "person", "frames", "best_crop"}] ("tracks" is the count)

A track's descriptors are all those of its ``identity.json`` entry (several good crops, see
:mod:`apps.reidentify`): its distance to a gallery person is that of the closest pair of them and the
person's photos (:meth:`apps.gallery.Gallery.person_distances`); a group's is the mean over its tracks;
tracks are grouped by the mean distance over all pairs (:func:`apps.grouping.track_distances`). A track
without a descriptor (no crop of it could be cut) has person null and is in no group.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from apps.batch import output_name
from apps.gallery import NAME_MARGIN, NAME_THRESHOLD, Gallery
from apps.grouping import NAMING_GROUP_DISTANCE, label_tracks
from apps.run_folder import REPLACING_STATUSES
from apps.track_descriptors import IDENTITY_FILE
from apps.video_job import VideoResult
from apps.writers import write_bytes_atomic, write_json_atomic

PEOPLE_FILE = "people.json"


@dataclass
class TrackRecord:
    """One track of one video, as the grouping sees it."""

    video: str
    folder: Path
    track_id: int
    frames: int
    seen: set[int]
    """The frames the track is on (a face that returned after a gap keeps its id: spans can hold others)."""
    best_crop: str | None
    descriptors: np.ndarray | None
    person: str | None = None
    known: bool = False


@dataclass
class VideoTracks:
    """The tracks of one video folder: its ``tracks.jsonl`` lines and records by id."""

    folder: Path
    lines: list[dict[str, Any]]
    tracks: dict[int, TrackRecord] = field(default_factory=dict)


def read_video(folder: Path, video: str) -> VideoTracks:
    """The tracks of ``folder``: spans and frame counts from ``tracks.jsonl``, descriptors from ``identity.json``."""
    lines = [json.loads(line) for line in (folder / "tracks.jsonl").read_text(encoding="utf-8").splitlines() if line]
    described = {int(track["id"]): track for track in
                 json.loads((folder / IDENTITY_FILE).read_text(encoding="utf-8"))["tracks"]}
    result = VideoTracks(folder, lines)
    for line in lines:
        for face in line["faces"]:
            track_id = int(face["id"])
            record = result.tracks.get(track_id)
            if record is None:
                entry = described.get(track_id, {})
                crop = entry.get("best_crop")
                record = result.tracks[track_id] = TrackRecord(
                    video, folder, track_id, 0, set(),
                    f"{video}/{crop}" if crop else None,
                    np.asarray(entry["descriptors"], np.float32) if entry.get("descriptors") else None)
            record.frames += 1
            record.seen.add(line["frame"])
    return result


def cannot_link(tracks: list[TrackRecord]) -> np.ndarray:
    """(N, N): True for two tracks of one video on screen together (on one frame at least)."""
    apart = np.zeros((len(tracks), len(tracks)), bool)
    by_video: dict[str, list[int]] = {}
    for row, track in enumerate(tracks):
        by_video.setdefault(track.video, []).append(row)
    for rows in by_video.values():  # only tracks of one video can be on screen together
        for position, row in enumerate(rows):
            for column in rows[position + 1 :]:
                apart[row, column] = apart[column, row] = not tracks[row].seen.isdisjoint(tracks[column].seen)
    return apart


def described_labels(tracks: list[TrackRecord], gallery: Gallery | None, threshold: float = NAME_THRESHOLD,
                     margin: float = NAME_MARGIN,
                     naming_cut: float = NAMING_GROUP_DISTANCE) -> list[tuple[TrackRecord, str]]:
    """Every described track of ``tracks`` (in order of appearance) with its label: a gallery name or
    ``unknown-N`` (:func:`apps.grouping.label_tracks`; two tracks on screen together never share a group)."""
    described = [track for track in tracks if track.descriptors is not None]
    labels = label_tracks([track.descriptors for track in described], gallery, cannot_link(described), threshold,
                          margin, naming_cut)
    return list(zip(described, labels))


def assign_people(tracks: list[TrackRecord], gallery: Gallery | None) -> None:
    """Set ``person``/``known`` of every described track (``tracks`` in order of appearance; see
    :func:`described_labels`)."""
    known_people = set(gallery.people) if gallery is not None else set()
    for track, label in described_labels(tracks, gallery):
        track.person = label
        track.known = label in known_people


def people_document(tracks: list[TrackRecord]) -> dict[str, Any]:
    """The ``people.json`` document: known people by name, then unknown-1, unknown-2..."""
    people: dict[str, list[TrackRecord]] = {}
    for track in tracks:
        if track.person is not None:
            people.setdefault(track.person, []).append(track)
    order = sorted(people, key=lambda name: (not people[name][0].known, _unknown_number(name), name))
    return {"people": [{"person": name, "known": people[name][0].known,
                        "tracks": [{"video": track.video, "id": track.track_id, "frames": track.frames,
                                    "best_crop": track.best_crop} for track in people[name]]}
                       for name in order]}


def _unknown_number(name: str) -> int:
    """N of ``unknown-N`` (0 for a gallery name), so unknown-10 comes after unknown-9."""
    prefix, _, number = name.rpartition("-")
    return int(number) if prefix == "unknown" and number.isdigit() else 0


def _rewrite_video(video: VideoTracks) -> None:
    """Add ``person`` to every face of ``tracks.jsonl`` and the track list to ``summary.json``."""
    for line in video.lines:
        for face in line["faces"]:
            face["person"] = video.tracks[int(face["id"])].person
    text = "".join(json.dumps(line) + "\n" for line in video.lines)
    write_bytes_atomic(video.folder / "tracks.jsonl", text.encode("utf-8"))
    summary_path = video.folder / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["track_people"] = [
        {"id": track.track_id, "person": track.person, "frames": track.frames,
         "best_crop": track.best_crop.split("/", 1)[1] if track.best_crop else None}
        for track in video.tracks.values()]
    write_json_atomic(summary_path, summary)


def write_people(output_root: Path, results: Iterable[VideoResult], gallery: Gallery | None) -> Path:
    """Name and group the tracks of every video ``results`` completed; write ``people.json`` and
    the per-video fields (see the module docstring). Returns the path of ``people.json``.

    Raises:
        OSError, ValueError: A video's files cannot be read (or written back).
    """
    videos = [read_video(Path(result.output_dir), output_name(result, output_root)) for result in results
              if result.status in REPLACING_STATUSES and result.output_dir
              and (Path(result.output_dir) / IDENTITY_FILE).is_file()]
    tracks = [track for video in videos for track in video.tracks.values()]
    assign_people(tracks, gallery)
    for video in videos:
        _rewrite_video(video)
    path = output_root / PEOPLE_FILE
    write_json_atomic(path, people_document(tracks))
    return path
