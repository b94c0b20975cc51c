"""What ``export`` checks before it exports: a file that is not a training checkpoint is one line."""

from __future__ import annotations

from pathlib import Path

NOT_A_CHECKPOINT = "not a FaceTrack training checkpoint (train writes RUN_DIR/best.pt and last.pt)"


def checkpoint_problem(path: Path) -> str | None:
    """Why ``path`` is not a checkpoint ``train`` (or ``onnx_weights``, ``average``) writes, or None.

    A checkpoint is a ``torch.save`` dictionary with the weights under ``model`` and the training
    configuration under ``config``; it is loaded as ``export`` loads it (tensors and plain values only).
    """
    import torch

    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception:  # noqa: BLE001 - whatever a foreign file makes the unpickler raise, it is not one
        return NOT_A_CHECKPOINT
    if not isinstance(state, dict) or not all(isinstance(state.get(key), dict) for key in ("model", "config")):
        return NOT_A_CHECKPOINT
    return None
