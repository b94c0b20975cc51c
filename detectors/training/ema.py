"""Exponential moving average of a model's weights (evaluated and exported instead of the raw weights).

After each optimiser step the average moves towards the current weights:
``average = d * average + (1 - d) * current``. The decay ``d`` ramps up from 0 to ``decay``
(``d_t = decay * (1 - exp(-t / ramp))``, the warm-up popularised by YOLOv5's ModelEMA), so early
updates are not held back by the initial weights. Integer buffers (BatchNorm's batch counter)
are copied, not averaged.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn


class WeightAverage:
    """A frozen copy of ``model`` whose weights follow an exponential moving average."""

    def __init__(self, model: nn.Module, decay: float, ramp_updates: float = 2000.0) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay = decay
        self.ramp_updates = ramp_updates
        self.updates = 0

    def current_decay(self) -> float:
        """The decay used by the next update."""
        return self.decay * (1.0 - math.exp(-(self.updates + 1) / self.ramp_updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average one step towards ``model``'s current weights and buffers."""
        decay = self.current_decay()
        current = model.state_dict()
        for name, average in self.model.state_dict().items():
            value = current[name].detach()
            if average.dtype.is_floating_point:
                average.mul_(decay).add_(value.to(average.dtype), alpha=1.0 - decay)
            else:
                average.copy_(value)
        self.updates += 1

    def state_dict(self) -> dict:
        """What a checkpoint needs to resume the average."""
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        """Restore an average saved by :meth:`state_dict`."""
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])


def evaluated_weights(checkpoint: dict) -> dict:
    """The weights a checkpoint's dev AP was measured on: the average if it holds one (``last.pt``
    of a run with ``ema_decay``), else ``checkpoint["model"]`` (``best.pt`` always stores those)."""
    return checkpoint["ema"]["model"] if "ema" in checkpoint else checkpoint["model"]
