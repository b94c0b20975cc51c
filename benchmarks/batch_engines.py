"""Wall time of one batch with --workers 1, --workers 2 and --engine ray, and whether their track files agree.

    python benchmarks/batch_engines.py [FOLDER] [--clips 8] [--runs workers1 workers2 ray]

Copies the first ``--clips`` videos of FOLDER (default ../shared/media, else the demo clip
repeated) into a scratch folder, runs ``start.py`` on it once per engine as a user would (a fresh
process each, so start-up is included), and prints a table: wall seconds, frames/s over the
whole batch, speed-up and parallel efficiency (speed-up / workers) against ``--workers 1``,
and whether ``tracks.txt`` and ``tracks.jsonl`` are byte-identical to the ``--workers 1`` run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_MEDIA = ROOT.parent / "shared" / "media"
VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi"}

#: name -> (extra start.py arguments, parallel workers the run uses)
RUNS = {
    "workers1": (["--workers", "1"], 1),
    "workers2": (["--workers", "2"], 2),
    "ray": (["--engine", "ray"], 2),  # a local Ray instance on this machine's CPUs, one per task
}


def gather_clips(folder: Path, count: int, target: Path) -> list[Path]:
    """Copy ``count`` videos of ``folder`` (cycling if there are fewer) into ``target``."""
    videos = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES) if folder.is_dir() else []
    if not videos:
        videos = [ROOT / "media" / "demo.mp4"]
    target.mkdir(parents=True)
    copies = []
    for index in range(count):
        source = videos[index % len(videos)]
        copy = target / f"{index:02d}-{source.name}"
        shutil.copyfile(source, copy)
        copies.append(copy)
    return copies


def run_batch(folder: Path, output: Path, extra: list[str]) -> tuple[float, int, int]:
    """Wall seconds, total frames and exit code of ``start.py FOLDER -o OUTPUT EXTRA``."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "start.py"), str(folder), "-o", str(output), *extra],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    frames = sum(json.loads(p.read_text())["frames"] for p in output.glob("*/summary.json"))
    return wall, frames, done.returncode


def track_files(output: Path) -> dict[str, bytes]:
    return {str(p.relative_to(output)): p.read_bytes()
            for name in ("tracks.txt", "tracks.jsonl") for p in sorted(output.glob(f"*/{name}"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=SHARED_MEDIA)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        clips = gather_clips(args.folder, args.clips, Path(scratch) / "in")
        reference: dict[str, bytes] | None = None
        reference_wall = None
        for name in args.runs:
            extra, workers = RUNS[name]
            output = Path(scratch) / name
            wall, frames, code = run_batch(clips[0].parent, output, extra)
            files = track_files(output)
            if reference is None:
                reference, reference_wall = files, wall if name == "workers1" else None
            speedup = reference_wall / wall if reference_wall else float("nan")
            rows.append((name, wall, frames, frames / wall, speedup, speedup / workers, files == reference, code))
    print(f"\n{len(clips)} clips from {args.folder if args.folder.is_dir() else 'media/demo.mp4'}\n")
    print("| run | wall s | frames | fps | speed-up | efficiency | track files identical | exit |")
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for name, wall, frames, fps, speedup, efficiency, same, code in rows:
        print(f"| {name} | {wall:.1f} | {frames} | {fps:.1f} | {speedup:.2f} | {efficiency:.2f} | {same} | {code} |")


if __name__ == "__main__":
    main()
