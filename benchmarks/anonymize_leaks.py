"""Share of ground-truth faces left recognisable after anonymising: FaceTrack next to ``deface``.

    python benchmarks/anonymize_leaks.py [--clips 3] [--frames 250] [--faces 4]
        [--facetrack-args="--detect-every 3"] [--deface-args="..."] [--no-deface] [--keep DIR]

(``--facetrack-args`` and ``--deface-args`` take their value after ``=``, since it starts with ``--``.)

Clips: the end-to-end clips of ``benchmarks/tracking_quality.py --mode e2e`` (same seeds and
settings: real face crops from ``../shared/data/faces/dev`` moving over a textured background,
with exact ground-truth boxes per frame), each written to an H.264 mp4 at crf 10 (nearly
lossless) in a temporary folder. Each clip is then anonymised by

* FaceTrack, as a user runs it: ``python start.py CLIP --anonymize blur -o OUT`` plus
  ``--facetrack-args`` (default detector settings otherwise), which writes
  ``OUT/<clip>/annotated.mp4`` (libx264 at its default preset and crf);
* deface (``pip install deface``), as a user runs it: ``deface CLIP -o OUT.mp4`` at its default
  threshold and mask (blurred ellipses), told to encode with libx264 at FaceTrack's default
  preset and crf so that both outputs go through the same compression.

A tool's frames/s is the clip's frame count over the wall-clock time of its command (start-up
and model loading included, as a user sees it).

Leak metric, per ground-truth face per frame (faces the ground truth does not ignore, i.e. at
least 30 % visible): take the central region of the box (the middle ``CENTRE`` = 60 % of its
width and height), leaving out pixels inside the box of a nearer face (which hides this one
there), in the output frame and in the decoded input frame (both decoded the same way from H.264
files: like with like). Resize it to ``SCALE`` x ``SCALE`` = 16 x 16 pixels (as if the face were
27 px tall), so that every face is judged at the same scale, that of its features (eyes, nose,
mouth), where sensor noise and compression artefacts weigh little (at 32 px some smooth faces
had more noise than structure), and
take the Laplacian (``cv2.Laplacian`` of the grey levels) of both, L_in and L_out. The face is
*left recognisable* (leaked) when the output keeps more than ``KEEP_RATIO`` = 0.5 of the input's
Laplacian energy as detail of the input: sum(L_in * L_out) / sum(L_in ** 2) > 0.5 (the
projection of the output's detail on the input's). New edges that are not the face's (the
border of a blurred ellipse, compression blocks, the blocks of a pixelated face) do not count;
a face half under a mask keeps about half of its detail. The plain energy ratio,
sum(L_out ** 2) / sum(L_in ** 2) > 0.5, is reported too ("energy leak %"): it counts those
edges as kept texture, so a mask whose border crosses the central region counts as a leak.
Faces whose central region is under ``MIN_SIDE`` = 8 px on a side (or has fewer than 64
pixels left beside nearer faces), or whose input energy is under ``MIN_ENERGY`` (no more
texture than the clips' sensor noise: in practice slivers of faces leaving the frame), are
skipped and counted apart.

Background: each tool's output is also compared with the input away from every face (see
:func:`background_squares`): the share of background squares whose detail the output lost, i.e. masks
where there is no face (re-encoding alone: 0.10 % on clip 0).

Calibration (the inputs re-encoded at crf 23 ultrafast like the outputs, with or without masks
drawn by FaceTrack's own blur at the ground-truth boxes): on the three default clips, every
untouched face is judged leaked and 37 faces (one motion-blurred, featureless head of clip 2)
are skipped as flat. On clip 0 (100 frames): untouched faces keep 0.77-1.02 of their detail;
blurred ones -0.02-0.06 (none leaked; energy ratio at most 0.32); ellipses shifted sideways by
half a face width leave 7 % leaked (33 % by the energy ratio), by 0.7 of a face width 41 %
(66 %); pixelated faces 0 % (50 %).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import Box, ClipSpec, FaceSprite, GroundTruthBox, render_clip  # noqa: E402
from apps.video_writers import H264VideoWriter, VideoSettings  # noqa: E402
from benchmarks.tracking_quality import DEV_FACES, add_clip_arguments, e2e_clip  # noqa: E402

CENTRE = 0.6  # fraction of the box width and height measured, around its centre
SCALE = 16  # pixels: the central region is measured at this size (a face of about 27 px)
KEEP_RATIO = 0.5  # a face keeping more of its Laplacian detail than this is left recognisable
MIN_ENERGY = 15.0  # input energy (at SCALE) under which a region has nothing to recognise: about what the
# clips' sensor noise alone gives a small face (sigma 2 grey levels: 2-21 at SCALE, depending on the face size)
MIN_SIDE = 8  # pixels (in the frame): smaller central regions are skipped
BACKGROUND_BLOCK = 16  # pixels: the background is judged in squares of this side (at half resolution)
BACKGROUND_MARGIN = 0.5  # a face's box grows by this share of its size on every side before the background starts
CLIP_SETTINGS = VideoSettings(preset="veryfast", crf=10, keep_audio=False)  # the input clips: nearly lossless
OUTPUT_SETTINGS = VideoSettings()  # FaceTrack's default encoding, also asked of deface

Region = tuple[int, int, int, int]


class Verdict(str, Enum):
    """What the leak metric says about one ground-truth face in one frame."""

    hidden = "hidden"  # the output kept at most KEEP_RATIO of the region's detail
    leaked = "leaked"  # the output kept more than KEEP_RATIO of it: left recognisable
    small = "small"  # skipped: the measured region is too small
    flat = "flat"  # skipped: the input region has (almost) no texture


# --- the metric -------------------------------------------------------------------------------


def central_region(box: Box, shape: tuple[int, ...], centre: float = CENTRE) -> Region | None:
    """Integer ``x1, y1, x2, y2`` of the middle ``centre`` of ``box`` inside a frame of ``shape``,
    or None when it is under MIN_SIDE pixels on a side."""
    x1, y1, x2, y2 = box
    inset_x, inset_y = (x2 - x1) * (1 - centre) / 2, (y2 - y1) * (1 - centre) / 2
    height, width = shape[:2]
    left, top = max(int(round(x1 + inset_x)), 0), max(int(round(y1 + inset_y)), 0)
    right, bottom = min(int(round(x2 - inset_x)), width), min(int(round(y2 - inset_y)), height)
    if right - left < MIN_SIDE or bottom - top < MIN_SIDE:
        return None
    return left, top, right, bottom


def uncovered(region: Region, nearer: Sequence[Box]) -> np.ndarray:
    """Boolean mask over ``region``: True where no box of ``nearer`` covers the pixel."""
    left, top, right, bottom = region
    mask = np.ones((bottom - top, right - left), bool)
    for x1, y1, x2, y2 in nearer:
        cx1, cy1 = max(int(round(x1)) - left, 0), max(int(round(y1)) - top, 0)
        cx2, cy2 = min(int(round(x2)) - left, mask.shape[1]), min(int(round(y2)) - top, mask.shape[0])
        if cx2 > cx1 and cy2 > cy1:
            mask[cy1:cy2, cx1:cx2] = False
    return mask


def region_laplacian(grey: np.ndarray, region: Region, mask: np.ndarray) -> np.ndarray:
    """Laplacian values of ``region`` of a grey frame at the measuring scale, at the pixels of ``mask``.

    The region (with ``mask``, True where a pixel counts) is resized to SCALE x SCALE pixels plus a
    one-pixel ring that only serves as the neighbours of the measured pixels.
    """
    left, top, right, bottom = region
    size = (SCALE + 2, SCALE + 2)
    crop = cv2.resize(grey[top:bottom, left:right].astype(np.float32), size, interpolation=cv2.INTER_AREA)
    keep = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)[1:-1, 1:-1] > 0
    return cv2.Laplacian(crop, cv2.CV_32F)[1:-1, 1:-1][keep]


@dataclass(frozen=True)
class Kept:
    """How much of a face's central region the output keeps (both relative to the input's energy)."""

    detail: float  # the part of the output's Laplacian along the input's: sum(L_in * L_out) / sum(L_in ** 2)
    energy: float  # the output's Laplacian energy, whatever its origin: sum(L_out ** 2) / sum(L_in ** 2)

    @property
    def verdict(self) -> Verdict:
        """Leaked when more than KEEP_RATIO of the input's detail survives."""
        return Verdict.leaked if self.detail > KEEP_RATIO else Verdict.hidden


