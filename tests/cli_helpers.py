"""Helpers shared by the CLI test modules: run ``apps.cli.main`` with its output captured."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from typing import Any, NamedTuple

import numpy as np

from apps.cli import main


class CliRun(NamedTuple):
    """Exit code and captured output of one ``main([...])`` call."""

    code: int
    stdout: str
    stderr: str

    def line(self, fragment: str) -> str:
        """The one stderr line containing ``fragment`` (fails unless there is exactly one)."""
        found = [line for line in self.stderr.splitlines() if fragment in line]
        assert len(found) == 1, f"expected one line with {fragment!r} in:\n{self.stderr}"
        return found[0]


@contextmanager
def _captured_wide_terminal() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Capture stdout/stderr (rich prints to the current streams) with a wide terminal (no folded cells)."""
    out, err = io.StringIO(), io.StringIO()
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "300"
    try:
        with redirect_stdout(out), redirect_stderr(err):
            yield out, err
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous


def _checked(code: int, out: io.StringIO, err: io.StringIO) -> CliRun:
    run = CliRun(code, out.getvalue(), err.getvalue())
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    return run


def run_cli(*args: Any) -> CliRun:
    """``main(args)`` on the calling (main) thread, so signal handlers are installed."""
    with _captured_wide_terminal() as (out, err):
        code = main([str(arg) for arg in args])
    return _checked(code, out, err)


def call_with_timeout(function: Callable[[], Any], timeout: float) -> tuple[Any, BaseException | None]:
    """Run ``function`` on a helper thread; fail the test if it hangs. Returns (result, exception)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = function()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error

    worker = threading.Thread(target=target, name="test-worker", daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), "hung"
    return outcome.get("result"), outcome.get("error")


def run_cli_with_timeout(*args: Any, timeout: float = 60.0) -> CliRun:
    """``main(args)`` on a helper thread: a hang fails the test after ``timeout`` seconds."""
    with _captured_wide_terminal() as (out, err):
        code, error = call_with_timeout(lambda: main([str(arg) for arg in args]), timeout)
    assert error is None, f"main raised {error!r}"
    return _checked(code, out, err)


def export_random_faceboxes(path: os.PathLike, seed: int = 0) -> None:
    """Export a seeded random FaceBoxes 'small' to ``path`` with the FaceTrack metadata."""
    import warnings

    import torch

    from detectors.faceboxes.model import build_faceboxes
    from detectors.runtime import format_levels
    from detectors.training.export import export_onnx

    torch.manual_seed(seed)
    model = build_faceboxes("small").eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch's legacy ONNX exporter
        export_onnx(model, path, {"facetrack_model": "faceboxes-small",
                                  "anchor_levels": format_levels(model.config.levels), "pad_multiple": "32"})




class FixedBox:
    """Stands in for a loaded detector: one face in the middle of every frame (optionally failing)."""

    name = "fixed-box"
    providers = ("CPUExecutionProvider",)
    score_threshold = 0.5
    recommended_low_threshold = 0.25

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.calls = 0
        self.fail_on_call = fail_on_call

    def detect(self, frame: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("detector exploded")
        assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8  # sources deliver BGR
        height, width = frame.shape[:2]
        return np.array([[0.3 * width, 0.25 * height, 0.6 * width, 0.75 * height, 0.95]], np.float32)


def use_detector(monkeypatch: Any, loaded: Any) -> None:
    """Make ``load_detector`` return ``loaded`` (e.g. a :class:`FixedBox`) for the rest of the test."""
    import detectors

    monkeypatch.setattr(detectors, "load_detector", lambda *args, **kwargs: loaded)
