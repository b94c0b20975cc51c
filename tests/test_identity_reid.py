"""Re-identification inside tracking (``--identify``): a face that returns after ``--max-age`` or a
shot cut keeps its id, a lost track refuses a different face, and runs that recognise nobody (or
run without ``--identify``) write exactly what they wrote before.

The slideshow clips use lfw-dev photos (``../shared/data/identity/lfw-dev``) and skip without them;
everything needs the ``identity`` extra and the shipped detector.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from apps.descriptors import identity_problem
from tests.cli_helpers import run_cli
from tracker import FaceTracker
from tracker.track import BestCrop

ROOT = Path(__file__).resolve().parents[1]
LFW = ROOT.parent / "shared" / "data" / "identity" / "lfw-dev"
sys.path.insert(0, str(ROOT / "benchmarks"))
from slideshow import Shot, write_slideshow  # noqa: E402

needs_identity = pytest.mark.skipif(
    identity_problem() is not None or not (ROOT / "detectors" / "weights" / "faceboxes.onnx").is_file(),
    reason="needs the identity extra (pip install -e '.[identity]') and the shipped detector")
needs_lfw = pytest.mark.skipif(not LFW.is_dir(), reason=f"needs the lfw-dev photos in {LFW}")

POWELL = [LFW / "Colin_Powell" / f"Colin_Powell_{number:04d}.jpg" for number in (4, 6)]  # distance 0.68 (SFace)
OTHER = LFW / "Heizo_Takenaka" / "Heizo_Takenaka_0001.jpg"  # 1.52 from POWELL[0] (SFace; veto at 1.379)


def id_runs(folder: Path) -> list[tuple[int, int]]:
    """(id, frames) for every run of consecutive frames showing one id (one face per frame)."""
    ids = [face["id"] for line in (folder / "tracks.jsonl").read_text().splitlines()
           for face in json.loads(line)["faces"]]
    return [(track_id, len(list(frames))) for track_id, frames in itertools.groupby(ids)]


def track_clip(tmp_path: Path, shots: Sequence[Shot], *flags: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The id runs of a slideshow of ``shots`` tracked without and with ``--identify``."""
    clip = tmp_path / "clip.mp4"
    write_slideshow(clip, shots)
    runs = []
    for identify in ([], ["--identify"]):
        out = tmp_path / f"out{len(identify)}"
        assert run_cli(clip, "-o", out, "--no-video", *flags, *identify).code == 0
        runs.append(id_runs(out / "clip"))
    return runs[0], runs[1]


@needs_identity
@needs_lfw
def test_a_face_back_after_max_age_gets_its_id_back_with_identify(tmp_path: Path) -> None:
    shots = [Shot(POWELL[0], 30, centre=(200, 180)), Shot(None, 50), Shot(POWELL[0], 30, centre=(280, 180))]
    without, identified = track_clip(tmp_path, shots, "--no-shot-cuts", "--max-age", "1")  # away 2 s
    assert [track_id for track_id, _ in without] == [1, 2]
    assert [track_id for track_id, _ in identified] == [1] and identified[0][1] == sum(frames for _, frames in without)
    identity = json.loads((tmp_path / "out1" / "clip" / "identity.json").read_text())
    assert identity["reidentified"] == 1 and [track["id"] for track in identity["tracks"]] == [1]
    assert len(identity["tracks"][0]["descriptors"]) >= 2  # described once per visit
    assert sorted(path.name for path in (tmp_path / "out1" / "clip" / "faces").iterdir()) == ["1"]
    summary = json.loads((tmp_path / "out1" / "clip" / "summary.json").read_text())
    assert summary["tracks"] == 1 and [track["id"] for track in summary["track_people"]] == [1]


@needs_identity
@needs_lfw
def test_across_shot_cuts_one_face_keeps_its_id_and_another_face_gets_its_own(tmp_path: Path) -> None:
    shots = [Shot(POWELL[0], 20, background=(40, 90, 160)), Shot(OTHER, 20, background=(150, 60, 60)),
             Shot(POWELL[1], 20, centre=(260, 170), background=(60, 140, 60))]  # another photo of him
    without, identified = track_clip(tmp_path, shots)
    assert without == [(1, 20), (2, 20), (3, 20)]
    assert identified == [(1, 20), (2, 20), (1, 20)]
    people = json.loads((tmp_path / "out1" / "people.json").read_text())["people"]
    assert [[track["id"] for track in person["tracks"]] for person in people] == [[1], [2]]


@needs_identity
@needs_lfw
def test_a_lost_track_refuses_a_different_face_near_its_place(tmp_path: Path) -> None:
    # one man leaves; 1.2 s later another appears next to where he was (no overlap): position and colour
    # alone give the newcomer his id, the face refuses it
    shots = [Shot(POWELL[0], 30, centre=(170, 180)), Shot(None, 30), Shot(OTHER, 30, centre=(310, 180))]
    without, identified = track_clip(tmp_path, shots, "--no-shot-cuts")
    assert [track_id for track_id, _ in without] == [1]
    assert [track_id for track_id, _ in identified] == [1, 2]
    assert json.loads((tmp_path / "out1" / "clip" / "identity.json").read_text())["refused"] == 1


class RecognisesNobody:
    """A face identity that describes nothing and never recognises or refuses a face."""

    def __init__(self) -> None:
        self.offers = 0

    def offer(self, track_id: int, best: BestCrop) -> None:
        self.offers += 1

    def match(self, best: BestCrop, candidates: Sequence[int]) -> int | None:
        return None

    def disagrees(self, track_id: int, frame: np.ndarray, box: np.ndarray) -> bool:
        return False


def output_files(folder: Path) -> dict[str, bytes]:
    """Every file a run wrote (summary.json without its timings and output folder)."""
    files = {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
             if path.is_file() and path.name != "summary.json"}
    summary = json.loads((folder / "summary.json").read_text())
    for differs in ("wall_seconds", "processing_fps", "output_dir"):
        summary.pop(differs)
    files["summary.json"] = json.dumps(summary, sort_keys=True).encode()
    return files


def test_the_identity_code_path_changes_no_output_when_it_recognises_nobody(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = ROOT / "media" / "demo.mp4"  # generated by media/make_demo_clip.py: three faces, 200 frames
    assert run_cli(demo, "-o", tmp_path / "plain", "--no-video", "--no-report").code == 0
    hook = RecognisesNobody()
    monkeypatch.setattr("apps.video_job.FaceTracker",
                        lambda config, fps, identity=None: FaceTracker(config, fps, identity=hook))
    assert run_cli(demo, "-o", tmp_path / "hooked", "--no-video", "--no-report").code == 0
    assert hook.offers >= 3  # the hooks ran: every track was offered at least once
    plain, hooked = output_files(tmp_path / "plain" / "demo"), output_files(tmp_path / "hooked" / "demo")
    assert plain.keys() == hooked.keys() and "tracks.jsonl" in plain and "faces/1/best.jpg" in plain
    assert all(plain[name] == hooked[name] for name in plain), [name for name in plain if plain[name] != hooked[name]]


def test_runs_without_identify_import_no_face_recognition_package(tmp_path: Path) -> None:
    code = ("import sys; from apps.cli import main; "
            f"code = main([{str(ROOT / 'media' / 'demo.mp4')!r}, '-o', {str(tmp_path)!r}, '--no-video', '--no-report']); "
            "print(code, sorted(name for name in ('dlib', 'face_recognition_models') if name in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.stdout.split("\n")[-2] == "0 []", run.stdout + run.stderr
