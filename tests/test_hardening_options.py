"""Hardening, round 2 (issue 24), the rest: options a run ignores are said so, a URL given as a path
points at ``--stream``, ``-o ''`` is a usage error; ``evaluate``/``export`` errors in one line; Ctrl-C
while starting; box styles and warnings the README promises."""
from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import FixedBox, run_cli, use_detector
from test_reliability_faults import make_clip

# ------------------------------------------------------------------------------ ignored options


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", frames=6)


@pytest.mark.parametrize(("args", "warning"), [
    (["--stream", "{clip}", "{clip}"], "file paths are ignored with --stream"),
    (["--stream", "{clip}", "--workers", "2"], "--workers is ignored with --stream (it applies to files)"),
    (["--stream", "{clip}", "--engine", "local"], "--engine is ignored with --stream (it applies to files)"),
    (["{clip}", "--ray-address", "auto"], "--ray-address is ignored without --engine ray"),
    (["{clip}", "--crop-every", "5"], "--crop-every is ignored without --crops all"),
    (["{clip}", "--crops", "best", "--crop-every", "5"], "--crop-every is ignored without --crops all"),
    (["{clip}", "--duration", "3"], "--duration is ignored for files (it applies to --webcam and --stream)"),
], ids=["paths", "workers", "engine", "ray-address", "crop-every", "crop-every-best", "duration"])
def test_an_ignored_option_is_one_warning_and_the_run_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              clip: Path, args: list[str], warning: str) -> None:
    use_detector(monkeypatch, FixedBox())
    arguments = [argument.format(clip=clip) for argument in args]
    run = run_cli(*arguments, "--every-frame", "--no-display", "--no-report", "-o", tmp_path / "out")
    assert run.code == 0, run.stderr
    assert run.line("warning:") == f"warning: {warning}"
    assert len(list((tmp_path / "out").glob("*/summary.json"))) == 1


def test_options_that_apply_give_no_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clip: Path) -> None:
    use_detector(monkeypatch, FixedBox())
    run = run_cli(clip, "--crops", "all", "--crop-every", "5", "--workers", "1", "--no-report", "-o", tmp_path / "out")
    assert run.code == 0 and "warning:" not in run.stderr, run.stderr
    run = run_cli("--stream", clip, "--duration", "30", "--no-display", "--no-report", "-o", tmp_path / "live")
    assert run.code == 0 and "warning:" not in run.stderr, run.stderr


def test_an_empty_output_path_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clip: Path) -> None:
    use_detector(monkeypatch, FixedBox())
    monkeypatch.chdir(tmp_path)
    run = run_cli(clip, "-o", "")
    assert run.code == 2
    assert "Invalid value for '--output' / '-o': an empty path names no folder" in " ".join(run.stderr.split())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["rtsp://camera.local:554/live", "http://example.com/clip.mp4"])
def test_a_url_given_as_a_path_points_at_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clip: Path,
                                                url: str) -> None:
    use_detector(monkeypatch, FixedBox())
    run = run_cli(url, clip, "--no-report", "-o", tmp_path / "out")
    assert run.code == 1  # the URL is a skipped item; the file next to it is processed
    assert run.line("skipped:") == f"skipped: {Path(url)}: a URL, not a file: read it with --stream URL"
    assert (tmp_path / "out" / "clip" / "summary.json").is_file()
