"""Shared fixtures: randomly initialised FaceBoxes models exported to ONNX once per session; batches
run in the test's own process unless a test passes ``--workers``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest


@pytest.fixture(autouse=True, scope="session")
def batches_in_one_process() -> Iterator[None]:
    """Many tests replace the detector (or OpenCV) in this process, which worker processes would not
    see: without ``--workers``, a batch runs in one process. tests/test_batch_engines.py covers the
    real default and the worker processes."""
    import apps.parallel

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(apps.parallel, "default_workers", lambda videos: 1)
        yield


class ExportedModel(NamedTuple):
    model: Any  # the torch FaceBoxes (eval mode); do not modify it in tests
    path: Path  # the exported ONNX file with FaceTrack metadata


@pytest.fixture(scope="session")
def exported_faceboxes(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], ExportedModel]:
    """``exported_faceboxes(variant)``: a seeded random FaceBoxes ``variant`` and its ONNX export (cached)."""
    cache: dict[str, ExportedModel] = {}

    def get(variant: str = "small") -> ExportedModel:
        if variant not in cache:
            import torch

            from detectors.faceboxes.config import PAD_MULTIPLE
            from detectors.faceboxes.model import build_faceboxes
            from detectors.runtime import format_levels
            from detectors.training.export import export_onnx

            torch.set_num_threads(1)
            torch.manual_seed(1234)
            model = build_faceboxes(variant).eval()
            path = tmp_path_factory.mktemp(f"onnx-{variant}") / f"faceboxes-{variant}.onnx"
            metadata = {
                "facetrack_model": f"faceboxes-{variant}",
                "anchor_levels": format_levels(model.config.levels),
                "pad_multiple": str(PAD_MULTIPLE),
            }
            export_onnx(model, path, metadata)
            cache[variant] = ExportedModel(model, path)
        return cache[variant]

    return get


@pytest.fixture(scope="session")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded (0) random FaceBoxes 'small' exported to ONNX, for CLI and pipeline tests."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from cli_helpers import export_random_faceboxes

    path = tmp_path_factory.mktemp("model") / "faceboxes-random.onnx"
    export_random_faceboxes(path)
    return path
