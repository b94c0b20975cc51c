"""Size of OUTPUT/index.html and time to write it for big batches of synthetic video outputs.

Writes ``--videos`` synthetic output folders (summary.json, tracks.jsonl, a best.jpg per track, an
empty annotated.mp4; every 25th video failed, every 40th incomplete) into a temporary folder, then
times :func:`apps.report.write_report` twice: the first run writes every thumbnail, the second
reuses them (a later run over the same folder). With ``--chromium`` also the time headless
Chromium takes to load the page and take a screenshot (browser start included).

Usage: ``python benchmarks/report_size.py [--videos 50 500] [--frames 250] [--tracks 4] [--chromium]``
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.report import ASSETS_DIR, write_report  # noqa: E402
from benchmarks.mot_eval import format_table  # noqa: E402

FPS = 25.0
COLUMNS = {"videos": "videos", "tracks": "tracks", "html_kb": "index.html KB", "thumbs_kb": "thumbs KB",
           "first_s": "write s (new thumbs)", "again_s": "write s (cached)", "chromium_s": "chromium load s"}


def face_image(rng: np.random.Generator) -> np.ndarray:
    """A smooth 112x140 face-like crop (JPEG-compresses like a real crop, unlike noise)."""
    image = np.full((140, 112, 3), rng.integers(60, 200, 3), np.uint8)
    colour = tuple(int(value) for value in rng.integers(120, 240, 3))
    cv2.ellipse(image, (56, 70), (40, 55), 0, 0, 360, colour, -1)
    for eye_x in (40, 72):
        cv2.circle(image, (eye_x, 60), 6, (40, 40, 40), -1)
    return cv2.GaussianBlur(image, (5, 5), 0)


def track_spans(rng: np.random.Generator, frames: int, tracks: int) -> dict[int, tuple[int, int]]:
    """Random [first, last) frame spans of ``tracks`` tracks."""
    spans = {}
    for track_id in range(1, tracks + 1):
        first = int(rng.integers(0, frames // 2))
        spans[track_id] = (first, int(rng.integers(first + 10, frames + 1)))
    return spans


def write_tracks(path: Path, rng: np.random.Generator, frames: int, spans: dict[int, tuple[int, int]]) -> None:
    """tracks.jsonl with every track detected except for a few predicted frames (about 5 %)."""
    with open(path, "w", encoding="utf-8") as file:
        for frame in range(frames):
            faces = [{"id": track_id, "box": [10.0, 10.0, 60.0, 70.0], "score": 0.9,
                      "detected": bool(rng.random() > 0.05)}
                     for track_id, (first, last) in spans.items() if first <= frame < last]
            record = {"frame": frame + 1, "time": round(frame / FPS, 4), "shot": 0, "faces": faces}
            file.write(json.dumps(record) + "\n")


def status_of(index: int) -> tuple[str, str]:
    """Every 25th video failed, every 40th incomplete, the others complete."""
    if index % 25 == 24:
        return "failed", "not a readable video (unknown format or damaged file)"
    if index % 40 == 39:
        return "incomplete", "decoding stopped after 120 of the 250 frames the container announces"
    return "complete", ""


def write_video_outputs(folder: Path, index: int, frames: int, tracks: int) -> None:
    """One synthetic video output folder, as track_source writes it."""
    rng = np.random.default_rng(index)
    status, message = status_of(index)
    spans = track_spans(rng, frames, tracks) if status != "failed" else {}
    folder.mkdir(parents=True)
    summary = {"input": f"videos/clip {index:04d}.mp4", "output_dir": str(folder), "status": status, "message": message,
               "frames": frames if spans else 0, "duration_seconds": frames / FPS if spans else 0.0, "input_fps": FPS,
               "processing_fps": 61.5, "tracks": len(spans), "options": {"detect_every": 1}}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    if not spans:
        return
    write_tracks(folder / "tracks.jsonl", rng, frames, spans)
    (folder / "tracks.txt").write_text("")
    (folder / "annotated.mp4").write_bytes(b"")
    for track_id in spans:
        (folder / "faces" / str(track_id)).mkdir(parents=True)
        cv2.imwrite(str(folder / "faces" / str(track_id) / "best.jpg"), face_image(rng))


def timed_report(root: Path) -> float:
    """Seconds to write the report of ``root``."""
    started = time.perf_counter()
    write_report(root)
    return time.perf_counter() - started


def chromium_seconds(page: Path) -> float | None:
    """Seconds for headless Chromium to load ``page`` and take a screenshot (None without Chromium)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return None
    started = time.perf_counter()
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    f"--screenshot={page.parent / 'screenshot.png'}", "--window-size=1280,900", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    return time.perf_counter() - started


def measure(videos: int, frames: int, tracks: int, chromium: bool) -> dict[str, object]:
    """One row of the table: a batch of ``videos`` synthetic outputs."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for index in range(videos):
            write_video_outputs(root / f"clip {index:04d}", index, frames, tracks)
        first, again = timed_report(root), timed_report(root)
        thumbs = sum(path.stat().st_size for path in (root / ASSETS_DIR).rglob("*.jpg"))
        track_count = sum(len(list((root / f"clip {index:04d}" / "faces").glob("*"))) for index in range(videos)
                          if (root / f"clip {index:04d}" / "faces").is_dir())
        load = chromium_seconds(root / "index.html") if chromium else None
        return {"videos": videos, "tracks": track_count, "html_kb": (root / "index.html").stat().st_size / 1024,
                "thumbs_kb": thumbs / 1024, "first_s": first, "again_s": again,
                "chromium_s": load if load is not None else "-"}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, nargs="+", default=[50, 500], help="Batch sizes to measure.")
    parser.add_argument("--frames", type=int, default=250, help="Frames per synthetic video (at 25 fps).")
    parser.add_argument("--tracks", type=int, default=4, help="Tracks per synthetic video.")
    parser.add_argument("--chromium", action="store_true", help="Also time headless Chromium loading the page.")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table."""
    args = parse_args(argv)
    rows = [measure(videos, args.frames, args.tracks, args.chromium) for videos in args.videos]
    print(format_table(rows, COLUMNS))


if __name__ == "__main__":
    main()
