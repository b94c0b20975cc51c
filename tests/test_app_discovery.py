"""Finding the videos to process and naming their output folders (apps.discovery)."""
from __future__ import annotations

from pathlib import Path

import pytest

from apps.discovery import VIDEO_EXTENSIONS, discover_inputs


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00" * 32)
    return path


def names(inputs) -> list[tuple[str, str]]:
    """(path relative to the test folder, output name) pairs."""
    return [(video.path.name, video.output_name.as_posix()) for video in inputs]


def test_folder_scan_takes_only_video_extensions(tmp_path: Path) -> None:
    media = tmp_path / "media"
    for name in ["a.mp4", "b.AVI", "c.mkv", "d.mov", "e.webm", "notes.txt", "cover.jpg", "f.mp4.bak", "g", ".hidden.txt"]:
        touch(media / name)
    (media / "folder.mp4").mkdir()  # a folder with a video extension is not a video
    inputs, problems = discover_inputs([media], tmp_path / "out")
    assert problems == []
    assert names(inputs) == [("a.mp4", "a"), ("b.AVI", "b"), ("c.mkv", "c"), ("d.mov", "d"), ("e.webm", "e")]
    assert all(video.path.parent == media for video in inputs)
    assert {".mp4", ".avi", ".mkv", ".mov", ".webm"} <= VIDEO_EXTENSIONS


def test_subfolders_only_with_recursive(tmp_path: Path) -> None:
    media = tmp_path / "media"
    touch(media / "top.mp4")
    touch(media / "sub" / "inner.mp4")
    touch(media / "sub" / "deeper" / "deep.avi")
    flat, problems = discover_inputs([media], tmp_path / "out", recursive=False)
    assert names(flat) == [("top.mp4", "top")] and problems == []
    deep, problems = discover_inputs([media], tmp_path / "out", recursive=True)
    assert problems == []
    assert sorted(video.output_name.as_posix() for video in deep) == ["sub/deeper/deep", "sub/inner", "top"]


def test_output_folder_inside_the_input_folder_is_skipped(tmp_path: Path, monkeypatch) -> None:
    touch(tmp_path / "clip.mp4")
    touch(tmp_path / "facepics" / "clip" / "annotated.mp4")  # results of an earlier run
    touch(tmp_path / "facepics" / "other" / "annotated.mp4")
    monkeypatch.chdir(tmp_path)
    # relative output root, absolute input: still recognised as the same folder
    inputs, problems = discover_inputs([tmp_path], Path("facepics"), recursive=True)
    assert problems == []
    assert names(inputs) == [("clip.mp4", "clip")]
    inputs, _ = discover_inputs([Path(".")], (tmp_path / "facepics"), recursive=True)
    assert names(inputs) == [("clip.mp4", "clip")]


def test_same_stem_in_two_subfolders_gets_distinct_output_names(tmp_path: Path) -> None:
    touch(tmp_path / "media" / "day1" / "clip.mp4")
    touch(tmp_path / "media" / "day2" / "clip.mp4")
    inputs, problems = discover_inputs([tmp_path / "media"], tmp_path / "out", recursive=True)
    assert problems == []
    outputs = [video.output_name.as_posix() for video in inputs]
    assert outputs == ["day1/clip", "day2/clip"]


def test_same_stem_explicit_files_from_two_folders_get_distinct_output_names(tmp_path: Path) -> None:
    first = touch(tmp_path / "a" / "clip.mp4")
    second = touch(tmp_path / "b" / "clip.mp4")
    third = touch(tmp_path / "c" / "clip.mp4")
    inputs, problems = discover_inputs([first, second, third], tmp_path / "out")
    outputs = [video.output_name for video in inputs]
    assert problems == [] and len(set(outputs)) == 3
    assert [video.path for video in inputs] == [first, second, third]


def test_same_stem_with_two_extensions_in_one_folder_gets_distinct_output_names(tmp_path: Path) -> None:
    touch(tmp_path / "media" / "clip.mp4")
    touch(tmp_path / "media" / "clip.avi")
    touch(tmp_path / "media" / "clip.MKV")
    inputs, problems = discover_inputs([tmp_path / "media"], tmp_path / "out")
    outputs = [video.output_name.as_posix() for video in inputs]
    assert problems == [] and len(inputs) == 3
    assert len(set(outputs)) == 3 and all(name.startswith("clip") for name in outputs)
    assert "clip" in outputs


def test_folder_named_twice_does_not_give_colliding_output_names(tmp_path: Path) -> None:
    touch(tmp_path / "media" / "clip.mp4")
    inputs, _ = discover_inputs([tmp_path / "media", tmp_path / "media"], tmp_path / "out")
    assert len({video.output_name for video in inputs}) == len(inputs)


def test_nonexistent_path_and_empty_folder_are_problems_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    touch(tmp_path / "only-sub" / "sub" / "clip.mp4")
    touch(tmp_path / "good.mp4")
    missing = tmp_path / "missing.mp4"
    inputs, problems = discover_inputs(
        [missing, tmp_path / "empty", tmp_path / "only-sub", tmp_path / "good.mp4"], tmp_path / "out"
    )
    assert names(inputs) == [("good.mp4", "good")]
    reasons = {problem.path.name: problem.reason for problem in problems}
    assert reasons["missing.mp4"] == "no such file or folder"
    assert "no videos" in reasons["empty"]
    assert "--recursive" in reasons["only-sub"]  # hints at the subfolder option
    _, problems = discover_inputs([tmp_path / "empty"], tmp_path / "out", recursive=True)
    assert len(problems) == 1 and "no videos" in problems[0].reason and "--recursive" not in problems[0].reason


def test_explicit_file_is_tried_whatever_its_extension(tmp_path: Path) -> None:
    recording = touch(tmp_path / "recording.dat")
    inputs, problems = discover_inputs([recording], tmp_path / "out")
    assert problems == [] and names(inputs) == [("recording.dat", "recording")]


@pytest.mark.parametrize("name", ["my holiday clip.mp4", "vidéo_été_ü.mp4", "видео.mp4", "-dash.mp4", "--two.mp4",
                                  "a.b.c.mp4", "clip (1).mp4"])
def test_unusual_file_names(tmp_path: Path, name: str) -> None:
    video = touch(tmp_path / "media" / name)
    stem = name[: -len(".mp4")]
    for arguments in ([tmp_path / "media"], [video]):
        inputs, problems = discover_inputs(arguments, tmp_path / "out")
        assert problems == []
        assert names(inputs) == [(name, stem)]
        assert (tmp_path / "out" / inputs[0].output_name).name == stem  # stays below the output root
