"""Opening the small companion networks (verifier, follower) shipped next to the detectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class SmallModelLoadError(RuntimeError):
    """A companion model is missing, unreadable or of another kind."""


def open_small_model(path: str | Path, kind_key: str, what: str, threads: int | None, way_out: str,
                     error: type[SmallModelLoadError]) -> tuple[Any, dict[str, str]]:
    """A CPU ONNX Runtime session on ``path`` and the model's metadata.

    ``kind_key`` must be in the metadata (the kind of model); ``what`` names the model and ``way_out``
    the option that runs without it in the messages.

    Raises:
        error: The file is missing, not ONNX, or not a ``what``.
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise error(f"{what} model not found: {path} (reinstall FaceTrack, or run with {way_out})")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as failure:  # onnxruntime raises several unrelated exception types
        raise error(f"{path} is not a valid ONNX model ({failure}): reinstall FaceTrack, or run with {way_out}") from failure
    metadata = session.get_modelmeta().custom_metadata_map
    if metadata.get(kind_key) is None:
        raise error(f"{path} is an ONNX model but not a FaceTrack {what}")
    return session, metadata
