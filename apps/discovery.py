"""Finding the videos to process and giving each a unique output folder name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from apps.ignored_options import looks_like_url

#: The files a folder run picks up (case-insensitive): containers, animated GIFs and raw streams FFmpeg reads.
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".mts", ".3gp",
     ".m2ts", ".mxf", ".vob", ".dv", ".ogv", ".y4m", ".gif", ".264", ".h264", ".265", ".h265", ".hevc"}
)
#: The videos FaceTrack writes into each output folder (final and temporary name).
OUTPUT_VIDEO_NAMES = frozenset({"annotated.mp4", "annotated.partial.mp4"})


@dataclass(frozen=True)
class VideoInput:
    """A video to process and its output folder, relative to the output root."""

    path: Path
    output_name: Path


@dataclass(frozen=True)
class InputProblem:
    """An input argument that yields nothing to process."""

    path: Path
    reason: str


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _is_output(path: Path, folder: Path, output_root: Path) -> bool:
    """True for a file FaceTrack wrote, so a second run never takes its own outputs as inputs.

    An output root inside the searched folder is skipped whole. When the output root is the searched
    folder itself (``start.py videos -o videos``) or one of its parents, inputs and outputs share the
    tree, so only the annotated videos are skipped.
    """
    if not _is_inside(path, output_root):
        return False
    return path.name in OUTPUT_VIDEO_NAMES if _is_inside(folder, output_root) else True


def _videos_in(folder: Path, recursive: bool, output_root: Path) -> list[Path]:
    pattern = "**/*" if recursive else "*"
    found = []
    for path in folder.glob(pattern):
        if path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file() and not _is_output(path, folder, output_root):
            found.append(path)
    return sorted(found)


def _unique(name: Path, extension: str, used: set[Path]) -> Path:
    candidate = name
    if candidate in used:
        candidate = name.with_name(f"{name.name}_{extension.lstrip('.').lower()}")
    counter = 2
    base = candidate
    while candidate in used:
        candidate = base.with_name(f"{base.name}-{counter}")
        counter += 1
    used.add(candidate)
    return candidate


def discover_inputs(
    paths: list[Path], output_root: Path, recursive: bool = False
) -> tuple[list[VideoInput], list[InputProblem]]:
    """Expand files and folders into videos to process.

    Folders contribute the files with a video extension (subfolders too with ``recursive``),
    never anything inside ``output_root``. A file named explicitly is always tried, whatever
    its extension; a URL given as a path (``rtsp://...``) is a problem that points at ``--stream``.
    Output names mirror the path below the folder given (``sub/clip`` for
    ``folder/sub/clip.mp4``), so equal names in different subfolders never collide; remaining
    collisions get the extension or a counter appended.

    Returns:
        The inputs in order, and the arguments that yielded nothing (with the reason).
    """
    inputs: list[VideoInput] = []
    problems: list[InputProblem] = []
    used: set[Path] = set()
    for argument in paths:
        try:
            if not argument.exists() and looks_like_url(argument):
                problems.append(InputProblem(argument, "a URL, not a file: read it with --stream URL"))
                continue
            if not argument.exists():
                problems.append(InputProblem(argument, "no such file or folder"))
                continue
            if argument.is_file():
                inputs.append(VideoInput(argument, _unique(Path(argument.stem), argument.suffix, used)))
                continue
            if not argument.is_dir():
                problems.append(InputProblem(argument, "not a regular file or folder"))
                continue
            videos = _videos_in(argument, recursive, output_root)
        except OSError as error:  # e.g. a folder on the way that we may not enter
            problems.append(InputProblem(argument, f"cannot access ({error.strerror or error})"))
            continue
        if not videos:
            hint = "" if recursive else " (use --recursive to search subfolders)"
            problems.append(InputProblem(argument, f"no videos in this folder{hint}"))
        for video in videos:
            relative = video.relative_to(argument).with_suffix("")
            inputs.append(VideoInput(video, _unique(relative, video.suffix, used)))
    return inputs, problems