def measure_face(original: np.ndarray, output: np.ndarray, box: Box, nearer: Sequence[Box] = ()) -> Kept | Verdict:
    """What the output keeps of the central region of the face in ``box``, or why it is not measured.

    ``original`` and ``output`` are grey frames of the same size; ``nearer`` are the boxes of faces
    in front of this one (their pixels are left out).
    """
    region = central_region(box, original.shape)
    if region is None:
        return Verdict.small
    mask = uncovered(region, nearer)
    if np.count_nonzero(mask) < MIN_SIDE * MIN_SIDE:
        return Verdict.small
    before = region_laplacian(original, region, mask)
    energy = float(np.mean(before ** 2))
    if energy < MIN_ENERGY:
        return Verdict.flat
    after = region_laplacian(output, region, mask)
    return Kept(float(np.mean(before * after)) / energy, float(np.mean(after ** 2)) / energy)


def judge_face(original: np.ndarray, output: np.ndarray, box: Box, nearer: Sequence[Box] = ()) -> Verdict:
    """Whether the output leaves the face in ``box`` recognisable (see the module docstring)."""
    kept = measure_face(original, output, box, nearer)
    return kept if isinstance(kept, Verdict) else kept.verdict


def background_squares(original: np.ndarray, output: np.ndarray, truth: Sequence[GroundTruthBox]) -> tuple[int, int]:
    """(blurred, measured) background squares of one frame: what an anonymiser hid where there is no face.

    Both grey frames are halved (area average), then cut into ``BACKGROUND_BLOCK`` squares; a square
    counts when no ground-truth box (ignored ones included), grown by ``BACKGROUND_MARGIN`` of its size
    on every side, touches it and its input has detail (Laplacian energy at least ``MIN_ENERGY``). It is
    blurred when the output keeps at most ``KEEP_RATIO`` of that detail (the faces' projection).
    """
    half = [cv2.resize(grey, (grey.shape[1] // 2, grey.shape[0] // 2), interpolation=cv2.INTER_AREA).astype(np.float32)
            for grey in (original, output)]
    before, after = (cv2.Laplacian(grey, cv2.CV_32F) for grey in half)
    rows, columns = before.shape[0] // BACKGROUND_BLOCK, before.shape[1] // BACKGROUND_BLOCK
    free = np.ones(before.shape, bool)
    for face in truth:
        x1, y1, x2, y2 = face.box
        grow_x, grow_y = BACKGROUND_MARGIN * (x2 - x1), BACKGROUND_MARGIN * (y2 - y1)
        left, top = max(int((x1 - grow_x) // 2), 0), max(int((y1 - grow_y) // 2), 0)
        free[top : int(np.ceil((y2 + grow_y) / 2)), left : int(np.ceil((x2 + grow_x) / 2))] = False

    def per_square(values: np.ndarray) -> np.ndarray:
        cut = values[: rows * BACKGROUND_BLOCK, : columns * BACKGROUND_BLOCK]
        return cut.reshape(rows, BACKGROUND_BLOCK, columns, BACKGROUND_BLOCK).mean(axis=(1, 3))

    energy = per_square(before**2)
    measured = (per_square(free.astype(np.float32)) == 1.0) & (energy >= MIN_ENERGY)
    blurred = measured & (per_square(before * after) <= KEEP_RATIO * energy)
    return int(blurred.sum()), int(measured.sum())


@dataclass
class LeakCounts:
    """Measurements of one tool on one clip (or all clips)."""

    leaked: int = 0
    hidden: int = 0
    small: int = 0
    flat: int = 0
    energy_leaked: int = 0  # faces whose output keeps more than KEEP_RATIO of the energy (the plain ratio)
    background_blurred: int = 0  # background squares the output blurred (see background_squares)
    background_measured: int = 0  # background squares measured
    frames: int = 0  # output frames compared
    seconds: float = 0.0  # wall-clock time of the tool

    @property
    def faces(self) -> int:
        """Ground-truth faces measured (skipped ones not included)."""
        return self.leaked + self.hidden

    @property
    def leak_share(self) -> float:
        """Leaked faces over measured faces (NaN when none was measured)."""
        return self.leaked / self.faces if self.faces else float("nan")

    @property
    def energy_leak_share(self) -> float:
        """Faces keeping more than KEEP_RATIO of their energy, over measured faces."""
        return self.energy_leaked / self.faces if self.faces else float("nan")

    @property
    def background_share(self) -> float:
        """Blurred background squares over measured ones (NaN when none was measured)."""
        return self.background_blurred / self.background_measured if self.background_measured else float("nan")

    @property
    def fps(self) -> float:
        """Frames per second of wall-clock time (NaN when not timed)."""
        return self.frames / self.seconds if self.seconds > 0 else float("nan")

    def add(self, measured: Kept | Verdict) -> None:
        """Count one face: a measurement, or the reason it was skipped."""
        verdict = measured if isinstance(measured, Verdict) else measured.verdict
        setattr(self, verdict.value, getattr(self, verdict.value) + 1)
        if isinstance(measured, Kept) and measured.energy > KEEP_RATIO:
            self.energy_leaked += 1

    def __iadd__(self, other: LeakCounts) -> LeakCounts:
        for name in ("leaked", "hidden", "small", "flat", "energy_leaked", "background_blurred", "background_measured",
                     "frames", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


def nearer_boxes(face: GroundTruthBox, truth: Sequence[GroundTruthBox]) -> list[Box]:
    """Boxes of the faces drawn in front of ``face`` (higher ids are nearer, see benchmarks.synthetic)."""
    return [other.box for other in truth if other.face_id > face.face_id]


def measure_frame(original: np.ndarray, output: np.ndarray, truth: Sequence[GroundTruthBox]) -> list[Kept | Verdict]:
    """Measurements of the faces of one frame that the ground truth does not ignore."""
    return [measure_face(original, output, face.box, nearer_boxes(face, truth)) for face in truth if not face.ignored]


# --- clips and tools --------------------------------------------------------------------------


@dataclass
class Clip:
    """An end-to-end clip written to disk, with its ground truth per frame."""

    name: str
    path: Path
    truth: list[list[GroundTruthBox]]


def write_clip(folder: Path, name: str, spec: ClipSpec, sprites: list[FaceSprite]) -> Clip:
    """Render a clip to ``folder/<name>.mp4`` (H.264, CLIP_SETTINGS) and keep its ground truth."""
    path = folder / f"{name}.mp4"
    writer = H264VideoWriter(path, spec.fps, (spec.width, spec.height), CLIP_SETTINGS)
    truth = []
    for index, (frame, boxes) in enumerate(render_clip(spec, sprites)):
        writer.write(frame, index / spec.fps)
        truth.append(boxes)
    writer.close()
    return Clip(name, path, truth)


def grey_frames(path: Path) -> Iterator[np.ndarray]:
    """The frames of a video as grey images (its luma, through PyAV)."""
    import av

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="gray")


def score_output(clip: Clip, output: Path) -> LeakCounts:
    """Verdicts of every visible ground-truth face of ``clip`` in the anonymised ``output`` video."""
    counts = LeakCounts()
    for index, (original, anonymised) in enumerate(zip(grey_frames(clip.path), grey_frames(output))):
        if index >= len(clip.truth) or anonymised.shape != original.shape:
            raise ValueError(f"{output}: frame {index} does not match the input ({anonymised.shape})")
        for measured in measure_frame(original, anonymised, clip.truth[index]):
            counts.add(measured)
        blurred, measured_squares = background_squares(original, anonymised, clip.truth[index])
        counts.background_blurred += blurred
        counts.background_measured += measured_squares
        counts.frames += 1
    if counts.frames != len(clip.truth):
        print(f"warning: {output} has {counts.frames} frames, the clip {len(clip.truth)}; "
              "faces of the missing frames are not counted")
    return counts


#: (clip, output folder) -> (command line anonymising the clip into the folder, the video it writes).
CommandLine = Callable[[Clip, Path], tuple[list[str], Path]]


@dataclass
class Tool:
    """An anonymiser run as a command."""

    name: str
    command: CommandLine


def facetrack_tool(extra: Sequence[str]) -> Tool:
    """FaceTrack as a user runs it: ``python start.py CLIP --anonymize blur -o FOLDER`` + ``extra``."""

    def command(clip: Clip, folder: Path) -> tuple[list[str], Path]:
        line = [sys.executable, str(ROOT / "start.py"), str(clip.path), "--anonymize", "blur", "-o", str(folder)]
        return [*line, *extra], folder / clip.path.stem / "annotated.mp4"

    return Tool("FaceTrack", command)


def deface_tool(executable: str, extra: Sequence[str]) -> Tool:
    """deface as a user runs it: ``deface CLIP -o FOLDER/CLIP.mp4``, encoding as FaceTrack does, + ``extra``."""

    def command(clip: Clip, folder: Path) -> tuple[list[str], Path]:
        output = folder / f"{clip.name}.mp4"
        line = [executable, str(clip.path), "-o", str(output), "--ffmpeg-config", deface_ffmpeg_config()]
        return [*line, *extra], output

    return Tool("deface", command)


def deface_executable() -> str | None:
    """Path of the ``deface`` command, or None when it is not installed."""
    return shutil.which("deface") or shutil.which("deface", path=str(Path(sys.executable).parent))


def deface_ffmpeg_config() -> str:
    """deface's --ffmpeg-config: libx264 at FaceTrack's default preset and crf (imageio's own quality off)."""
    params = ["-preset", OUTPUT_SETTINGS.preset, "-crf", str(OUTPUT_SETTINGS.crf)]
    return json.dumps({"codec": "libx264", "pixelformat": "yuv420p", "quality": None, "output_params": params})


def run_tool(tool: Tool, clip: Clip, folder: Path) -> LeakCounts | str:
    """Anonymise ``clip`` with ``tool`` (timed) and score its output, or say why it failed."""
    (folder / tool.name).mkdir(exist_ok=True)
    command, output = tool.command(clip, folder / tool.name)
    output.unlink(missing_ok=True)  # a video left by an earlier run (--keep) must not pass for this one's
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if result.returncode != 0 or not output.is_file():
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        return f"{tool.name} failed on {clip.name} (exit {result.returncode}): {' | '.join(tail)}"
    try:
        counts = score_output(clip, output)
    except ValueError as error:
        return f"{tool.name} on {clip.name}: {error}"
    counts.seconds = seconds
    return counts


# --- report -----------------------------------------------------------------------------------


TOOL_COLUMNS = ("leaked", "leak %", "energy leak %", "background blurred %", "fps")


def format_cells(counts: LeakCounts | None) -> list[str]:
    """The TOOL_COLUMNS cells of one tool (dashes when it did not run)."""
    if counts is None:
        return ["-"] * len(TOOL_COLUMNS)
    return [str(counts.leaked), f"{100 * counts.leak_share:.1f}", f"{100 * counts.energy_leak_share:.1f}",
            f"{100 * counts.background_share:.2f}", f"{counts.fps:.1f}"]


def markdown_table(results: dict[str, dict[str, LeakCounts]], tools: Sequence[str]) -> str:
    """One row per clip (+ OVERALL): measured GT faces, then the TOOL_COLUMNS of each tool."""
    header = ["clip", "GT faces"] + [f"{tool} {column}" for tool in tools for column in TOOL_COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    clips = list(dict.fromkeys(clip for per_clip in results.values() for clip in per_clip if clip != "OVERALL"))
    for clip in [*clips, "OVERALL"]:
        faces = next(per_clip[clip].faces for per_clip in results.values() if clip in per_clip)
        cells = [clip, str(faces)] + [c for tool in tools for c in format_cells(results.get(tool, {}).get(clip))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def with_overall(per_clip: dict[str, LeakCounts]) -> dict[str, LeakCounts]:
    """``per_clip`` plus an OVERALL entry summing them."""
    total = LeakCounts()
    for counts in per_clip.values():
        total += counts
    return {**per_clip, "OVERALL": total}


def print_report(results: dict[str, dict[str, LeakCounts]], tools: Sequence[str], facetrack_args: str) -> None:
    """The markdown table, the skipped faces and the settings behind the numbers."""
    results = {tool: with_overall(per_clip) for tool, per_clip in results.items()}
    print(f"\n## Faces left recognisable after anonymising (FaceTrack: --anonymize blur {facetrack_args}".rstrip()
          + ")\n")
    print(markdown_table(results, [tool for tool in tools if tool in results]))
    overall = next(iter(results.values()))["OVERALL"]
    print(f"\nGT faces: visible (not ignored) ground-truth faces measured, summed over frames; skipped "
          f"{overall.small} too small (central region < {MIN_SIDE} px, or hidden by nearer faces) and "
          f"{overall.flat} flat (input energy < {MIN_ENERGY:g}).\n"
          f"leaked / leak %: the output keeps > {KEEP_RATIO:g} of the input's Laplacian detail in the central "
          f"{CENTRE:.0%} of the box (measured at {SCALE} px); energy leak %: the output's Laplacian energy there "
          f"is > {KEEP_RATIO:g} of the input's, whatever its origin (mask edges count).\n"
          f"background blurred %: squares of {BACKGROUND_BLOCK} px (at half resolution) away from every face (boxes "
          f"grown by {BACKGROUND_MARGIN:g} of their size) whose detail the output lost (kept <= {KEEP_RATIO:g}): "
          "masks where there is no face.\n"
          "fps: frames / wall-clock seconds of the command (start-up and model loading included).")


# --- command line -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Options: the clips (as tracking_quality's), FaceTrack's extra arguments, deface on/off, a folder to keep."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_clip_arguments(parser)
    parser.add_argument("--facetrack-args", default="",
                        help='extra arguments for start.py, e.g. --facetrack-args="--detect-every 3"')
    parser.add_argument("--deface-args", default="", help="extra arguments for deface (after the ffmpeg config)")
    parser.add_argument("--no-deface", action="store_true", help="report FaceTrack alone")
    parser.add_argument("--keep", type=Path, help="write clips and outputs here instead of a temporary folder")
    return parser.parse_args(argv)


def make_tools(args: argparse.Namespace) -> list[Tool]:
    """FaceTrack, and deface unless it is turned off or missing (with a message)."""
    tools = [facetrack_tool(shlex.split(args.facetrack_args))]
    executable = None if args.no_deface else deface_executable()
    if executable is not None:
        tools.append(deface_tool(executable, shlex.split(args.deface_args)))
    elif not args.no_deface:
        print("deface is not installed (pip install deface, or the 'bench' extra): reporting FaceTrack alone")
    return tools


def run(args: argparse.Namespace, folder: Path) -> None:
    """Write the clips into ``folder``, anonymise each with every tool, score and report."""
    tools = make_tools(args)
    results: dict[str, dict[str, LeakCounts]] = {tool.name: {} for tool in tools}
    for seed in range(args.clips):
        name, spec, sprites = e2e_clip(args, seed)
        clip = write_clip(folder, name, spec, sprites)
        for tool in tools:
            outcome = run_tool(tool, clip, folder)
            if isinstance(outcome, str):
                print(outcome)
                continue
            results[tool.name][name] = outcome
            print(f"{name} {tool.name}: {outcome.leaked} / {outcome.faces} leaked, {outcome.fps:.1f} fps", flush=True)
    results = {tool: per_clip for tool, per_clip in results.items() if per_clip}
    if results:
        print_report(results, [tool.name for tool in tools], args.facetrack_args)


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point."""
    args = parse_args(argv)
    if not DEV_FACES.is_dir():
        print(f"anonymize_leaks skipped: {DEV_FACES} is not available")
        return
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        run(args, args.keep)
        return
    with tempfile.TemporaryDirectory(prefix="anonymize_leaks_") as folder:
        run(args, Path(folder))


if __name__ == "__main__":
    main()
