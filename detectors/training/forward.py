"""Running an inference wrapper in PyTorch the way the runtime runs its ONNX export."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from detectors.inference import ForwardFn


def torch_forward(wrapper: nn.Module) -> ForwardFn:
    """A :data:`ForwardFn` running an inference wrapper (``deltas``, ``scores``) in PyTorch."""
    wrapper = wrapper.eval()

    def forward(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            deltas, scores = wrapper(torch.from_numpy(batch))
        return deltas[0].numpy(), scores[0].numpy()

    return forward
